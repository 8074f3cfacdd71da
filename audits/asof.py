"""Account values as they stood at the end of an audited period, read in bulk.

An audit of a past month judges each account by its values at the month's end. Each
account takes the first of these that applies:

1. Nothing has written the account since the end (``updated_at`` and ``scored_at`` are
   before it): its stored values, which include bulk writes that record no history row.
   The same applies when only re-segmentations of every account (a framework approval,
   a full or quarterly run) have written it since: it has no history row at or after
   the end, and ``updated_at`` is either before the end or the time of such a run's
   score record. Tag, tier and framework then come as in rules 2 and 3 below.
2. Its latest history row dated before the end. A deletion row there means the account
   was deleted within the period.
3. It has no history row before the end. When its ``created_at`` is at or after the end,
   or its earliest history row is a creation after the end, it did not exist then and is
   left out. Otherwise the earliest history row after the end is the closest recorded
   state: a baseline row contains the values before the first recorded change. An account
   without any history row is read as stored. When that earliest row is a change ("~")
   without a baseline before it, it contains the values after the change, and the values
   before it were not recorded, so the account is listed in ``unknown_ids`` unchecked.

Re-segmentation stores tag, tier and framework without a history row, but every result
appends a ScoreRecord. So for rules 2 and 3 these three fields come from the latest score
record before the end when that record is newer than the history row or as old as it:
a save and the scoring that it starts can share a timestamp, and the scoring comes second.

Each chunk of accounts costs a fixed number of queries: on PostgreSQL the latest row per
account is one ``DISTINCT ON (id)`` query, elsewhere a correlated subquery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Account
from segmentation.models import ScoreRecord, SegmentationRun

from .baseline import BASELINE_NOTE

# Fields that the latest score record sets, by their name in ScoreRecord.
SCORED_FIELDS = {"tag": "tag", "tier": "tier", "framework_id": "framework_id"}
# The values of SCORED_FIELDS of an account that no score record had scored.
UNSCORED_VALUES = {"tag": "", "tier": "", "framework_id": None}
# Runs that re-score every account and write nothing but the scoring results, without
# history rows. An import's scoring is not among them, because the import itself
# changed the accounts without history rows.
RESEGMENTATION_RUN_KINDS = (
    SegmentationRun.Kind.FULL,
    SegmentationRun.Kind.APPROVAL,
    SegmentationRun.Kind.QUARTERLY,
)


@dataclass
class AccountStates:
    """The values of a chunk of accounts at the end of a period."""

    # One dict per account that existed at the end and still exists, keyed by field name.
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Accounts deleted since (or within the period), so no finding can point to them.
    # Accounts created after the end are in none of the lists.
    deleted_ids: list[int] = field(default_factory=list)
    # Accounts whose values at the end were not recorded: their first history row is a
    # change after the end, written without a baseline row before it.
    unknown_ids: list[int] = field(default_factory=list)


def _latest_per_account(
    queryset: QuerySet, key: str, order: Sequence[str], fields: Sequence[str]
) -> dict[int, dict[str, Any]]:
    """Return the first row per ``key`` of ``queryset`` in ``order``, keyed by ``key``.

    ``order`` must not include ``key``. PostgreSQL reads it with DISTINCT ON, other
    databases with a correlated subquery on the primary key.
    """
    model = queryset.model
    if connection.features.can_distinct_on_fields:
        rows = queryset.order_by(key, *order).distinct(key).values(*fields)
    else:
        pk_name = model._meta.pk.attname
        first = queryset.filter(**{key: OuterRef(key)}).order_by(*order).values(pk_name)[:1]
        rows = queryset.filter(**{pk_name: Subquery(first)}).values(*fields)
    return {row[key]: row for row in rows}


def account_states(
    account_ids: Sequence[int], end: datetime, fields: Sequence[str]
) -> AccountStates:
    """Read ``fields`` of the accounts as they stood just before ``end``.

    ``fields`` are Account attribute names, such as ``owner_id``; each row also has ``id``.
    """
    history = Account.history.model
    stored = {
        row["id"]: row
        for row in Account.objects.filter(id__in=account_ids).values(
            "id", *fields, "created_at", "updated_at", "scored_at"
        )
    }
    states = AccountStates()
    unsettled: list[int] = []
    for account_id in account_ids:
        row = stored.get(account_id)
        if row is not None and row["created_at"] >= end:
            continue
        if row is not None and _unchanged_since(row, end):
            states.rows.append(_only(row, fields))
        else:
            unsettled.append(account_id)
    if not unsettled:
        return states

    history_fields = ("id", *fields, "history_date", "history_type", "history_change_reason")
    before = _latest_per_account(
        history.objects.filter(id__in=unsettled, history_date__lt=end),
        "id",
        ("-history_date", "-history_id"),
        history_fields,
    )
    after = _latest_per_account(
        history.objects.filter(id__in=unsettled, history_date__gte=end),
        "id",
        ("history_date", "history_id"),
        history_fields,
    )
    records = _latest_per_account(
        ScoreRecord.objects.filter(account_id__in=unsettled, created_at__lt=end),
        "account_id",
        ("-created_at", "-id"),
        ("account_id", "created_at", *SCORED_FIELDS.values()),
    )

    rescored_only = _rescored_only(
        [stored[i] for i in unsettled if i in stored and i not in after], end
    )

    for account_id in unsettled:
        earlier, later = before.get(account_id), after.get(account_id)
        if earlier is None and later is not None and _is_creation(later):
            continue
        if account_id not in stored or (earlier is not None and earlier["history_type"] == "-"):
            states.deleted_ids.append(account_id)
        elif earlier is None and later is not None and later["history_type"] == "~":
            # simple-history keeps no values from before a change, only the row before it,
            # and there is none. Reading the row would judge the period by later values.
            states.unknown_ids.append(account_id)
        elif account_id in rescored_only:
            row = _only(stored[account_id], fields)
            _segment_at_end(row, earlier, records.get(account_id))
            states.rows.append(row)
        else:
            # NOTE: a history row before the end misses bulk writes that recorded no
            # history row between it and the end, such as an import's update.
            row = _only(earlier or later or stored[account_id], fields)
            # A history row after the end, or the stored row, is newer than any record
            # before the end, so the record's segment applies.
            recorded_at = earlier["history_date"] if earlier is not None else None
            record = records.get(account_id)
            if record is not None and (recorded_at is None or record["created_at"] >= recorded_at):
                for name, record_name in SCORED_FIELDS.items():
                    if name in row:
                        row[name] = record[record_name]
            states.rows.append(row)
    return states


def _rescored_only(rows: list[dict[str, Any]], end: datetime) -> set[int]:
    """Return the ids of ``rows`` that only re-segmentation runs have written since ``end``.

    ``rows`` are stored accounts without a history row at or after ``end``. A run that
    changes an account's result stamps ``updated_at`` with its score record's time, so an
    ``updated_at`` at another time after the end is a write that recorded no history row.
    """
    if not rows:
        return set()
    record_times: dict[int, set[datetime]] = {row["id"]: set() for row in rows}
    foreign: set[int] = set()
    records = ScoreRecord.objects.filter(
        account_id__in=list(record_times), created_at__gte=end
    ).values_list("account_id", "created_at", "run__kind")
    for account_id, created_at, run_kind in records:
        if run_kind in RESEGMENTATION_RUN_KINDS:
            record_times[account_id].add(created_at)
        else:
            foreign.add(account_id)
    # NOTE: a bulk write without a history row or a score record between the end and a
    # later re-segmentation, such as a verification run's field_status, is not detected.
    return {
        row["id"]
        for row in rows
        if row["id"] not in foreign
        and (row["updated_at"] < end or row["updated_at"] in record_times[row["id"]])
    }


def _segment_at_end(
    row: dict[str, Any], earlier: dict[str, Any] | None, record: dict[str, Any] | None
) -> None:
    """Set the scored fields of ``row`` to their values at the end, in place.

    ``earlier`` is the latest history row before the end and ``record`` the latest score
    record before it. The newer of the two applies, the record on a tie, and without
    either the account was not scored at the end.
    """
    if record is not None and (earlier is None or record["created_at"] >= earlier["history_date"]):
        values = {name: record[record_name] for name, record_name in SCORED_FIELDS.items()}
    elif earlier is not None:
        values = {name: earlier[name] for name in SCORED_FIELDS if name in earlier}
    else:
        values = UNSCORED_VALUES
    for name, value in values.items():
        if name in row:
            row[name] = value


def _unchanged_since(row: dict[str, Any], end: datetime) -> bool:
    scored_at = row["scored_at"]
    return row["updated_at"] < end and (scored_at is None or scored_at < end)


def _is_creation(row: dict[str, Any]) -> bool:
    """Return True for a history row that records the account's creation, not a baseline."""
    return row["history_type"] == "+" and row["history_change_reason"] != BASELINE_NOTE


def _only(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    values = {name: row[name] for name in fields}
    values["id"] = row["id"]
    return values
