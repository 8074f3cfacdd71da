"""Import accounts from CSV or JSON exports in this process."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.importing.errors import ImportFileError
from accounts.importing.fingerprints import (
    OVERRIDE_COMMAND,
    SameFileImported,
    same_file_conflict,
)
from accounts.importing.layouts import LAYOUT_NAMES, load_mapping_file
from accounts.importing.sources import source_name_normalize
from accounts.models import ImportCancelRequest, ImportRun
from accounts.normalizers.errors import visible_controls
from accounts.selectors import user_label
from accounts.services import accounts_import

# Exit status when a file could not be imported or its import was cancelled.
EXIT_FAILED = 1
# Exit status when every file was read, but in one of them every row was rejected, so no
# row of that file was imported. A file with some rows imported and some rejected exits 0.
EXIT_ALL_ROWS_REJECTED = 3


class Command(BaseCommand):
    help = (
        "Import companies from CSV files or JSON arrays. The encoding, delimiter and column "
        "layout are detected; see docs/importing.md. Exit status: 0 when every file was "
        f"imported (some rows may be rejected), {EXIT_FAILED} when a file could not be "
        f"imported or was cancelled, {EXIT_ALL_ROWS_REJECTED} when a file had every row "
        "rejected, so none was imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="CSV or JSON file.")
        parser.add_argument(
            "--source",
            help=(
                "Source name stored on accounts and observations: at most 50 lower-case "
                "letters, digits, dots, dashes or underscores (upper case is lowered). "
                "manual and unrecorded are reserved. "
                f"Defaults to the detected layout: {', '.join(LAYOUT_NAMES)}."
            ),
        )
        parser.add_argument(
            "--mapping",
            metavar="FILE",
            help=(
                'JSON file mapping column names to fields, such as {"Firma": "name"}, with '
                'optional "options": revenue_multiplier, currency, decimal_comma.'
            ),
        )
        parser.add_argument(
            "--allow-same-file",
            action="store_true",
            help=(
                "Import a file whose content an earlier import read under another source "
                "name. Its values then count as a second, independent source, so values "
                "that both imports contain can become verified."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Parse, match and count every row without changing any account.",
        )

    def handle(self, *args, **options) -> None:
        source = options["source"]
        if source is not None:
            if not source.strip():
                raise CommandError(
                    "--source is empty: give a name such as hubspot, or leave the option out "
                    "to use the detected layout."
                )
            try:
                source = source_name_normalize(source)
            except ImportFileError as error:
                raise CommandError(f"--source: {error}") from error
        mapping = None
        if options["mapping"]:
            try:
                mapping = load_mapping_file(Path(options["mapping"]))
            except ImportFileError as error:
                raise CommandError(str(error)) from error

        failed = []
        all_rejected = []
        for path in options["paths"]:
            path_error = _not_readable_file(Path(path))
            if path_error:
                self.stderr.write(self.style.ERROR(path_error))
                failed.append(path)
                continue
            try:
                run = accounts_import(
                    Path(path),
                    source=source,
                    mapping=mapping,
                    dry_run=options["dry_run"],
                    allow_same_file=options["allow_same_file"],
                )
            except SameFileImported as error:
                self.stderr.write(
                    self.style.ERROR(f"{path}: {error.for_override(OVERRIDE_COMMAND)}")
                )
                failed.append(path)
                continue
            except ImportFileError as error:
                self.stderr.write(self.style.ERROR(f"{path}: {error}"))
                failed.append(path)
                continue
            self._write_summary(path, run)
            if run.allow_same_file:
                self._warn_same_file(run)
            if run.status == ImportRun.Status.CANCELLED:
                self._warn_cancelled(run)
                failed.append(path)
            elif run.imported == 0 and run.rejected:
                self.stderr.write(
                    self.style.ERROR(
                        f"{path}: no row was imported because every row with values was "
                        f"rejected ({run.rejected} rows). The report above gives each row's "
                        "reason: fix those rows and import the file again."
                    )
                )
                all_rejected.append(path)

        if failed:
            raise CommandError(
                f"{len(failed)} of {len(options['paths'])} files failed to import or were "
                "cancelled.",
                returncode=EXIT_FAILED,
            )
        if all_rejected:
            raise CommandError(
                f"{len(all_rejected)} of {len(options['paths'])} files had every row rejected, "
                "so no row of them was imported.",
                returncode=EXIT_ALL_ROWS_REJECTED,
            )

    def _write_summary(self, path: str, run: ImportRun) -> None:
        mapping = run.column_mapping
        delimiter = {"\t": "tab", "": "none"}.get(run.delimiter, run.delimiter)
        prefix = "Dry run of " if run.is_dry_run else ""
        self.stdout.write(
            f"{prefix}{path}: layout {mapping.get('layout')}, source {run.source}, "
            f"encoding {run.encoding}, delimiter {delimiter}"
            + (", decimal comma" if mapping.get("decimal_comma") else "")
        )
        self.stdout.write(
            f"  read {run.rows_read}, created {run.created}, updated {run.updated}, "
            f"unchanged {run.unchanged}, merged {run.merged}, rejected {run.rejected}, "
            f"skipped blank {run.skipped_blank}, flagged {run.flagged}"
        )
        if mapping.get("ignored"):
            ignored = ", ".join(visible_controls(name) for name in mapping["ignored"])
            self.stdout.write(f"  ignored columns: {ignored}")
        if mapping.get("missing"):
            missing = ", ".join(visible_controls(name) for name in mapping["missing"])
            if mapping.get("layout") == "mapping":
                self.stdout.write(f"  mapped columns not in the file: {missing}")
            else:
                self.stdout.write(
                    f"  columns of layout {mapping.get('layout')} not in the file: {missing}"
                )
        if run.report_path:
            self.stdout.write(f"  rejected rows: {run.report_path}")
        if run.error:
            self.stdout.write(self.style.WARNING(f"  {run.error}"))

    def _warn_cancelled(self, run: ImportRun) -> None:
        cancel_request = ImportCancelRequest.objects.filter(import_run=run).first()
        by = ""
        if cancel_request is not None:
            name = user_label(cancel_request.requested_by) or "a deleted user"
            by = (
                f" by {name} at {timezone.localtime(cancel_request.requested_at):%Y-%m-%d %H:%M %Z}"
            )
        not_reached = (
            "the rest of the file"
            if run.rows_not_reached is None
            else f"{run.rows_not_reached} rows"
        )
        self.stderr.write(
            self.style.WARNING(
                f"  cancelled after row {run.rows_read}{by}: {not_reached} not reached and not "
                "imported. Import the file again to import them: rows imported before match "
                "their accounts and count as unchanged."
            )
        )

    def _warn_same_file(self, run: ImportRun) -> None:
        conflict = same_file_conflict(run.file_sha256, run.source, exclude_run_id=run.pk)
        if conflict is None:
            return
        sources = ", ".join(conflict.sources)
        self.stdout.write(
            self.style.WARNING(
                f"  the same content was imported before as source {sources} (latest: import "
                f"run {conflict.earlier.pk}), so its values now count as a second source "
                f"({run.source}) and can become verified."
            )
        )


def _not_readable_file(path: Path) -> str:
    """Return why ``path`` cannot be imported as a file, or "" when it is a readable file.

    The command checks this before it records an import run, so a mistyped path leaves
    no failed run behind.
    """
    if not path.exists():
        return f"{path} was not found: check the path."
    if path.is_dir():
        return f"{path} is a directory: give the path of a CSV or JSON file."
    if not path.is_file():
        return f"{path} is not a regular file: give the path of a CSV or JSON file."
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        return f"{path} cannot be read ({error.strerror}): check its permissions."
    return ""
