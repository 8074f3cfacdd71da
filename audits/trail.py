"""The audit trail: every recorded change, newest first, with who, when, through what.

Sources are the history tables of every model that django-simple-history tracks, the
SegmentOverride rows (tag and tier changes with their reason) and the ImportRun rows.
One UNION ALL query picks a page of (source, row id) pairs. The page's rows are then
loaded with a fixed number of queries per source, and each history row is compared with
the previous history row of the same object, field by field.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast
from django.urls import reverse
from simple_history.exceptions import NotHistoricalModelError
from simple_history.models import registered_models
from simple_history.utils import get_history_model_for_model

from accounts.models import Account, ImportRun, ResearchNote, SegmentOverride
from accounts.selectors import source_label, user_label
from enrichment.models import FieldResolution

from .baseline import BASELINE_ACTION, is_baseline
from .history import Channel
from .models import TrainingRecord, Violation

OVERRIDE_SOURCE = "accounts.segmentoverride"
IMPORT_SOURCE = "accounts.importrun"
RESOLUTION_SOURCE = "enrichment.fieldresolution"
# Fields left out of diffs: they change on every save and carry no information.
IGNORED_FIELDS = frozenset({"updated_at", "name_key"})
# Account columns that scoring, and verification when only field_status changes, write in
# bulk without history rows. A diff between two history rows would credit those changes
# to the next person who edits the account, so they are left out. Score records keep
# every scoring result, and a person's tag or tier change shows as its "Tag and tier
# change" entry and in the tag and tier override fields.
UNRECORDED_ACCOUNT_FIELDS = frozenset(
    {
        "size_band",
        "geography",
        "tag",
        "tier",
        "score",
        "route",
        "needs_enrichment",
        "missing_fields",
        "framework",
        "scored_at",
        "field_status",
    }
)
# Maximum length of a value shown in a diff cell. Longer values end with an ellipsis. It
# fits the text of a research note (500 characters), which a deletion entry shows.
VALUE_TEXT_LIMIT = 500
# Deletion entries of these models list the deleted row's values, because people delete
# such rows on the account page and the trail is where their content stays readable.
DELETION_VALUES_SHOWN: frozenset[type[models.Model]] = frozenset({ResearchNote})
CHANGE_LABELS = {"+": "Created", "~": "Changed", "-": "Deleted"}
CHANNEL_LABELS = dict(Channel.choices)
# Shown for conflict resolutions recorded before their channel was stored.
CHANNEL_NOT_RECORDED = "Not recorded"
# The field of a tracked model that names the person a row is about. A manager's trail
# shows changes to their team's accounts, findings and training records, made by anyone.
SUBJECT_FIELDS: dict[type[models.Model], str] = {
    Account: "owner_id",
    Violation: "responsible_id",
    TrainingRecord: "user_id",
}


@dataclass(frozen=True)
class TrailSource:
    """One table the trail reads: a history table, the overrides or the import runs."""

    key: str
    label: str
    model: type[models.Model]
    tracked_model: type[models.Model] | None = None

    @property
    def is_history(self) -> bool:
        return self.tracked_model is not None

    @property
    def subject_field(self) -> str | None:
        """Return the field that names the team member a row is about, or None."""
        return SUBJECT_FIELDS.get(self.tracked_model)

    @property
    def account_field(self) -> str | None:
        """Return the field that links a row to an account, or None."""
        if self.model in (SegmentOverride, FieldResolution):
            return "account_id"
        if self.tracked_model is Account:
            return "id"
        if self.tracked_model is not None:
            names = {f.name for f in self.tracked_model._meta.concrete_fields}
            if "account" in names:
                field_object = self.tracked_model._meta.get_field("account")
                if getattr(field_object, "related_model", None) is Account:
                    return "account_id"
        return None


def trail_sources() -> list[TrailSource]:
    """Return every source of the trail, history tables first, ordered by label."""
    sources = []
    for tracked in set(registered_models.values()):
        try:
            history_model = get_history_model_for_model(tracked)
        except NotHistoricalModelError:
            continue
        sources.append(
            TrailSource(
                key=tracked._meta.label_lower,
                label=str(tracked._meta.verbose_name).capitalize(),
                model=history_model,
                tracked_model=tracked,
            )
        )
    sources.sort(key=lambda source: source.label)
    sources.append(TrailSource(OVERRIDE_SOURCE, "Tag and tier change", SegmentOverride))
    sources.append(TrailSource(IMPORT_SOURCE, "Import run", ImportRun))
    sources.append(TrailSource(RESOLUTION_SOURCE, "Conflict resolution", FieldResolution))
    return sources


@dataclass
class TrailFilter:
    """Filters of the trail. ``user_ids`` limits the rows to a team; None is everyone.

    With ``user_ids``, a row is kept when a team member made it or when it is about one
    (see SUBJECT_FIELDS).
    """

    user_id: int | None = None
    source_key: str = ""
    start: datetime | None = None
    end: datetime | None = None
    account_id: int | None = None
    user_ids: list[int] | None = None


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _source_rows(
    source: TrailSource, filters: TrailFilter, before: TrailPosition | None = None
) -> QuerySet | None:
    """Return the (source, row id, time, user, channel, change, object) rows of a source.

    With ``before``, only the rows that follow that position in the trail's order.
    """
    model = source.model
    if source.is_history:
        date_field, user_field, pk_field = "history_date", "history_user_id", "history_id"
        object_field = source.tracked_model._meta.pk.attname
        names = {f.name for f in model._meta.concrete_fields}
        channel = F("history_channel") if "history_channel" in names else _text("")
        change = F("history_type")
    elif model is SegmentOverride:
        date_field, user_field, pk_field, object_field = "created_at", "user_id", "id", "account_id"
        channel, change = F("channel"), _text("~")
    elif model is FieldResolution:
        date_field, user_field, pk_field = "resolved_at", "resolved_by_id", "id"
        object_field = "account_id"
        channel, change = F("channel"), _text("~")
    else:
        date_field, user_field, pk_field, object_field = "created_at", "created_by_id", "id", "id"
        channel, change = _text(Channel.IMPORT), _text("+")

    rows = model.objects.all()
    if filters.account_id is not None:
        if source.account_field is None:
            return None
        rows = rows.filter(**{source.account_field: filters.account_id})
    if filters.user_id is not None:
        rows = rows.filter(**{user_field: filters.user_id})
    if filters.user_ids is not None:
        scope = Q(**{f"{user_field}__in": filters.user_ids})
        if source.subject_field is not None:
            scope |= Q(**{f"{source.subject_field}__in": filters.user_ids})
        rows = rows.filter(scope)
    if filters.start is not None:
        rows = rows.filter(**{f"{date_field}__gte": filters.start})
    if filters.end is not None:
        rows = rows.filter(**{f"{date_field}__lt": filters.end})
    if before is not None:
        # The trail runs newest first, then by row id downwards, then by source key.
        older = Q(**{f"{date_field}__lt": before.at}) | Q(
            **{date_field: before.at, f"{pk_field}__lt": before.row_id}
        )
        if source.key > before.source_key:
            older |= Q(**{date_field: before.at, pk_field: before.row_id})
        rows = rows.filter(older)
    return rows.order_by().values(
        trail_source=_text(source.key),
        trail_row=F(pk_field),
        trail_at=F(date_field),
        trail_user=F(user_field),
        trail_channel=channel,
        trail_change=change,
        trail_object=Cast(object_field, CharField()),
    )


@dataclass(frozen=True)
class TrailPosition:
    """A row's place in the trail's order, from which the next batch continues."""

    at: datetime
    row_id: int
    source_key: str


def _limits_in_union() -> bool:
    return connection.features.supports_slicing_ordering_in_compound


def trail_rows(
    filters: TrailFilter,
    sources: list[TrailSource] | None = None,
    *,
    before: TrailPosition | None = None,
    limit: int | None = None,
) -> QuerySet | None:
    """Return the UNION ALL of the sources' rows, newest first, or None when none applies.

    With ``before``, only the rows that follow that position. With ``limit``, each source
    contributes only its first ``limit`` rows in the trail's order, which is enough for
    the first ``limit`` rows of the whole trail. PostgreSQL then reads each history table
    backwards along its ``history_date`` index and stops early. Without it, each batch of
    the CSV export sorted every matching row of every source again, so an export took
    time quadratic in the trail's length.
    """
    sources = sources or trail_sources()
    parts = []
    for source in sources:
        if filters.source_key and source.key != filters.source_key:
            continue
        rows = _source_rows(source, filters, before)
        if rows is not None:
            parts.append(rows)
    if not parts:
        return None
    # SQLite allows no LIMIT inside a compound statement, so it sorts every row.
    if len(parts) > 1 and limit is not None and _limits_in_union():
        parts = [rows.order_by("-trail_at", "-trail_row")[:limit] for rows in parts]
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-trail_at", "-trail_row", "trail_source")


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class TrailEntry:
    """One change as the trail shows it."""

    at: datetime
    source_key: str
    model_label: str
    action: str
    user: str
    channel: str
    object_label: str
    object_id: str
    # ``user`` is the author's full name, or the login name of a user without one, and
    # ``username`` is always the login name.
    username: str = ""
    account_id: int | None = None
    account_name: str = ""
    account_deleted: bool = False
    changes: list[Change] = field(default_factory=list)
    note: str = ""

    @property
    def account_url(self) -> str:
        """Return the account page's URL, or "" when there is no account or it was deleted."""
        if self.account_id is None or self.account_deleted:
            return ""
        return reverse("accounts:account-detail", args=[self.account_id])


def _format(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = str(value)
    if len(text) > VALUE_TEXT_LIMIT:
        text = text[: VALUE_TEXT_LIMIT - 1] + "…"
    return text


class _Labels:
    """Names of users, accounts and other related objects, loaded in bulk per model.

    A user's label is their full name, or the login name when they have none, as on the
    other pages. ``usernames`` maps user ids to login names.
    """

    def __init__(self) -> None:
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.loaded: dict[type[models.Model], dict[Any, str]] = {}
        self.usernames: dict[Any, str] = {}
        self.deleted_account_ids: set[int] = set()

    def want(self, model: type[models.Model], pk: Any) -> None:
        if pk is not None and pk != "":
            self.wanted[model].add(pk)

    def load(self) -> None:
        user_model = get_user_model()
        for model, pks in self.wanted.items():
            if model is user_model:
                users = list(
                    user_model.objects.filter(pk__in=pks).only(
                        "pk", user_model.USERNAME_FIELD, "first_name", "last_name"
                    )
                )
                self.loaded[model] = {user.pk: user_label(user) for user in users}
                self.usernames = {user.pk: user.get_username() for user in users}
            elif model is Account:
                names = dict(Account.objects.filter(pk__in=pks).values_list("pk", "name"))
                missing = pks - names.keys()
                if missing:
                    self.deleted_account_ids = missing
                    names.update(deleted_account_names(missing))
                self.loaded[model] = names
            else:
                self.loaded[model] = {
                    pk: str(obj) for pk, obj in model.objects.in_bulk(pks).items()
                }

    def get(self, model: type[models.Model], pk: Any, default: str = "") -> str:
        if pk is None or pk == "":
            return default
        return self.loaded.get(model, {}).get(pk, f"#{pk}")

    def username(self, pk: Any, default: str = "") -> str:
        """Return a user's login name, "#id" for an id not found, or ``default`` for None."""
        if pk is None or pk == "":
            return default
        return self.usernames.get(pk, f"#{pk}")


def last_account_history(account_ids: set[int]) -> QuerySet:
    """Return the latest Account history row of each id, such as the row of its deletion."""
    history = get_history_model_for_model(Account)
    latest = (
        history.objects.filter(id=OuterRef("id"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return history.objects.filter(id__in=account_ids, history_id=Subquery(latest))


def deleted_account_names(account_ids: set[int]) -> dict[int, str]:
    """Return the last recorded name of each deleted account, from its history."""
    return dict(last_account_history(account_ids).values_list("id", "name"))


def _foreign_key_target(model: type[models.Model], name: str) -> type[models.Model] | None:
    try:
        field_object = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if isinstance(field_object, models.ForeignKey | models.OneToOneField):
        return field_object.related_model
    return None


def _tracked_fields(history_row: Any) -> list[str]:
    ignored = IGNORED_FIELDS
    if history_row.instance_type is Account:
        ignored = IGNORED_FIELDS | UNRECORDED_ACCOUNT_FIELDS
    return [
        f.name
        for f in history_row.tracked_fields
        if f.editable and f.name not in ignored and not f.primary_key
    ]


def _object_label(source: TrailSource, row: Any, labels: _Labels) -> str:
    full_name = f"{getattr(row, 'first_name', '')} {getattr(row, 'last_name', '')}".strip()
    if full_name:
        return full_name[:80]
    for name in ("name", "text", "value", "rule_code", "email"):
        value = getattr(row, name, None)
        if isinstance(value, str) and value:
            # Framework versions share their name, so the label names the version too.
            version = getattr(row, "version", None)
            if isinstance(version, int):
                return f"{value[:80]} v{version}"
            return value[:80]
    user_id = getattr(row, "user_id", None)
    if user_id is not None:
        return f"{source.label} of {labels.get(get_user_model(), user_id)}"
    return f"{source.label} {getattr(row, source.tracked_model._meta.pk.attname)}"


def _history_entries(source: TrailSource, row_ids: list[int], labels: _Labels) -> dict[int, Any]:
    """Load a source's history rows and their previous rows, two queries in all."""
    model = source.model
    pk_name = source.tracked_model._meta.pk.attname
    previous = (
        model.objects.filter(**{pk_name: OuterRef(pk_name)})
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    rows = {
        row.history_id: row
        for row in model.objects.filter(history_id__in=row_ids).annotate(
            previous_id=Subquery(previous)
        )
    }
    previous_ids = [row.previous_id for row in rows.values() if row.previous_id is not None]
    # NOTE: building a model instance for each row and its previous row, with their JSON
    # fields decoded, is the largest remaining cost of a long CSV export.
    previous_rows = model.objects.in_bulk(previous_ids) if previous_ids else {}
    tracked_fields: dict[type, list[str]] = {}
    for row in rows.values():
        row.previous_row = previous_rows.get(row.previous_id)
        fields = tracked_fields.get(type(row))
        if fields is None:
            fields = tracked_fields[type(row)] = _tracked_fields(row)
        if row.history_type == "-" and source.tracked_model in DELETION_VALUES_SHOWN:
            changed = [(name, getattr(row, _attname(row, name)), None) for name in fields]
            changed = [change for change in changed if change[1] not in (None, "", [], {})]
        elif row.previous_row is not None:
            changed = _field_changes(row.previous_row, row, fields)
        elif row.history_type == "+":
            changed = [(name, None, getattr(row, _attname(row, name))) for name in fields]
            changed = [change for change in changed if change[2] not in (None, "", [], {})]
        else:
            changed = []
        row.changed = changed
        for name, old, new in changed:
            target = _foreign_key_target(source.tracked_model, name)
            if target is not None:
                labels.want(target, old)
                labels.want(target, new)
        if source.account_field == "account_id":
            labels.want(Account, row.account_id)
        elif source.account_field == "id":
            labels.want(Account, row.id)
        labels.want(get_user_model(), getattr(row, "user_id", None))
    return rows


def _field_changes(old_row: Any, new_row: Any, fields: list[str]) -> list[tuple[str, Any, Any]]:
    """Return (field, old, new) for each of ``fields`` that differs, sorted by field name.

    The same result as ``diff_against(old_row, included_fields=fields).changes`` of
    django-simple-history 3.x for fields that are not many-to-many: foreign keys compare
    their ids. It reads the attributes directly, because ``diff_against`` builds two dicts
    of every field per row, which took about a fifth of a long CSV export.
    """
    if new_row._history_m2m_fields:
        delta = new_row.diff_against(old_row, included_fields=fields)
        return [(change.field, change.old, change.new) for change in delta.changes]
    changes = []
    for name in sorted(fields):
        attname = _attname(new_row, name)
        old = getattr(old_row, attname)
        new = getattr(new_row, attname)
        if old != new:
            changes.append((name, old, new))
    return changes


def _attname(row: Any, name: str) -> str:
    return row._meta.get_field(name).attname


def _history_entry(source: TrailSource, row: Any, labels: _Labels, user: str) -> TrailEntry:
    changes = []
    for name, old, new in row.changed:
        target = _foreign_key_target(source.tracked_model, name)
        verbose = str(source.tracked_model._meta.get_field(name).verbose_name)
        if target is not None:
            old_text = labels.get(target, old, "—")
            new_text = labels.get(target, new, "—")
        else:
            old_text, new_text = _format(old), _format(new)
        if row.history_type == "+":
            old_text = ""
        changes.append(Change(verbose, old_text, new_text))
    object_id = str(getattr(row, source.tracked_model._meta.pk.attname))
    account_id = None
    if source.account_field == "id":
        account_id = int(object_id)
    elif source.account_field == "account_id":
        account_id = row.account_id
    return TrailEntry(
        at=row.history_date,
        source_key=source.key,
        model_label=source.label,
        action=_history_action(row),
        user=user,
        channel=CHANNEL_LABELS.get(getattr(row, "history_channel", ""), "—"),
        object_label=_object_label(source, row, labels),
        object_id=object_id,
        account_id=account_id,
        account_name=labels.get(Account, account_id) if account_id else "",
        account_deleted=account_id in labels.deleted_account_ids,
        changes=changes,
        note=row.history_change_reason or _missing_previous_note(row),
    )


def _history_action(row: Any) -> str:
    if is_baseline(row):
        return BASELINE_ACTION
    return CHANGE_LABELS.get(row.history_type, row.history_type)


def _missing_previous_note(row: Any) -> str:
    """Explain a change row without an earlier row, such as after a bulk import.

    A row with a status names the status it was changed to, such as a retired version.
    """
    if row.history_type != "~" or row.previous_row is not None:
        return ""
    note = "Earlier values were not recorded, so the change cannot be shown."
    status_display = getattr(row, "get_status_display", None)
    if status_display is not None:
        note += f" Status after the change: {status_display()}."
    return note


def _override_entry(override: SegmentOverride, labels: _Labels, user: str) -> TrailEntry:
    changes = []
    if override.old_tag != override.new_tag:
        changes.append(Change("tag", _format(override.old_tag), _format(override.new_tag)))
    if override.old_tier != override.new_tier:
        changes.append(Change("tier", _format(override.old_tier), _format(override.new_tier)))
    rep = labels.get(get_user_model(), override.rep_id, "—")
    if override.account_id is None:
        account_name = override.account_label
    else:
        account_name = labels.get(Account, override.account_id)
    return TrailEntry(
        at=override.created_at,
        source_key=OVERRIDE_SOURCE,
        model_label=override.get_kind_display(),
        action="Confirmed" if not changes else "Changed",
        user=user,
        # Overrides recorded before the channel was stored have an empty channel.
        channel=CHANNEL_LABELS.get(override.channel, "—"),
        object_label=account_name,
        object_id="" if override.account_id is None else str(override.account_id),
        account_id=override.account_id,
        account_name=account_name,
        changes=changes,
        note=f"{override.reason} (rep: {rep})",
    )


def _resolution_value(value: Any) -> Any:
    """Return the readable part of a resolved value: a label, head count, amount or place."""
    if not isinstance(value, dict):
        return value
    if value.get("label"):
        return value["label"]
    if value.get("count") is not None:
        return f"{value['count']:,}" if isinstance(value["count"], int) else value["count"]
    if value.get("amount") is not None:
        return f"{value['amount']} {value.get('currency') or ''}".strip()
    if value.get("country"):
        parts = (value.get("city"), value.get("region"), value["country"])
        return ", ".join(part for part in parts if part)
    return value


def _resolution_entry(resolution: FieldResolution, labels: _Labels, user: str) -> TrailEntry:
    chosen_value = _resolution_value(resolution.value)
    observation = resolution.observation
    chosen = (
        f"the {source_label(observation.source)} value"
        if observation is not None
        else "a typed value"
    )
    account_name = labels.get(Account, resolution.account_id)
    return TrailEntry(
        at=resolution.resolved_at,
        source_key=RESOLUTION_SOURCE,
        model_label="Conflict resolution",
        action="Resolved",
        user=user,
        # Resolutions recorded before the channel was stored have an empty channel.
        channel=CHANNEL_LABELS.get(resolution.channel, CHANNEL_NOT_RECORDED),
        object_label=account_name,
        object_id=str(resolution.account_id),
        account_id=resolution.account_id,
        account_name=account_name,
        account_deleted=resolution.account_id in labels.deleted_account_ids,
        changes=[
            Change(
                resolution.get_field_display().lower(),
                _format(resolution.previous_status),
                _format(chosen_value),
            )
        ],
        note=f"{resolution.reason} (chose {chosen})",
    )


def _import_entry(run: ImportRun, user: str) -> TrailEntry:
    summary = (
        f"{run.get_status_display()}: {run.created:,} created, {run.updated:,} updated, "
        f"{run.unchanged:,} unchanged, {run.merged:,} merged, {run.rejected:,} rejected"
    )
    if run.rows_not_reached:
        summary += f", {run.rows_not_reached:,} not reached"
    if run.is_dry_run:
        summary += " (dry run)"
    return TrailEntry(
        at=run.created_at,
        source_key=IMPORT_SOURCE,
        model_label="Import run",
        action="Imported",
        user=user,
        channel=CHANNEL_LABELS[Channel.IMPORT],
        object_label=f"{run.file_name} ({run.source})",
        object_id=str(run.pk),
        note=summary,
    )


def trail_entries(page_rows: list[dict[str, Any]], sources: list[TrailSource]) -> list[TrailEntry]:
    """Build the entries of one page of ``trail_rows`` with a fixed number of queries."""
    by_key = {source.key: source for source in sources}
    wanted: dict[str, list[int]] = defaultdict(list)
    labels = _Labels()
    user_model = get_user_model()
    for row in page_rows:
        wanted[row["trail_source"]].append(row["trail_row"])
        labels.want(user_model, row["trail_user"])

    loaded: dict[str, dict[int, Any]] = {}
    for key, row_ids in wanted.items():
        source = by_key[key]
        if source.is_history:
            loaded[key] = _history_entries(source, row_ids, labels)
        elif source.model is SegmentOverride:
            overrides = SegmentOverride.objects.in_bulk(row_ids)
            for override in overrides.values():
                labels.want(Account, override.account_id)
                labels.want(user_model, override.rep_id)
            loaded[key] = overrides
        elif source.model is FieldResolution:
            resolutions = FieldResolution.objects.select_related("observation").in_bulk(row_ids)
            for resolution in resolutions.values():
                labels.want(Account, resolution.account_id)
            loaded[key] = resolutions
        else:
            loaded[key] = ImportRun.objects.in_bulk(row_ids)
    labels.load()

    entries = []
    for row in page_rows:
        source = by_key[row["trail_source"]]
        record = loaded[source.key].get(row["trail_row"])
        if record is None:
            continue
        user = labels.get(user_model, row["trail_user"], "—")
        if source.is_history:
            entry = _history_entry(source, record, labels, user)
        elif source.model is SegmentOverride:
            entry = _override_entry(record, labels, user)
        elif source.model is FieldResolution:
            entry = _resolution_entry(record, labels, user)
        else:
            entry = _import_entry(record, user)
        entry.username = labels.username(row["trail_user"])
        entries.append(entry)
    return entries


def trail_page(filters: TrailFilter, *, page: int, page_size: int) -> tuple[list[TrailEntry], bool]:
    """Return one page of entries and whether an older page exists.

    The page is found by OFFSET without counting every row, because history tables grow
    with every import.
    """
    sources = trail_sources()
    rows = trail_rows(filters, sources)
    if rows is None:
        return [], False
    offset = (page - 1) * page_size
    rows = trail_rows(filters, sources, limit=offset + page_size + 1)
    page_rows = list(rows[offset : offset + page_size + 1])
    has_next = len(page_rows) > page_size
    return trail_entries(page_rows[:page_size], sources), has_next


def trail_iter(filters: TrailFilter, *, batch_size: int = 1000) -> Iterator[TrailEntry]:
    """Yield every entry that matches the filters, newest first, a batch at a time.

    Each batch continues after the last row of the one before, so a change recorded
    during a long export neither repeats a row nor skips one, and no batch rereads the
    rows before it as OFFSET would.
    """
    sources = trail_sources()
    before = None
    while True:
        rows = trail_rows(filters, sources, before=before, limit=batch_size)
        if rows is None:
            return
        batch = list(rows[:batch_size])
        yield from trail_entries(batch, sources)
        if len(batch) < batch_size:
            return
        last = batch[-1]
        before = TrailPosition(last["trail_at"], last["trail_row"], last["trail_source"])


def trail_subject_authors(user_ids: list[int]) -> list[QuerySet]:
    """Return, per history table with a subject field, the authors of rows about ``user_ids``.

    These are the people outside a team whose changes the team's trail shows (see
    ``TrailFilter``). Each query selects ``history_user_id`` and suits ``pk__in``.
    """
    queries = []
    for source in trail_sources():
        if source.subject_field is None:
            continue
        rows = source.model.objects.filter(**{f"{source.subject_field}__in": user_ids})
        queries.append(rows.exclude(history_user_id=None).values("history_user_id"))
    return queries


def trail_users() -> QuerySet:
    """Return the users who can appear as authors, for the filter's choices."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


__all__ = [
    "Change",
    "TrailEntry",
    "TrailFilter",
    "TrailPosition",
    "TrailSource",
    "deleted_account_names",
    "last_account_history",
    "trail_entries",
    "trail_iter",
    "trail_page",
    "trail_rows",
    "trail_sources",
    "trail_subject_authors",
    "trail_users",
]
