"""Import a folder of Remote In Tech company profiles as the public source remoteintech."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audits.history import Channel, change_channel
from enrichment.profiles import profiles_import


class Command(BaseCommand):
    help = (
        "Read Remote In Tech profiles (Markdown files with YAML front matter), match them "
        "to accounts by profile slug or website domain, create accounts for unknown "
        "companies, record size and technologies as observations with source "
        "remoteintech, and verify and score the accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", metavar="PATH", help="Folder that contains the profile .md files."
        )

    def handle(self, *args, **options) -> None:
        folder = Path(options["path"])
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder: pass the folder of the .md files.")
        if not any(folder.glob("*.md")):
            raise CommandError(f"{folder} contains no .md files: pass the profiles folder.")
        with change_channel(Channel.IMPORT):
            summary = profiles_import(folder)
        verification = summary.verification
        self.stdout.write(
            f"{folder}: read {summary.read} profiles, created {summary.created} accounts, "
            f"matched {summary.matched}, wrote {summary.observations} observations."
        )
        self.stdout.write(
            f"Verification: {len(verification.verified_ids)} accounts verified, "
            f"{len(verification.conflicting_ids)} conflicting, "
            f"{len(verification.changed_ids)} with changed values."
        )
        for error in summary.errors:
            self.stderr.write(self.style.WARNING(error))
        if summary.errors:
            self.stdout.write(f"{len(summary.errors)} files could not be read; see above.")
