"""Content fingerprints of imported files, and the check against one file under two sources.

Verification counts a value as verified when two independent sources agree. Two imports
of the same bytes under different source names would agree with themselves, so an import
whose content an earlier import read under another source name is rejected, unless the
run allows it (``ImportRun.allow_same_file``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db.models import Q

from accounts.models import ImportRun

from .errors import ImportFileError

HASH_CHUNK_BYTES = 1024 * 1024

# The override as each entry point spells it, for the message of SameFileImported.
OVERRIDE_COMMAND = "--allow-same-file"
OVERRIDE_API = "allow_same_file=true"
OVERRIDE_WIZARD = "the “Import as a second source” checkbox"
OVERRIDE_ANY = "the allow-same-file option (--allow-same-file, allow_same_file=true in the API)"


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of the file's bytes as 64 hexadecimal digits."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class SameFileImported(ImportFileError):
    """The file's content was imported before under another source name.

    ``earlier`` is the latest such import, and ``sources`` lists the source names that
    imported the content, so the message can name the fix.
    """

    def __init__(
        self, earlier: ImportRun, source: str, sources: list[str], override: str = OVERRIDE_ANY
    ) -> None:
        self.earlier = earlier
        self.source = source
        self.sources = sources
        self.override = override
        super().__init__(self._message())

    def for_override(self, override: str) -> SameFileImported:
        """Return the same error with the override named as ``override``."""
        return SameFileImported(self.earlier, self.source, self.sources, override)

    def _message(self) -> str:
        earlier = self.earlier
        user = earlier.created_by.get_username() if earlier.created_by else "no recorded user"
        when = earlier.created_at.strftime("%Y-%m-%d %H:%M UTC")
        names = " or ".join(f"“{name}”" for name in self.sources)
        return (
            f"“{earlier.file_name}” has the same content as import run {earlier.pk} "
            f"(source “{earlier.source}”, {when}, by {user}). Importing it again as source "
            f"“{self.source}” would count its values twice, as two independent sources, and "
            f"mark them verified. Import it with source {names} to update those accounts. "
            f"If this really is a second, independent source with the same file, import it "
            f"with {self.override}: its values will then count as a second source."
        )


def earlier_imports(sha256: str, *, exclude_run_id: int | None = None) -> list[ImportRun]:
    """Return the real imports of content with this SHA-256 that may have written values.

    Those are runs that are running or succeeded, and failed runs that created, updated
    or merged rows before they failed. Dry runs and pending runs wrote nothing. The
    latest run comes first.
    """
    if not sha256:
        return []
    active = Q(status__in=[ImportRun.Status.RUNNING, ImportRun.Status.SUCCEEDED])
    wrote_rows = Q(created__gt=0) | Q(updated__gt=0) | Q(merged__gt=0)
    failed_after_writes = Q(status=ImportRun.Status.FAILED) & wrote_rows
    runs = ImportRun.objects.filter(
        active | failed_after_writes, file_sha256=sha256, is_dry_run=False
    )
    if exclude_run_id is not None:
        runs = runs.exclude(pk=exclude_run_id)
    return list(runs.select_related("created_by").order_by("-created_at", "-id"))


def same_file_conflict(
    sha256: str, source: str, *, exclude_run_id: int | None = None
) -> SameFileImported | None:
    """Return the error for importing this content as ``source``, or None when it is fine.

    Content that no earlier import read, or that an earlier import read under the same
    source name, is fine.
    """
    runs = earlier_imports(sha256, exclude_run_id=exclude_run_id)
    sources = sorted({run.source for run in runs})
    if not runs or source in sources:
        return None
    return SameFileImported(runs[0], source, sources)


def same_file_check(run: ImportRun) -> None:
    """Raise SameFileImported when the run's content was imported under another source.

    Runs with ``allow_same_file`` and runs without a fingerprint pass.
    """
    if run.allow_same_file:
        return
    conflict = same_file_conflict(run.file_sha256, run.source, exclude_run_id=run.pk)
    if conflict is not None:
        raise conflict
