"""Look accounts up in an enrichment provider in this process and print progress and a summary."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.importing.errors import WriterAlreadyRunning
from accounts.importing.serial import running_writer_check
from audits.history import Channel, change_channel
from enrichment.models import EnrichmentRun
from enrichment.providers import PROVIDER_CLASSES, ProviderError
from enrichment.services import (
    RUN_STOPPING_ERRORS,
    accounts_enrich,
    enrichment_run_create,
    enrichment_run_pending_ids,
    enrichment_run_resume,
    enrichment_run_writer_lock,
    provider_check_configured,
)

DEFAULT_CHUNK_SIZE = 25
DEFAULT_ATTEMPTS = 3
# Maximum wait after a rate limit before the command continues with the next chunk.
MAX_WAIT_SECONDS = 300.0
# Wait before another pass over accounts whose lookup failed with a transient error.
PASS_WAIT_SECONDS = 10.0


class Command(BaseCommand):
    help = (
        "Look accounts up in an enrichment provider by domain, record what it reports as "
        "observations, apply the current values and verify them. Runs in this process; "
        "an interrupted run continues with --resume RUN_ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--provider",
            choices=sorted(PROVIDER_CLASSES),
            help=(
                "Provider to ask (default: the only entry of settings.ENRICHMENT_PROVIDERS). "
                "Every provider but website needs an entry there."
            ),
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--account", metavar="DOMAIN", help="Enrich the account with DOMAIN.")
        scope.add_argument(
            "--all", action="store_true", help="Enrich every account that has a domain."
        )
        scope.add_argument(
            "--resume",
            type=int,
            metavar="RUN_ID",
            help="Look up the pending and failed accounts of an earlier run again.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            metavar="N",
            help=f"Accounts looked up between progress lines (default {DEFAULT_CHUNK_SIZE}).",
        )
        parser.add_argument(
            "--attempts",
            type=int,
            default=DEFAULT_ATTEMPTS,
            metavar="N",
            help=(
                "Passes over accounts whose lookup timed out or got 5xx or 429 before they "
                f"count as failed (default {DEFAULT_ATTEMPTS})."
            ),
        )

    def handle(self, *args, **options) -> None:
        if options["chunk_size"] < 1:
            raise CommandError(
                f"--chunk-size {options['chunk_size']} is invalid: use a number of 1 or more."
            )
        if options["attempts"] < 1:
            raise CommandError(
                f"--attempts {options['attempts']} is invalid: use a number of 1 or more."
            )
        try:
            running_writer_check("this enrichment run")
        except WriterAlreadyRunning as error:
            raise CommandError(str(error)) from error
        with change_channel(Channel.TASK):
            run = self._run(options)
            self.stdout.write(f"Enrichment run {run.pk} with {run.provider}: {run.total} accounts.")
            self._process(run, options["chunk_size"], options["attempts"])
        run.refresh_from_db()
        self._print_summary(run)
        if run.status == EnrichmentRun.Status.FAILED:
            raise CommandError(f"Enrichment run {run.pk} stopped: {run.error}")

    def _run(self, options: dict) -> EnrichmentRun:
        if options["resume"] is not None:
            run = EnrichmentRun.objects.filter(pk=options["resume"]).first()
            if run is None:
                raise CommandError(
                    f"Enrichment run {options['resume']} was not found: list the runs in the "
                    "admin under Enrichment > Enrichment runs."
                )
            self._check_provider(run.provider)
            # The operator knows the run's process is gone, so a run that has not stalled
            # yet is resumed too. Its old process, if alive, stops writing.
            return enrichment_run_resume(run, force=True)
        if not options["account"] and not options["all"]:
            raise CommandError("Pass --account DOMAIN, --all or --resume RUN_ID.")
        provider = options["provider"] or self._default_provider()
        self._check_provider(provider)
        try:
            return enrichment_run_create(
                provider=provider, domain=options["account"] or "", all_accounts=options["all"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

    def _default_provider(self) -> str:
        configured = sorted(getattr(settings, "ENRICHMENT_PROVIDERS", None) or {})
        if len(configured) == 1:
            return configured[0]
        if not configured:
            raise CommandError(
                "No enrichment provider is configured: add an entry such as "
                '"apollo" to settings.ENRICHMENT_PROVIDERS (see docs/enrichment.md), or '
                "pass --provider website."
            )
        raise CommandError(
            f"Several providers are configured ({', '.join(configured)}): choose one with "
            "--provider."
        )

    def _check_provider(self, provider: str) -> None:
        try:
            provider_check_configured(provider)
        except ProviderError as error:
            raise CommandError(error.detail) from error

    def _process(self, run: EnrichmentRun, chunk_size: int, attempts: int) -> None:
        generation = run.generation
        for attempt in range(1, attempts + 1):
            pending = enrichment_run_pending_ids(run)
            if not pending:
                return
            final_attempt = attempt == attempts
            if attempt > 1:
                self.stdout.write(
                    f"Pass {attempt} of {attempts} in {PASS_WAIT_SECONDS:.0f} s: "
                    f"{len(pending)} accounts left."
                )
                time.sleep(PASS_WAIT_SECONDS)
            for start in range(0, len(pending), chunk_size):
                chunk = pending[start : start + chunk_size]
                if not self._process_chunk(run, chunk, final_attempt, generation):
                    return

    def _process_chunk(
        self, run: EnrichmentRun, chunk: list[int], final_attempt: bool, generation: int
    ) -> bool:
        """Look one chunk up and return False when an error stopped the run or it was resumed.

        After a rate limit the command waits and then looks up the accounts that the
        limit kept from being requested. Every call requests at least one account, so the
        loop ends. The rate-limited account itself waits for the next pass.
        """
        while chunk:
            try:
                # A job that started after the check above runs first.
                with enrichment_run_writer_lock(run, generation):
                    batch = accounts_enrich(
                        provider=run.provider,
                        account_ids=chunk,
                        run=run,
                        final_attempt=final_attempt,
                        generation=generation,
                    )
            except RUN_STOPPING_ERRORS:
                return False
            if batch.superseded:
                self.stderr.write(
                    f"Enrichment run {run.pk} was resumed elsewhere, so this command stops."
                )
                return False
            run.refresh_from_db()
            self.stdout.write(
                f"  {run.processed}/{run.total} processed: {run.found} found, "
                f"{run.changed} changed, {run.errors} errors"
            )
            chunk = batch.not_reached_ids
            if batch.retry_after is not None and (chunk or not final_attempt):
                wait = min(batch.retry_after, MAX_WAIT_SECONDS)
                self.stdout.write(f"  {run.provider} is rate limited: waiting {wait:.0f} s.")
                time.sleep(wait)
            if chunk:
                self.stdout.write(f"  Looking up the {len(chunk)} accounts not reached.")
        return True

    def _print_summary(self, run: EnrichmentRun) -> None:
        self.stdout.write(
            f"Run {run.pk} {run.get_status_display().lower()}: {run.processed} of {run.total} "
            f"processed, {run.looked_up} looked up, {run.found} found, {run.changed} changed, "
            f"{run.verified} verified, {run.conflicts} conflicting, {run.errors} errors, "
            f"{run.not_reached} not looked up."
        )
        for detail in run.error_details[:20]:
            self.stdout.write(
                f"  {detail['domain'] or 'account ' + str(detail['account_id'])}: {detail['error']}"
            )
        if run.errors or run.not_reached:
            self.stdout.write(
                f"Look the failed accounts up again with: manage.py enrich --resume {run.pk}"
            )
