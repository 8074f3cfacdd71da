"""Run the monthly CRM audit of one month from the command line."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audits.models import ViolationKind
from audits.periods import parse_audit_month, previous_month
from audits.services import monthly_audit_run


class Command(BaseCommand):
    help = (
        "Audit the accounts active in a month and record the violations. Months follow the "
        "team's time zone (TIME_ZONE). Running it again for a month updates that month's "
        "open findings and keeps acknowledged and resolved ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month",
            help=(
                "Month to audit as YYYY-MM, a month that has ended (default: the previous "
                "month in the team's zone)."
            ),
        )

    def handle(self, *args, **options) -> None:
        try:
            month = parse_audit_month(options["month"]) if options["month"] else previous_month()
        except ValueError as error:
            raise CommandError(str(error)) from error
        run = monthly_audit_run(month=month)
        kinds = run.counts.get("kinds", {})
        self.stdout.write(
            f"Audit of {month:%Y-%m}: {run.accounts_checked} accounts checked, "
            f"{run.violations_found} violations ({run.violations_created} new, "
            f"{run.violations_removed} no longer apply)."
        )
        for kind, label in ViolationKind.choices:
            self.stdout.write(f"  {label}: {kinds.get(kind, 0)}")
        deleted = run.counts.get("deleted_accounts", 0)
        if deleted:
            self.stdout.write(f"Active accounts deleted since, so not checked: {deleted}")
        unknown = run.counts.get("unknown_accounts", 0)
        if unknown:
            self.stdout.write(
                "Active accounts without recorded values at the month's end, so not checked "
                f"and their open findings kept: {unknown}"
            )
        if run.counts.get("framework_version") is None:
            self.stderr.write(
                "No framework version is approved, so misclassification was not checked: "
                "approve one in the admin."
            )
