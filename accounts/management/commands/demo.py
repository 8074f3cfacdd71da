"""Load the demo: role groups, one user per role and a few thousand invented companies."""

import argparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import roles
from accounts.models import Account, ResearchNote, UserProfile
from accounts.sample_data import write_companies_csv

DEMO_PASSWORD = "demo-pass-2026"

# High and Medium accounts that the demo AE owns.
AE_ACCOUNTS = 30

# Username, role and display name of each demo user.
DEMO_USERS = (
    ("sdr", roles.SDR, "Sam", "Reyes"),
    ("sdr2", roles.SDR, "Dana", "Okafor"),
    ("ae", roles.AE, "Alex", "Kim"),
    ("manager", roles.SALES_MANAGER, "Morgan", "Lee"),
    ("salesops", roles.SALES_OPS, "Priya", "Natarajan"),
    ("marketing", roles.MARKETING, "Jordan", "Blake"),
    ("leadership", roles.SALES_LEADERSHIP, "Chris", "Novak"),
)


def company_count(text: str) -> int:
    """Parse the ``--companies`` option: a whole number of 0 or more."""
    # NOTE: a count so small that fewer than 10 imported accounts have an owner, industry,
    # country and size still passes here, and planting the audit cases then raises ValueError.
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid count {text!r}: enter a whole number such as 3000"
        ) from None
    if count < 0:
        raise argparse.ArgumentTypeError(
            f"invalid count {count}: enter 0 or more, where 0 creates the demo users only"
        )
    return count


class Command(BaseCommand):
    help = (
        f"Create one demo user per sales role (password {DEMO_PASSWORD}) and import generated "
        "sample companies. Running it again keeps existing data and imports nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--companies",
            type=company_count,
            default=3000,
            help=(
                "Number of sample companies to generate (default 3000). 0 creates the demo "
                "users only, with no accounts and no audit cases."
            ),
        )
        parser.add_argument("--seed", type=int, default=2026, help="Generator seed.")

    def handle(self, *args, **options) -> None:
        users = self._create_users()
        if options["companies"] == 0:
            self.stdout.write(
                "No sample companies requested (--companies 0): created the demo users only, "
                "without accounts or audit cases."
            )
            return
        if Account.objects.filter(source="demo").exists():
            self.stdout.write("Demo companies are already loaded; nothing imported.")
            return

        path = settings.VAR_DIR / "demo" / f"companies-{options['seed']}.csv"
        write_companies_csv(path, options["companies"], seed=options["seed"])
        self.stdout.write(f"Generated {options['companies']} sample companies in {path}")

        from accounts.services import accounts_import

        run = accounts_import(path=path, source="demo", created_by=users["salesops"])
        self.stdout.write(
            f"Imported: {run.created} created, {run.merged} merged, "
            f"{run.rejected} rejected, {run.flagged} flagged for review"
        )
        self._assign_owners(users)
        self._add_signals_and_notes(users)
        self._plant_audit_cases()

    def _plant_audit_cases(self) -> None:
        """Plant one case of every audit rule in last month and run that month's audit."""
        from audits.demo import plant_demo_violations
        from audits.periods import previous_month
        from audits.services import monthly_audit_run

        month = previous_month()
        planted = plant_demo_violations(month=month)
        audit = monthly_audit_run(month=month)
        found = audit.violations.count()
        self.stdout.write(f"Audit of {month:%Y-%m}: planted {planted}, found {found} violations")

    def _create_users(self) -> dict:
        user_model = get_user_model()
        users = {}
        for username, role, first_name, last_name in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": f"{username}@demo.icp-portal.invalid",
                    "is_staff": role == roles.SALES_OPS,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role))
            users[username] = user
        for username in ("sdr", "sdr2", "ae"):
            UserProfile.objects.update_or_create(
                user=users[username], defaults={"manager": users["manager"]}
            )
        self.stdout.write(f"Demo users: {', '.join(users)} (password {DEMO_PASSWORD})")
        return users

    @transaction.atomic
    def _add_signals_and_notes(self, users: dict) -> None:
        """Mark some High and Medium accounts as hiring or funded and give them a note."""
        candidates = list(
            Account.objects.filter(source="demo", tier__in=["high", "medium"])
            .order_by("id")
            .values_list("id", "name")[:120]
        )
        notes = []
        for position, (account_id, name) in enumerate(candidates):
            if position % 3 == 0:
                signal, kind = "recent_funding", ResearchNote.Kind.FUNDING
                text = f"{name} announced a Series B round to expand its sales team."
            elif position % 3 == 1:
                signal, kind = "hiring", ResearchNote.Kind.HIRE
                text = f"{name} is hiring a VP of Revenue Operations."
            else:
                signal, kind = "expansion", ResearchNote.Kind.EXPANSION
                text = f"{name} opened an office in a new region."
            Account.objects.filter(pk=account_id).update(buying_signals=[signal])
            notes.append(
                ResearchNote(account_id=account_id, kind=kind, text=text, author=users["sdr"])
            )
        ResearchNote.objects.bulk_create(notes)
        from segmentation.services import accounts_segment

        accounts_segment(account_ids=[account_id for account_id, _ in candidates])

    @transaction.atomic
    def _assign_owners(self, users: dict) -> None:
        """Give the SDRs alternate accounts, leave every fifth unassigned, give the AE some."""
        sdrs = [users["sdr"], users["sdr2"]]
        account_ids = list(
            Account.objects.filter(source="demo").order_by("id").values_list("id", flat=True)
        )
        for index, sdr in enumerate(sdrs):
            owned = [
                account_id
                for position, account_id in enumerate(account_ids)
                if position % 5 != 4 and position % 2 == index
            ]
            Account.objects.filter(id__in=owned).update(owner=sdr)
        # The AE validates fit in discovery, so give them High and Medium accounts. They come
        # from the end of the id range, away from the accounts the audit cases are planted in.
        ae_ids = list(
            Account.objects.filter(source="demo", tier__in=["high", "medium"])
            .order_by("-id")
            .values_list("id", flat=True)[:AE_ACCOUNTS]
        )
        Account.objects.filter(id__in=ae_ids).update(owner=users["ae"])
