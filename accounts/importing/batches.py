"""Write one matched batch: new and changed accounts, identifiers, observations and leads."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model

from accounts.models import Account, AccountIdentifier, Lead
from enrichment.models import Observation

from .matching import AccountState, RowOutcome

# Rows per INSERT or UPDATE statement. On SQLite, Django splits statements further to stay
# under 999 parameters, which is about 24 accounts of about 40 columns each.
WRITE_BATCH_SIZE = 500


def _value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def write_batch(
    outcomes: list[RowOutcome], *, source: str, source_detail: str, now: datetime
) -> list[AccountState]:
    """Save the batch and return its account states, each with a primary key.

    Observations that repeat the account, field, source and value of a stored one are
    not written again, so importing a file twice adds nothing the second time.
    """
    states = list({id(outcome.state): outcome.state for outcome in outcomes}.values())

    new_accounts = [state.account for state in states if state.is_new]
    for account in new_accounts:
        account.created_at = now
        account.updated_at = now
    create_accounts(new_accounts)

    changed = [state for state in states if not state.is_new and state.changed_fields]
    if changed:
        fields = set().union(*(state.changed_fields for state in changed)) | {"updated_at"}
        for state in changed:
            state.account.updated_at = now
        Account.objects.bulk_update(
            [state.account for state in changed], sorted(fields), batch_size=WRITE_BATCH_SIZE
        )

    identifiers = [
        AccountIdentifier(account=state.account, kind=kind, value=value)
        for state in states
        for kind, value in state.new_identifiers
    ]
    # A concurrent import may have stored the same identifier since the batch was matched.
    AccountIdentifier.objects.bulk_create(
        identifiers, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True
    )

    _write_observations(outcomes, states, source=source, source_detail=source_detail, now=now)
    _write_leads(outcomes, states, source=source)
    return states


def _write_observations(
    outcomes: list[RowOutcome],
    states: list[AccountState],
    *,
    source: str,
    source_detail: str,
    now: datetime,
) -> None:
    existing_ids = [state.account.pk for state in states if not state.is_new]
    seen: set[tuple[int, str, str]] = set()
    if existing_ids:
        for account_id, field_name, value in Observation.objects.filter(
            account_id__in=existing_ids, source=source
        ).values_list("account_id", "field", "value"):
            seen.add((account_id, field_name, _value_key(value)))

    rows = []
    for outcome in outcomes:
        account_id = outcome.state.account.pk
        for field_name, value, raw in outcome.row.observations:
            value_key = _value_key(value)
            key = (account_id, field_name, value_key)
            if key in seen:
                continue
            seen.add(key)
            json_value = None if value is None else value_key
            rows.append((account_id, field_name, json_value, raw, source, source_detail, now))
    insert_rows(
        Observation,
        ["account", "field", "value", "raw_value", "source", "source_detail", "observed_at"],
        rows,
    )


def insert_rows(model: type[Model], field_names: list[str], rows: list[Sequence[Any]]) -> None:
    """Insert plain rows of text, numbers, None and datetimes, without model instances.

    Observations are the largest part of an import, and building model instances for
    bulk_create takes several times longer than the insert. PostgreSQL gets one COPY
    statement and other databases get executemany. JSON values must already be JSON text.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in field_names]
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        raw_cursor = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw_cursor, "copy_expert"):
            buffer = io.StringIO()
            for row in rows:
                buffer.write(",".join(_copy_csv_field(value) for value in row))
                buffer.write("\n")
            buffer.seek(0)
            # Raise driver errors such as a unique violation as django.db errors.
            with connection.wrap_database_errors:
                raw_cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer
                )
            return
        datetime_indexes = [
            index
            for index, field in enumerate(fields)
            if field.get_internal_type() == "DateTimeField"
        ]
        if datetime_indexes:
            rows = [_adapt_datetimes(row, datetime_indexes, connection) for row in rows]
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def create_accounts(accounts: list[Account]) -> None:
    """Insert new accounts and set their primary keys.

    On PostgreSQL the ids are taken from the table's sequence in one query and the rows
    go in with COPY, which is several times faster than bulk_create for wide rows.
    """
    if not accounts:
        return
    connection = connections[router.db_for_write(Account)]
    if connection.vendor != "postgresql" or not _can_copy(connection):
        Account.objects.bulk_create(accounts, batch_size=WRITE_BATCH_SIZE)
        return

    meta = Account._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(accounts)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for account, account_id in zip(accounts, ids, strict=True):
        account.pk = account_id
        account._state.adding = False
        account._state.db = connection.alias

    fields = meta.concrete_fields
    json_fields = {field.attname for field in fields if field.get_internal_type() == "JSONField"}
    rows = []
    for account in accounts:
        row = []
        for field in fields:
            value = getattr(account, field.attname)
            if field.attname in json_fields and value is not None:
                value = json.dumps(value, cls=field.encoder)
            row.append(value)
        rows.append(row)
    insert_rows(Account, [field.name for field in fields], rows)


def _can_copy(connection: Any) -> bool:
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


def _copy_csv_field(value: Any) -> str:
    # COPY's CSV format reads an unquoted empty field as NULL and a quoted one as "".
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.isoformat()
    return '"' + str(value).replace('"', '""') + '"'


def _adapt_datetimes(row: Sequence[Any], indexes: list[int], connection: Any) -> list[Any]:
    adapted = list(row)
    for index in indexes:
        adapted[index] = connection.ops.adapt_datetimefield_value(adapted[index])
    return adapted


def _lead_key(account_id: int, email: str, first_name: str, last_name: str) -> tuple:
    if email:
        return (account_id, email.casefold())
    return (account_id, "", first_name.casefold(), last_name.casefold())


def _write_leads(outcomes: list[RowOutcome], states: list[AccountState], *, source: str) -> None:
    with_leads = [outcome for outcome in outcomes if outcome.row.lead]
    if not with_leads:
        return
    existing_ids = {state.account.pk for state in states if not state.is_new}
    seen = {
        _lead_key(*lead)
        for lead in Lead.objects.filter(account_id__in=existing_ids).values_list(
            "account_id", "email", "first_name", "last_name"
        )
    }

    leads = []
    for outcome in with_leads:
        lead = outcome.row.lead
        account = outcome.state.account
        key = _lead_key(account.pk, lead["email"], lead["first_name"], lead["last_name"])
        if key in seen:
            continue
        seen.add(key)
        leads.append(Lead(account=account, source=source, **lead))
    Lead.objects.bulk_create(leads, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True)
