"""Recompute accounts' current values and verification from their observations."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Exists, OuterRef

from accounts.models import Account
from enrichment.models import Observation
from enrichment.services import VERIFY_CHUNK_SIZE, accounts_resegment, accounts_verify


class Command(BaseCommand):
    help = (
        "Recompute the current values and the verification of accounts from their "
        "observations, in batches, and score the accounts whose values or conflicts "
        "changed again. By default only accounts that have observations but no stored "
        "verification are recomputed, such as those that migration enrichment 0006 reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Recompute every account that has observations.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=VERIFY_CHUNK_SIZE,
            help=f"Accounts verified and scored per batch (default: {VERIFY_CHUNK_SIZE}).",
        )

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size {batch_size} is invalid: use a number of 1 or more.")
        accounts = Account.objects.filter(
            Exists(Observation.objects.filter(account_id=OuterRef("pk")))
        )
        if not options["all"]:
            accounts = accounts.filter(field_status={})
        account_ids = list(accounts.order_by("pk").values_list("pk", flat=True))
        self.stdout.write(f"{len(account_ids)} accounts to verify.")

        verified = conflicting = changed = 0
        for start in range(0, len(account_ids), batch_size):
            batch = account_ids[start : start + batch_size]
            result = accounts_verify(account_ids=batch)
            accounts_resegment(result.resegment_ids)
            verified += len(result.verified_ids)
            conflicting += len(result.conflicting_ids)
            changed += len(result.changed_ids)
            self.stdout.write(f"{start + len(batch)}/{len(account_ids)} accounts verified.")
        self.stdout.write(
            f"Done: {len(account_ids)} accounts, {changed} with changed values, "
            f"{verified} verified, {conflicting} conflicting."
        )
