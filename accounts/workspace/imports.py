"""The import wizard: store an upload, inspect it, preview rows, save mappings, start runs.

Detection and row parsing reuse the importer (``accounts.importing``), so the wizard
shows what the import will do: the same encoding, delimiter, layout, rejection reasons
and review flags.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from accounts import roles
from accounts.importing.batches import mark_unchanged_rows
from accounts.importing.errors import ImportFileError, RowRejected
from accounts.importing.fingerprints import (
    OVERRIDE_WIZARD,
    SameFileImported,
    file_sha256,
    same_file_conflict,
)
from accounts.importing.layouts import (
    FIELDS,
    MappingFile,
    apply_layout,
    column_key,
    default_source,
    detect_layout,
)
from accounts.importing.matching import UNCHANGED, BatchMatcher, reviewed_flag_keys
from accounts.importing.reading import (
    UTF8_REPLACE_ENCODING,
    ObjectColumns,
    Table,
    encoding_label,
    encoding_warning,
    open_table,
)
from accounts.importing.rows import ParsedRow, RowParser, as_text
from accounts.importing.sources import source_name_normalize
from accounts.importing.uploads import ALLOWED_EXTENSIONS, upload_content_check
from accounts.models import ImportMapping, ImportRun
from accounts.normalizers import DEFAULT_RATES_TO_USD, is_currency_code
from accounts.services import import_run_create
from segmentation.engine import format_usd
from segmentation.taxonomy import IndustryResolver

logger = logging.getLogger(__name__)

UPLOAD_FOLDER = "import-uploads"
PREVIEW_ROWS = 20
SAMPLE_ROWS = 3
IDENTITY_FIELDS = ("name", "website", "domain")
# An upload that no import run uses is removed this long after it was stored, because its
# wizard was left before the last step.
ABANDONED_UPLOAD_AGE = timedelta(days=2)
REVENUE_MULTIPLIERS = (1, 1_000, 1_000_000)

VALUE_LIKE_RE = re.compile(
    r"[-+$€£]?\d[\d,. ]*[kKmMbB%]?"  # numbers and amounts
    r"|[^\s@]+@[^\s@]+\.[A-Za-z]{2,}"  # e-mail addresses
    r"|(?:https?://)?(?:[\w-]+\.)+[A-Za-z]{2,}(?:/\S*)?"  # websites and domains
)


# Storing an upload ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded file saved under MEDIA_ROOT/import-uploads/<token>/."""

    token: str
    path: Path
    file_name: str
    size: int


def upload_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / UPLOAD_FOLDER


def upload_path(token: str, stored_name: str) -> Path:
    """Return the path of a stored upload. Raise ValueError for an invalid token or name."""
    uuid.UUID(hex=token)
    if stored_name != _safe_name(stored_name):
        raise ValueError(f"stored upload name {stored_name!r} is not a safe file name")
    return upload_folder() / token / stored_name


def _safe_name(file_name: str) -> str:
    path = Path(file_name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or "import"
    suffix = path.suffix.lower() if path.suffix.lower() in ALLOWED_EXTENSIONS else ".csv"
    return f"{stem[:100]}{suffix}"


def upload_store(uploaded: UploadedFile) -> StoredUpload:
    """Save an upload under a new random token and return where it is.

    abandoned_uploads_remove() deletes it later if no import run uses it.
    """
    token = uuid.uuid4().hex
    stored_name = _safe_name(uploaded.name or "import.csv")
    path = upload_path(token, stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for chunk in uploaded.chunks():
            handle.write(chunk)
    return StoredUpload(
        token, path, Path(uploaded.name or stored_name).name[:255], path.stat().st_size
    )


def upload_discard(path: Path) -> None:
    """Delete a stored upload and its token folder."""
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:
        logger.warning("could not delete the upload %s", path, exc_info=True)


def abandoned_uploads_remove(*, older_than: timedelta = ABANDONED_UPLOAD_AGE) -> list[Path]:
    """Delete the wizard's uploads stored more than ``older_than`` ago that no run uses.

    A file that an import run uses is kept at any age, because a worker resumes an
    interrupted run from it. Returns the deleted files.
    """
    folder = upload_folder()
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    old_files = {
        str(path.resolve()): path
        for path in folder.glob("*/*")
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    started = set(
        ImportRun.objects.filter(file_path__in=list(old_files)).values_list("file_path", flat=True)
    )
    removed = []
    for resolved, path in sorted(old_files.items()):
        if resolved not in started:
            upload_discard(path)
            removed.append(path)
    if removed:
        logger.info("Removed %s abandoned import uploads from %s", len(removed), folder)
    return removed


# Inspecting a file ---------------------------------------------------------------------


@dataclass
class FileInspection:
    """The importer's view of a file: its format, layout and the number of records.

    ``suggested`` maps each column to the import field the detected layout gives it (""
    for none). ``multipliers`` contains the money unit of columns such as "Revenue ($M)".
    ``missing`` names the columns of the detected layout's signature that the file lacks.
    ``encoding_warning`` names the lines with bytes that are not valid UTF-8, if any.
    """

    kind: str
    encoding: str
    delimiter: str
    decimal_comma: bool
    header: list[str]
    layout: str
    suggested: dict[str, str]
    multipliers: dict[str, int]
    total_records: int
    samples: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    encoding_warning: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileInspection:
        return cls(**data)

    @property
    def encoding_label(self) -> str:
        return encoding_label(self.encoding)

    @property
    def delimiter_label(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab", "": "none (JSON)"}.get(
            self.delimiter, repr(self.delimiter)
        )


def _looks_headerless(header: list[str]) -> bool:
    """Return True when the first row reads like data rather than column names."""
    layout = detect_layout(header)
    if apply_layout(layout, header).indexes:
        return False
    cells = [cell.strip() for cell in header if cell.strip()]
    value_like = [cell for cell in cells if VALUE_LIKE_RE.fullmatch(cell)]
    return bool(cells) and len(value_like) * 2 >= len(cells)


def _tail_state(path: Path, encoding: str) -> tuple[bool, bool]:
    """Return (ends with a line break, has an odd number of double quotes) for a text file."""
    errors = "replace"
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    quotes = 0
    last = ""
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            text = decoder.decode(chunk)
            quotes += text.count('"')
            if text:
                last = text[-1]
        text = decoder.decode(b"", final=True)
        quotes += text.count('"')
        last = text[-1] if text else last
    return last in ("\n", "\r"), quotes % 2 == 1


def file_inspect(path: Path, *, file_name: str) -> FileInspection:
    """Detect the format, encoding, delimiter and layout of a stored upload, and count rows.

    Raises ImportFileError with the reason and the fix for empty, binary, truncated and
    header-less files and for files the importer cannot read.
    """
    encoding = upload_content_check(path, file_name=file_name)
    try:
        with open_table(path) as table:
            header = [str(name) for name in table.header]
            if table.kind == "csv" and _looks_headerless(header):
                first_cells = ", ".join(f"“{cell}”" for cell in header[:4])
                raise ImportFileError(
                    f"The first row of “{file_name}” looks like data ({first_cells}), not column "
                    "names: add a header row such as name,website,employees."
                )
            samples: dict[str, list[str]] = {name: [] for name in header}
            total = 0
            last_cells: list[Any] | None = None
            for record in table.records:
                total += 1
                if total <= SAMPLE_ROWS:
                    _add_samples(samples, header, record.values)
                if table.kind == "csv":
                    last_cells = record.values
            kind, delimiter, encoding = table.kind, table.delimiter, table.encoding
            layout = detect_layout(header)
            mapping = apply_layout(layout, header)
            decimal_comma = table.uses_decimal_comma(mapping.number_indexes())
    except ImportFileError as error:
        raise ImportFileError(_friendly_error(error, file_name)) from error
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"“{file_name}” could not be decoded as {encoding} ({error.reason} at byte "
            f"{error.start}): save it as CSV UTF-8."
        ) from error

    if kind == "csv":
        _check_truncated(path, encoding, file_name, header, last_cells)
    if total == 0:
        raise ImportFileError(
            f"“{file_name}” has a header row but no data rows: export it again with the rows."
        )
    suggested = dict.fromkeys(header, "")
    suggested.update(mapping.columns)
    return FileInspection(
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        decimal_comma=decimal_comma,
        header=header,
        layout=layout.name,
        suggested=suggested,
        multipliers=dict(mapping.column_multipliers),
        total_records=total,
        samples=samples,
        missing=list(mapping.missing),
        encoding_warning=encoding_warning(path, encoding, file_name=file_name, before_import=True),
    )


def _friendly_error(error: ImportFileError, file_name: str) -> str:
    cause = error.__cause__
    doc = getattr(cause, "doc", None)
    if isinstance(doc, str) and doc.lstrip().startswith("[") and not doc.rstrip().endswith("]"):
        return (
            f"“{file_name}” ends before its JSON array is closed, so the file seems to be cut "
            "off: export it again."
        )
    return str(error).replace(str(Path(settings.MEDIA_ROOT)), "").strip()


def _check_truncated(
    path: Path, encoding: str, file_name: str, header: list[str], last_cells: list[Any] | None
) -> None:
    ends_with_break, odd_quotes = _tail_state(path, encoding)
    if ends_with_break:
        return
    if odd_quotes:
        raise ImportFileError(
            f"“{file_name}” ends inside a quoted value, so the file seems to be cut off: "
            "export it again."
        )
    if last_cells is not None and 0 < len(last_cells) < len(header):
        raise ImportFileError(
            f"The last row of “{file_name}” has {len(last_cells)} of {len(header)} columns "
            "and no line break, so the file seems to be cut off: export it again."
        )


def _add_samples(samples: dict[str, list[str]], header: list[str], values: Any) -> None:
    if isinstance(values, dict):
        cells = ObjectColumns(header).cells(values)
    elif isinstance(values, list):
        cells = values
    else:
        return
    for index, name in enumerate(header):
        if index < len(cells) and cells[index] not in (None, ""):
            samples[name].append(as_text(cells[index])[:80])


# Mappings ------------------------------------------------------------------------------


def header_signature(header: list[str]) -> str:
    """Return the SHA-256 of the column names, ignoring case, spacing and order."""
    keys = sorted({column_key(name) for name in header if name.strip()})
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()


@dataclass
class WizardMapping:
    """The mapping a person chose in the wizard: column to import field, and options."""

    columns: dict[str, str]
    source: str = ""
    currency: str = "USD"
    revenue_multiplier: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WizardMapping:
        return cls(
            columns={str(key): str(value) for key, value in (data.get("columns") or {}).items()},
            source=str(data.get("source") or ""),
            currency=str(data.get("currency") or "USD"),
            revenue_multiplier=int(data.get("revenue_multiplier") or 1),
        )

    @classmethod
    def detected(cls, inspection: FileInspection) -> WizardMapping:
        """Return the mapping the importer would use without changes."""
        return cls(
            columns=dict(inspection.suggested),
            source="",
            currency="USD",
            revenue_multiplier=detected_revenue_multiplier(inspection),
        )

    def is_detected(self, inspection: FileInspection) -> bool:
        """Return True when the importer's own detection gives the same result."""
        suggested = {name: target for name, target in inspection.suggested.items() if target}
        chosen = {name: target for name, target in self.columns.items() if target}
        return (
            chosen == suggested
            and self.currency == "USD"
            and self.revenue_multiplier == detected_revenue_multiplier(inspection)
        )

    def shared_fields(self) -> list[tuple[str, list[str]]]:
        """Return each field that two or more columns feed, with those columns in file order.

        The importer takes the first non-empty value of such columns, in file order, which
        is right for a fallback column and wrong when a column was mapped by mistake.
        """
        columns_by_field: dict[str, list[str]] = {}
        for name, target in self.columns.items():
            if target:
                columns_by_field.setdefault(target, []).append(name)
        return [(target, names) for target, names in columns_by_field.items() if len(names) > 1]

    def mapping_file(self, inspection: FileInspection, label: str) -> MappingFile | None:
        """Return the MappingFile to import with, or None to use the detected layout."""
        if self.is_detected(inspection):
            return None
        return MappingFile(
            path=label,
            columns=tuple((name, target) for name, target in self.columns.items() if target),
            revenue_multiplier=self.revenue_multiplier,
            currency=self.currency,
            decimal_comma=None,
        )


def detected_revenue_multiplier(inspection: FileInspection) -> int:
    for name, target in inspection.suggested.items():
        if target in ("revenue", "revenue_range") and name in inspection.multipliers:
            return inspection.multipliers[name]
    return 1


def mapping_check(mapping: WizardMapping) -> None:
    """Raise ValidationError for an unknown field, an invalid source name or currency, or
    a mapping without a column for the company name, website or domain."""
    unknown = sorted(
        {target for target in mapping.columns.values() if target and target not in FIELDS}
    )
    if unknown:
        raise ValidationError(f"Field {unknown[0]!r} is unknown: choose a field from the list.")
    if not any(target in IDENTITY_FIELDS for target in mapping.columns.values()):
        raise ValidationError(
            "No column is mapped to the company name, website or domain: map at least one "
            "of them, because the import matches accounts by them."
        )
    try:
        source_name_normalize(mapping.source)
    except ImportFileError as error:
        raise ValidationError(str(error)) from error
    if not is_currency_code(mapping.currency):
        raise ValidationError(
            f"Currency “{mapping.currency}” is not an ISO 4217 currency code: use a "
            "three-letter code such as EUR."
        )


def import_mapping_save(
    *, name: str, header: list[str], mapping: WizardMapping, user: AbstractBaseUser
) -> ImportMapping:
    """Save the mapping under ``name`` for files with the same columns.

    Saving again under the same name replaces the stored mapping.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"mapping_name": "Name is empty: name the mapping to save it."})
    stored = {
        "columns": {column: target for column, target in mapping.columns.items() if target},
        "source": mapping.source,
        "currency": mapping.currency,
        "revenue_multiplier": mapping.revenue_multiplier,
    }
    saved, _created = ImportMapping.objects.update_or_create(
        header_signature=header_signature(header),
        name=name[: ImportMapping._meta.get_field("name").max_length],
        defaults={"mapping": stored, "created_by": user},
    )
    logger.info("user %s saved import mapping %s (%s)", user.pk, saved.pk, saved.name)
    return saved


def mapping_from_saved(saved: ImportMapping, header: list[str]) -> WizardMapping:
    """Return a saved mapping applied to a header: unknown columns map to nothing."""
    stored = WizardMapping.from_json(saved.mapping)
    by_key = {column_key(column): target for column, target in stored.columns.items()}
    stored.columns = {name: by_key.get(column_key(name), "") for name in header}
    return stored


# Preview -------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    """One record as the import will treat it: ok, flagged, rejected or blank."""

    line: int
    status: str
    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    outcome: str = ""
    """The import's count for the row: created, updated, unchanged or merged, or empty for a
    rejected or blank row."""
    updates: str = ""
    """The name of the existing account that the row will update, or empty."""
    unchanged: str = ""
    """The name of the existing account that the row matches without storing anything
    new on it, or empty."""
    merges_with: int | None = None
    """The line of the earlier row of the file whose account the row merges into, or None."""


def _parser(inspection: FileInspection, mapping: WizardMapping, table: Table) -> RowParser:
    mapping_file = mapping.mapping_file(inspection, "preview")
    if mapping_file is None:
        layout = detect_layout(inspection.header)
        column_mapping = apply_layout(layout, inspection.header)
    else:
        layout = mapping_file.as_layout()
        column_mapping = apply_layout(layout, inspection.header, currency=mapping.currency)
    # The source name that the import will store, whose observations show unchanged rows.
    source = source_name_normalize(mapping.source) or default_source(
        layout.name, inspection.kind, has_mapping=mapping_file is not None
    )
    rates: dict[str, Decimal] = {**DEFAULT_RATES_TO_USD, **settings.ICP_CURRENCY_RATES_TO_USD}
    return RowParser(
        column_mapping,
        header=inspection.header,
        is_json=inspection.kind == "json",
        source=source,
        # The import decides by the chosen mapping's number columns, so the preview does too.
        decimal_comma=table.uses_decimal_comma(column_mapping.number_indexes()),
        rates=rates,
        resolver=IndustryResolver.load(),
        flag_replaced_bytes=table.encoding == UTF8_REPLACE_ENCODING,
    )


def import_preview(
    path: Path, inspection: FileInspection, mapping: WizardMapping, *, limit: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """Parse the first ``limit`` records with the importer's row rules, writing nothing.

    The parsed rows are then matched as the import matches them, so a row that will update
    an existing account names it, and gets the flags that matching adds, such as a company
    name that differs from the account's.
    """
    mapping_check(mapping)
    rows: list[PreviewRow] = []
    parsed_rows: list[tuple[PreviewRow, ParsedRow]] = []
    with open_table(path) as table:
        parser = _parser(inspection, mapping, table)
        for record in table.records:
            if len(rows) >= limit:
                break
            preview, parsed = _preview_row(parser, record)
            rows.append(preview)
            if parsed is not None:
                parsed_rows.append((preview, parsed))
    _preview_matches(parsed_rows, source=parser.source)
    return rows


def _preview_matches(parsed_rows: list[tuple[PreviewRow, ParsedRow]], *, source: str) -> None:
    """Match the preview's rows to accounts in memory, as one import batch does.

    A row that merges into the account of an earlier row names that row's line, and its
    values that disagree with the earlier row's are flagged, as the import flags them.
    A row that matches an account and would store nothing new on it counts as unchanged,
    as the import counts it, from the stored observations and leads of the source.
    """
    if not parsed_rows:
        return
    matcher = BatchMatcher(
        [parsed for _preview, parsed in parsed_rows],
        source=source,
        touched_ids=set(),
        preview=True,
    )
    outcomes = matcher.run()
    mark_unchanged_rows(outcomes, source=source)
    for (preview, parsed), outcome in zip(parsed_rows, outcomes, strict=True):
        state = outcome.state
        preview.outcome = outcome.outcome
        if state.first_line is not None and state.first_line != outcome.row.line:
            preview.merges_with = state.first_line
        elif state.is_new:
            continue
        if outcome.outcome == UNCHANGED:
            preview.unchanged = state.account.name
        elif not state.is_new:
            preview.updates = state.account.name
        # The import does not raise again a flag that a person marked reviewed on the
        # account, so the preview leaves it out too.
        reviewed = reviewed_flag_keys(state.account.reviewed_flags)
        kept = [flag for flag in parsed.flags if (flag["field"], flag["value"]) not in reviewed]
        added = [flag for flag in outcome.row.added_flags if flag not in outcome.row.flags]
        flags = [*kept, *added]
        preview.status = "flagged" if flags else "ok"
        preview.problems = [f"{item['field']}: {item['message']}" for item in flags]


def _preview_row(parser: RowParser, record: Any) -> tuple[PreviewRow, ParsedRow | None]:
    if record.error:
        return PreviewRow(record.line, "rejected", problems=[record.error]), None
    try:
        cells = parser.cells_of(record.values)
        if parser.is_blank(cells):
            blank = PreviewRow(
                record.line, "blank", problems=["The row is blank, so it is skipped."]
            )
            return blank, None
        parsed = parser.parse(record.line, cells)
    except RowRejected as rejection:
        return PreviewRow(record.line, "rejected", problems=[str(rejection)]), None
    values = parsed.values
    location = ", ".join(
        part for part in (values.get("city"), values.get("region"), values.get("country")) if part
    )
    # The stored amount, after the unit (such as millions) and the currency rate, so the
    # preview shows what a column like "Revenue ($M)" becomes.
    usd = values.get("annual_revenue_usd")
    preview = PreviewRow(
        line=record.line,
        status="flagged" if parsed.flags else "ok",
        values={
            "name": parsed.name,
            "domain": parsed.domain,
            "industry": values.get("industry_raw", ""),
            "employees": values.get("employee_raw", ""),
            "revenue": values.get("revenue_raw", ""),
            "revenue_usd": "" if usd is None else format_usd(usd),
            "location": location,
        },
        problems=[f"{item['field']}: {item['message']}" for item in parsed.flags],
    )
    return preview, parsed


# Starting the run ----------------------------------------------------------------------


def same_file_conflict_for(
    path: Path, inspection: FileInspection, mapping: WizardMapping
) -> SameFileImported | None:
    """Return the error that starting this import would raise for an earlier import of the
    same content under another source name, or None."""
    uses_mapping_file = not mapping.is_detected(inspection)
    source = mapping.source or default_source(
        inspection.layout, inspection.kind, has_mapping=uses_mapping_file
    )
    conflict = same_file_conflict(file_sha256(path), source)
    return None if conflict is None else conflict.for_override(OVERRIDE_WIZARD)


# Choices of who owns the accounts that an import creates.
NEW_ACCOUNTS_OWNER_ME = "me"
NEW_ACCOUNTS_OWNER_NONE = "none"
NEW_ACCOUNTS_OWNER_CHOICES = (NEW_ACCOUNTS_OWNER_ME, NEW_ACCOUNTS_OWNER_NONE)
# Roles that work the accounts they own, so their imports default to owning the new ones.
OWNING_ROLES = frozenset({roles.SDR, roles.AE})


def new_accounts_owner_default(user: AbstractBaseUser) -> str:
    """Return the default owner choice: "me" for SDRs and AEs, "none" for other roles."""
    if roles.user_roles(user) & OWNING_ROLES:
        return NEW_ACCOUNTS_OWNER_ME
    return NEW_ACCOUNTS_OWNER_NONE


def new_accounts_owner_for(user: AbstractBaseUser, choice: str | None) -> AbstractBaseUser | None:
    """Return the owner of an import's new accounts for ``choice``; None leaves them unowned.

    An empty choice takes the user's default. Raises ValidationError for another value.
    """
    choice = (choice or "").strip().lower() or new_accounts_owner_default(user)
    if choice not in NEW_ACCOUNTS_OWNER_CHOICES:
        raise ValidationError(
            {
                "new_accounts_owner": f"“{choice}” is not an owner choice: use me to own the "
                "new accounts, or none to leave them unassigned."
            }
        )
    return user if choice == NEW_ACCOUNTS_OWNER_ME else None


def import_start(
    *,
    path: Path,
    file_name: str,
    inspection: FileInspection,
    mapping: WizardMapping,
    user: AbstractBaseUser,
    allow_same_file: bool = False,
    new_accounts_owner: AbstractBaseUser | None = None,
    upload_token: str = "",
) -> ImportRun:
    """Create the ImportRun and queue accounts_import_task once the run is committed.

    ``new_accounts_owner`` becomes the owner of the accounts that the run creates.
    ``upload_token`` names the wizard upload, which becomes at most one run: when another
    request started it already, even at the same moment, this returns that run and
    creates and queues nothing. Raises SameFileImported, naming the wizard's checkbox,
    when an earlier import read the same content under another source name and
    ``allow_same_file`` is False.
    """
    mapping_check(mapping)
    if upload_token:
        earlier = ImportRun.objects.filter(upload_token=upload_token).first()
        if earlier is not None:
            logger.info(
                "upload %s is import run %s already, so user %s started no second run",
                upload_token,
                earlier.pk,
                user.pk,
            )
            return earlier
    mapping_file = mapping.mapping_file(inspection, f"import wizard mapping for {file_name}")
    try:
        return _import_run_create_and_queue(
            path=path,
            file_name=file_name,
            inspection=inspection,
            mapping=mapping,
            mapping_file=mapping_file,
            user=user,
            allow_same_file=allow_same_file,
            new_accounts_owner=new_accounts_owner,
            upload_token=upload_token,
        )
    except IntegrityError:
        # The unique constraint on upload_token makes a concurrent start of the same
        # upload wait until the first one commits, and then fail here.
        earlier = (
            ImportRun.objects.filter(upload_token=upload_token).first() if upload_token else None
        )
        if earlier is None:
            raise
        logger.info(
            "upload %s became import run %s in a concurrent request, so user %s started no "
            "second run",
            upload_token,
            earlier.pk,
            user.pk,
        )
        return earlier


def _import_run_create_and_queue(
    *,
    path: Path,
    file_name: str,
    inspection: FileInspection,
    mapping: WizardMapping,
    mapping_file: MappingFile | None,
    user: AbstractBaseUser,
    allow_same_file: bool,
    new_accounts_owner: AbstractBaseUser | None,
    upload_token: str,
) -> ImportRun:
    with transaction.atomic():
        try:
            run = import_run_create(
                path,
                source=mapping.source,
                mapping=mapping_file,
                created_by=user,
                allow_same_file=allow_same_file,
                total_rows=inspection.total_records,
                new_accounts_owner=new_accounts_owner,
            )
        except SameFileImported as error:
            raise error.for_override(OVERRIDE_WIZARD) from error
        run.file_name = file_name[: ImportRun._meta.get_field("file_name").max_length]
        run.upload_token = upload_token
        run.save(update_fields=["file_name", "upload_token"])
        # Logged before the commit, because without a broker the commit runs the whole
        # import, whose own log lines come after this one.
        logger.info(
            "user %s started import run %s of %s (source %s, allow same file %s)",
            user.pk,
            run.pk,
            file_name,
            run.source or "detected",
            allow_same_file,
        )
        transaction.on_commit(lambda: _queue_import(run.pk))
    return run


def _queue_import(run_id: int) -> None:
    from accounts.tasks import accounts_import_task

    try:
        accounts_import_task.delay(run_id)
    except ImportFileError as error:
        # Raised only when tasks run eagerly; the run is already marked failed.
        logger.info("import run %s failed: %s", run_id, error)
    except Exception as error:  # noqa: BLE001 - a broker or worker failure
        not_started = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.PENDING).update(
            status=ImportRun.Status.FAILED,
            error=f"The import could not be started ({error}). Start it again later.",
        )
        if not_started:
            logger.exception("import run %s could not be started", run_id)
        else:
            # The task ran here without a broker, and the importer has logged the
            # failure and stored it on the run.
            logger.info("import run %s failed: %r", run_id, error)


def import_run_total(run: ImportRun) -> int | None:
    """Return the run's total record count, or None while it is unknown.

    The wizard and the API store the record count of their upload check, and the importer
    keeps that count for a CSV file, which it streams without counting. A CSV file given to
    import_accounts has no count.
    """
    return run.total_rows or None
