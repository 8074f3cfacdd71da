"""Match a batch of parsed rows to existing accounts and merge their values.

Rows are matched in this order, against the database and the rows before them in the file:

1. an identifier (CIK, Y Combinator id, CRM id, LinkedIn page, profile, ticker);
2. the normalized domain;
3. the company name key and the country, against accounts whose domain is empty, equal or
   not known on one side.

An account that has an identifier of the same kind with another value never matches by
domain or name, because the two identifiers name two companies. Loading the candidates of
a batch takes at most four queries, however many rows the batch has, plus two on
PostgreSQL that turn sequential scans off and on again.

Accounts are held as AccountRecord objects with only the fields an import reads and
writes, because creating Django model instances with every Account field takes longer
than matching and merging a row.

While the previous batch is still being written, a batch can be matched on a second
connection that does not see those rows yet. The matcher then also looks the batch's keys
up in that PendingBatch, so a company in two consecutive batches still merges.

The rows of one file are one source. When a row merges into an account that an earlier
row of the same file gave a value of a verified field (industry, company size, revenue,
country), and the two values disagree by verification's rules, the row raises a review
flag that names the field, both values and both lines (see file_conflict_flag).
"""

from __future__ import annotations

import json
import marshal
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Model, Q
from django.db.models.expressions import RawSQL

from accounts.models import (
    REVIEW_FLAG_IMPORT_KEY,
    REVIEW_FLAG_LINES_KEY,
    Account,
    AccountIdentifier,
)
from accounts.normalizers import technology_key
from accounts.normalizers.errors import visible_controls
from enrichment import verification

from .rows import ParsedRow
from .rows import flag as review_flag

# Observation fields that two rows of one file are compared on, and the verified field
# whose agreement rule compares them. Other fields are not verified, so they are not
# compared: technologies are added up, and a later description is recorded as is.
COMPARED_FIELDS = {
    observation_field: verified_field
    for verified_field, observation_field in verification.VERIFIED_FIELDS.items()
    if verified_field != "technologies"
}

# Observation field -> (line, value as JSON text, raw text) of the first row of the file
# that reported it for one account.
FileValues = dict[str, tuple[int, str, str]]


def pack_file_values(first_line: int, values: FileValues) -> bytes:
    """Pack an account's first line in the file and its FileValues into one bytes object.

    An import keeps this for every account it reached until it ends. Packed with marshal,
    an entry of four fields took about 310 bytes in a test of 100,000 entries, against
    about 730 as a tuple holding a dict of tuples.
    """
    items = tuple((name, line, value, raw) for name, (line, value, raw) in values.items())
    return marshal.dumps((first_line, items))


def unpack_file_values(packed: bytes) -> tuple[int, FileValues]:
    """Return the first line and FileValues that pack_file_values packed."""
    first_line, items = marshal.loads(packed)
    return first_line, {name: (line, value, raw) for name, line, value, raw in items}


# Identifier kinds tried first to last. Tickers come last because exchanges reuse them.
IDENTIFIER_PRIORITY = ("cik", "yc", "crm", "linkedin", "profile", "ticker")

CREATED = "created"
UPDATED = "updated"
# A row that matched an account from before the run and changed nothing stored: no field,
# identifier, flag, lead or observation value that the account did not have. The batch
# writer sets it (mark_unchanged), because only its reads find the stored observations.
UNCHANGED = "unchanged"
MERGED = "merged"

# Ways a row finds its account, in the order _match tries them.
MATCHED_BY_IDENTIFIER = "identifier"
MATCHED_BY_DOMAIN = "domain"
MATCHED_BY_NAME = "name"


@dataclass(slots=True, eq=False)
class AccountRecord:
    """The Account fields that an import reads, matches on or writes, with the primary key.

    ``pk`` is None until the account is saved. The defaults are those of the Account model.
    """

    pk: int | None
    name: str
    name_key: str
    domain: str = ""
    website: str = ""
    industry_raw: str = ""
    industry_id: int | None = None
    employee_count: int | None = None
    employee_min: int | None = None
    employee_max: int | None = None
    employee_raw: str = ""
    employee_approximate: bool = False
    annual_revenue_usd: Decimal | None = None
    revenue_amount: Decimal | None = None
    revenue_currency: str = ""
    revenue_raw: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    technologies: list[str] = field(default_factory=list)
    buying_signals: list[str] = field(default_factory=list)
    description: str = ""
    source: str = ""
    review_flags: list[dict[str, str]] = field(default_factory=list)
    reviewed_flags: list[dict[str, Any]] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """Return the IMPORT_FIELDS by attribute name."""
        return {name: getattr(self, name) for name in IMPORT_FIELDS}


# Account fields, by attribute name, that an import reads, matches on or writes.
IMPORT_FIELDS = tuple(item.name for item in fields(AccountRecord) if item.name != "pk")


@dataclass(slots=True, eq=False)
class AccountState:
    """Account loaded or created for one batch, with its identifiers and pending changes.

    ``changed_fields`` are the fields merged rows changed on an account loaded from the
    database, which the writer updates. ``first_line`` is the line of the file's first
    row of the account in this batch or an earlier one. ``file_values`` contains the
    values of COMPARED_FIELDS that the file's rows gave the account first, and
    ``file_conflicts`` the fields that a disagreeing row of this batch flagged.
    """

    account: AccountRecord
    identifiers: dict[str, set[str]]
    is_new: bool
    touched_earlier: bool = False
    applied_rows: int = 0
    new_identifiers: list[tuple[str, str]] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    first_line: int | None = None
    file_values: FileValues = field(default_factory=dict)
    file_conflicts: set[str] = field(default_factory=set)

    def conflicts_with(self, row: ParsedRow) -> bool:
        """Return True when the account has other values for one of the row's identifier kinds.

        An account may hold several tickers (GOOGL and GOOG), so a ticker conflicts only
        when none of the account's tickers equals the row's.
        """
        for kind, value in row.identifiers:
            values = self.identifiers.get(kind)
            if values and value not in values:
                return True
        return False


@dataclass
class RowOutcome:
    """Result of one row: the account it created or changed, and how the row counts.

    ``changed_account`` is True when merging the row changed a field of the account or
    added an identifier or flag to it. ``recorded_new`` is True when the row adds an
    observation or lead that the account did not have. The batch writer sets it.
    """

    row: ParsedRow
    state: AccountState
    outcome: str
    changed_account: bool = True
    recorded_new: bool = False


def mark_unchanged(outcomes: list[RowOutcome]) -> None:
    """Count the rows that matched an existing account and stored nothing new as UNCHANGED.

    Call it once the batch's new observations and leads have been found, which sets
    ``recorded_new``.
    """
    for outcome in outcomes:
        if outcome.outcome == UPDATED and not (outcome.changed_account or outcome.recorded_new):
            outcome.outcome = UNCHANGED


class PendingBatch:
    """A prepared batch whose write has not committed yet, for matching the next batch.

    Every state of ``outcomes`` must have its primary key. The states are shared with the
    writer thread, which reads them while it writes, so the next batch merges its rows
    into copies of them (``carry``).
    """

    def __init__(self, outcomes: list[RowOutcome]) -> None:
        self.states: dict[int, AccountState] = {}
        self.outcomes: dict[int, list[RowOutcome]] = defaultdict(list)
        for outcome in outcomes:
            account_id = outcome.state.account.pk
            if account_id is None:
                raise ValueError(
                    f"the account of line {outcome.row.line} has no primary key: prepare "
                    "the batch before matching the next one against it."
                )
            self.states[account_id] = outcome.state
            self.outcomes[account_id].append(outcome)

        self.by_identifier: dict[tuple[str, str], int] = {}
        self.by_domain: dict[str, int] = {}
        self.by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
        for account_id, state in self.states.items():
            account = state.account
            for kind, values in state.identifiers.items():
                for value in values:
                    self.by_identifier[(kind, value)] = account_id
            if account.domain:
                self.by_domain[account.domain] = account_id
            if account.name_key:
                self.by_name[(account.name_key, account.country)].append(account_id)

    def candidate_ids(
        self,
        identifier_keys: dict[str, set[str]],
        domains: set[str],
        name_pairs: set[tuple[str, str]],
    ) -> set[int]:
        """Return the batch's accounts that the database queries of the matcher would load."""
        ids = set()
        for kind, values in identifier_keys.items():
            for value in values:
                account_id = self.by_identifier.get((kind, value))
                if account_id is not None:
                    ids.add(account_id)
        for domain in domains:
            account_id = self.by_domain.get(domain)
            if account_id is not None:
                ids.add(account_id)
        for pair in name_pairs:
            ids.update(self.by_name.get(pair, ()))
        return ids

    def carry(self, account_id: int) -> AccountState:
        """Return a copy of the account's state as the next batch loads it once written."""
        state = self.states[account_id]
        return AccountState(
            account=replace(state.account),
            identifiers={kind: set(values) for kind, values in state.identifiers.items()},
            is_new=False,
            touched_earlier=True,
            first_line=state.first_line,
            file_values=dict(state.file_values),
        )


class BatchMatcher:
    """Matcher that resolves one batch of rows to account states, creating new ones as needed.

    With ``pending``, the batch is matched against that unwritten batch as well as the
    database, and its accounts win over the database's rows of the same accounts. With
    ``import_run_id``, every review flag that merging adds records that import.
    ``preview`` words the flags for a preview, which writes nothing. ``file_rows`` maps
    the ids of accounts that earlier batches of the file reached to the first line and
    the file_values of each, packed by pack_file_values (FileImporter.file_rows).
    """

    def __init__(
        self,
        rows: list[ParsedRow],
        *,
        source: str,
        touched_ids: set[int],
        pending: PendingBatch | None = None,
        import_run_id: int | None = None,
        preview: bool = False,
        file_rows: dict[int, bytes] | None = None,
    ) -> None:
        self.rows = rows
        self.source = source
        self.import_run_id = import_run_id
        self.preview = preview
        self.touched_ids = touched_ids
        self.pending = pending
        self.file_rows = file_rows if file_rows is not None else {}
        # Built at the first comparison, because it reads the approved size bands.
        self._comparison_context: verification.VerificationContext | None = None
        self.by_identifier: dict[tuple[str, str], AccountState] = {}
        self.by_domain: dict[str, AccountState] = {}
        self.by_name: dict[str, list[AccountState]] = defaultdict(list)
        self.states: list[AccountState] = []

    def run(self) -> list[RowOutcome]:
        """Load the candidates, then match and merge every row in file order."""
        with _index_scans_preferred():
            self._load_candidates()
        outcomes = []
        # Accounts that got a name flag from this batch. One flag per account and import
        # is enough for a person to look, and a file of 60,000 rows on one domain under
        # as many names would otherwise store 60,000 flags on one account.
        name_flagged: set[int] = set()
        for row in self.rows:
            state, matched_by = self._match(row)
            extra_flags = []
            if state is None:
                state = self._create_state(row)
                outcome = CREATED
            elif state.is_new or state.touched_earlier or state.applied_rows:
                outcome = MERGED
            else:
                outcome = UPDATED
            # Every row that reaches an account from before this run by its domain is
            # compared until one of them raises a flag on that account.
            if (
                state is not None
                and not state.is_new
                and matched_by == MATCHED_BY_DOMAIN
                and id(state) not in name_flagged
                and not _name_flagged_by(state.account, self.import_run_id)
            ):
                extra_flags = name_mismatch_flags(state, row, preview=self.preview)
                if extra_flags:
                    name_flagged.add(id(state))
            file_flags = self._file_conflict_flags(state, row)
            merge_row(state, row, self, extra_flags=extra_flags, file_flags=file_flags)
            if state.first_line is None:
                state.first_line = row.line
            state.applied_rows += 1
            # An UPDATED row is the first of the run to reach its account, so every
            # change pending on the account is the row's own.
            changed_account = bool(state.changed_fields or state.new_identifiers or row.added_flags)
            outcomes.append(RowOutcome(row, state, outcome, changed_account=changed_account))
        return outcomes

    def _file_conflict_flags(self, state: AccountState, row: ParsedRow) -> list[dict[str, Any]]:
        """Compare the row with the file's earlier rows of the account and flag disagreements.

        Records the row's values of fields that no earlier row reported. At most one flag
        per account, field and import is raised, as for name flags, so a file with many
        rows of one company under changing head counts flags it once.
        """
        flags = []
        for field_name, value, raw in row.observations:
            verified_field = COMPARED_FIELDS.get(field_name)
            if verified_field is None or value is None:
                continue
            earlier = state.file_values.get(field_name)
            if earlier is None:
                state.file_values[field_name] = (row.line, value, raw)
                continue
            earlier_line, earlier_value, earlier_raw = earlier
            if value == earlier_value or field_name in state.file_conflicts:
                continue
            if _file_conflict_flagged_by(state.account, field_name, self.import_run_id):
                continue
            if self._values_agree(field_name, verified_field, earlier_value, value):
                continue
            state.file_conflicts.add(field_name)
            flags.append(
                file_conflict_flag(
                    field_name,
                    (earlier_line, earlier_raw),
                    (row.line, raw),
                    preview=self.preview,
                )
            )
        return flags

    def _values_agree(self, field_name: str, verified_field: str, first: str, second: str) -> bool:
        """Return True when two observation values (JSON text) agree, or cannot be compared.

        Verification's rules decide, with its tolerances, so a head count of 100 and one of
        110 agree, and an industry label that maps to no canonical industry is not compared.
        """
        first_value = json.loads(first)
        second_value = json.loads(second)
        if not (
            verification.is_usable(field_name, first_value)
            and verification.is_usable(field_name, second_value)
            and verification.is_comparable(verified_field, first_value)
            and verification.is_comparable(verified_field, second_value)
        ):
            return True
        if self._comparison_context is None:
            from enrichment.services import comparison_context

            self._comparison_context = comparison_context()
        return verification.values_agree(
            verified_field, first_value, second_value, self._comparison_context
        )

    def _load_candidates(self) -> None:
        identifier_keys: dict[str, set[str]] = defaultdict(set)
        domains: set[str] = set()
        name_pairs: set[tuple[str, str]] = set()
        for row in self.rows:
            for kind, value in row.identifiers:
                identifier_keys[kind].add(value)
            if row.domain:
                domains.add(row.domain)
            if row.name_key:
                name_pairs.add((row.name_key, row.country))

        connection = connections[router.db_for_read(Account)]
        account_ids: set[int] = set()
        identifier_owner: dict[tuple[str, str], int] = {}
        if identifier_keys:
            condition = Q()
            for kind, values in identifier_keys.items():
                condition |= Q(kind=kind) & _one_of(connection, AccountIdentifier, "value", values)
            for kind, value, account_id in AccountIdentifier.objects.filter(condition).values_list(
                "kind", "value", "account_id"
            ):
                identifier_owner[(kind, value)] = account_id
                account_ids.add(account_id)

        if name_pairs:
            # Common names recur in many countries, so only the ids are read here and
            # only accounts with the row's exact name key and country are loaded below.
            # The country is compared here, not in SQL, so the name_key index decides.
            names = Account.objects.filter(
                _one_of(
                    connection,
                    Account,
                    "name_key",
                    {name_key for name_key, _country in name_pairs},
                )
            ).order_by()
            for account_id, name_key, country in names.values_list("id", "name_key", "country"):
                if (name_key, country) in name_pairs:
                    account_ids.add(account_id)

        lookup = _one_of(connection, Account, "id", account_ids)
        if domains:
            # The empty domain is excluded to repeat the condition of the unique partial
            # index on domain, so PostgreSQL uses that index for a long list of domains.
            lookup |= _one_of(connection, Account, "domain", domains) & ~Q(domain="")
        records: dict[int, AccountRecord] = {}
        if account_ids or domains:
            for values in (
                Account.objects.filter(lookup).order_by().values_list("pk", *IMPORT_FIELDS)
            ):
                records[values[0]] = AccountRecord(*values)

        # The pending batch's states are newer than the database's rows of their accounts.
        carried: set[int] = set()
        if self.pending is not None:
            carried = self.pending.candidate_ids(identifier_keys, domains, name_pairs)
            carried.update(records.keys() & self.pending.states.keys())

        identifiers: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        loaded_ids = [account_id for account_id in records if account_id not in carried]
        if loaded_ids:
            for account_id, kind, value in AccountIdentifier.objects.filter(
                _one_of(connection, AccountIdentifier, "account", loaded_ids)
            ).values_list("account_id", "kind", "value"):
                identifiers[account_id][kind].add(value)

        # Oldest account first, so that of two accounts with the same name key and
        # country, the older one matches, however the rows were loaded.
        states_by_id: dict[int, AccountState] = {}
        for account_id in sorted(records.keys() | carried):
            if account_id in carried:
                state = self.pending.carry(account_id)
            else:
                state = AccountState(
                    account=records[account_id],
                    identifiers=dict(identifiers[account_id]),
                    is_new=False,
                    touched_earlier=account_id in self.touched_ids,
                )
                packed = self.file_rows.get(account_id)
                if packed is not None:
                    state.first_line, state.file_values = unpack_file_values(packed)
            states_by_id[account_id] = state
            self.states.append(state)
            self._index_state(state)
        for key, account_id in identifier_owner.items():
            self.by_identifier[key] = states_by_id[account_id]

    def _index_state(self, state: AccountState) -> None:
        account = state.account
        for kind, values in state.identifiers.items():
            for value in values:
                self.by_identifier[(kind, value)] = state
        if account.domain:
            self.by_domain[account.domain] = state
        if account.name_key:
            self.by_name[account.name_key].append(state)

    def _match(self, row: ParsedRow) -> tuple[AccountState | None, str]:
        """Return the row's account, or None, and how it matched (MATCHED_BY_*)."""
        if row.identifiers:
            row_identifiers = dict(row.identifiers)
            for kind in IDENTIFIER_PRIORITY:
                value = row_identifiers.get(kind)
                state = self.by_identifier.get((kind, value)) if value else None
                if state is not None:
                    return state, MATCHED_BY_IDENTIFIER

        if row.domain:
            state = self.by_domain.get(row.domain)
            if state is not None and not state.conflicts_with(row):
                return state, MATCHED_BY_DOMAIN

        # NOTE: two companies with the same name key and country merge when one of them has
        # no website, as YC's "The Flex Company" does with the S&P's Flex Ltd.
        if row.name_key:
            for state in self.by_name.get(row.name_key, ()):
                account = state.account
                if account.country != row.country:
                    continue
                if account.domain and row.domain and account.domain != row.domain:
                    continue
                if state.conflicts_with(row):
                    continue
                return state, MATCHED_BY_NAME
        return None, ""

    def _create_state(self, row: ParsedRow) -> AccountState:
        account = AccountRecord(None, row.name, row.name_key, source=self.source)
        state = AccountState(account=account, identifiers={}, is_new=True)
        self.states.append(state)
        if row.name_key:
            self.by_name[row.name_key].append(state)
        return state

    def claim_domain(self, state: AccountState, domain: str) -> AccountState | None:
        """Give the domain to the state unless another account has it.

        Return that other account, or None when the state has the domain now.
        """
        holder = self.by_domain.get(domain)
        if holder is not None and holder is not state:
            return holder
        self.by_domain[domain] = state
        return None

    def claim_identifier(self, state: AccountState, kind: str, value: str) -> AccountState | None:
        """Add the identifier to the state unless another account has it.

        Return that other account, or None when the state has the identifier now.
        """
        holder = self.by_identifier.get((kind, value))
        if holder is not None and holder is not state:
            return holder
        if holder is None:
            self.by_identifier[(kind, value)] = state
            state.identifiers.setdefault(kind, set()).add(value)
            state.new_identifiers.append((kind, value))
        return None


def _one_of(
    connection: BaseDatabaseWrapper, model: type[Model], field_name: str, values: Iterable[Any]
) -> Q:
    """Return the condition that the field equals one of the values.

    On PostgreSQL the values are one array parameter (``= ANY(%s)``), because Django
    prepares each value of an ``__in`` list separately, which took longer than the
    query for the few thousand keys of a batch.
    """
    if connection.vendor != "postgresql":
        return Q(**{f"{field_name}__in": values})
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    return Q(RawSQL(f"{column} = ANY(%s)", (list(values),), output_field=BooleanField()))


@contextmanager
def _index_scans_preferred() -> Iterator[None]:
    """Discourage sequential scans on PostgreSQL until the end of the block.

    The candidate queries look up a batch's keys, a few thousand of them, and PostgreSQL's
    default costs (4 random page reads per index probe) make it scan the whole account
    table instead. The index lookups take a fraction of that time, and more so as the
    table grows. The setting is local to the transaction and restored afterwards.
    """
    connection = connections[router.db_for_read(Account)]
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
        )
        previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])


def _set(state: AccountState, name: str, value: Any) -> None:
    if getattr(state.account, name) != value:
        setattr(state.account, name, value)
        state.changed_fields.add(name)


def merge_row(
    state: AccountState,
    row: ParsedRow,
    matcher: BatchMatcher,
    *,
    extra_flags: Sequence[dict[str, str]] = (),
    file_flags: Sequence[dict[str, Any]] = (),
) -> None:
    """Fill the account's empty fields from the row and add the row's identifiers and flags.

    ``extra_flags`` are flags that matching raised for the row, added after the row's own,
    and raised again when an earlier import raised them. ``file_flags`` are flags of
    values that disagree with an earlier row of the file, added after those. A value
    that differs from a non-empty current value is not written to the account. It is
    kept as an observation, and verification compares it with the other sources.
    """
    if state.is_new and state.applied_rows == 0:
        _merge_first_row(state, row, matcher, extra_flags)
    else:
        _merge_row(state, row, matcher, extra_flags, file_flags)


def _file_conflict_flagged_by(
    account: AccountRecord, field_name: str, import_run_id: int | None
) -> bool:
    """Return whether an earlier batch of the same import flagged a file conflict of the field."""
    if import_run_id is None:
        return False
    return any(
        flag.get("field") == field_name
        and flag.get(REVIEW_FLAG_IMPORT_KEY) == import_run_id
        and REVIEW_FLAG_LINES_KEY in flag
        for flag in account.review_flags or []
        if isinstance(flag, dict)
    )


def file_conflict_flag(
    field_name: str,
    earlier: tuple[int, str],
    later: tuple[int, str],
    *,
    preview: bool = False,
) -> dict[str, Any]:
    """Build the review flag of a row whose value disagrees with an earlier row of the file.

    ``earlier`` and ``later`` are (line, raw text). The flag's value is the later row's
    raw text, and REVIEW_FLAG_LINES_KEY stores both lines.
    """
    earlier_line, earlier_raw = earlier
    line, raw = later
    recorded = "will be recorded" if preview else "were recorded"
    message = (
        f'line {line} gives {field_name} "{visible_controls(raw)}", but line {earlier_line} of '
        f'the same file gave "{visible_controls(earlier_raw)}" for this account. Rows of one '
        f"file count as one source, so the import cannot tell which is right, and both "
        f"values {recorded} as its observations. Save the right value, or mark this flag "
        "reviewed."
    )
    return {**review_flag(field_name, raw, message), REVIEW_FLAG_LINES_KEY: [earlier_line, line]}


def _name_flagged_by(account: AccountRecord, import_run_id: int | None) -> bool:
    """Return whether an earlier batch of the same import put a name flag on the account."""
    if import_run_id is None:
        return False
    return any(
        flag.get("field") == "name" and flag.get(REVIEW_FLAG_IMPORT_KEY) == import_run_id
        for flag in account.review_flags or []
    )


def name_mismatch_flags(
    state: AccountState, row: ParsedRow, *, preview: bool = False
) -> list[dict[str, str]]:
    """Return a review flag when the row's company name differs from its account's.

    Name keys drop legal forms and punctuation, so "Microsoft Corp" and "Microsoft
    Corporation" agree. A row that matched by domain under another name is often a
    subsidiary on a subdomain (Amazon Web Services on aws.amazon.com), whose values
    would otherwise count as a second source for the parent company. With ``preview``,
    the message describes what the import will do instead of what it did.
    """
    account = state.account
    if not row.name_key or not account.name_key:
        return []
    if _name_forms(row.name_key, row.domain) & _name_forms(account.name_key, row.domain):
        return []
    website = row.values.get("website") or row.domain
    recorded = (
        "Its values will be recorded as observations of this account."
        if preview
        else "Its values were recorded as observations of this account."
    )
    return [
        {
            "field": "name",
            "value": row.name,
            "message": (
                f'the row\'s company name "{row.name}" differs from the name of account '
                f'"{account.name}", which it matched by the domain {row.domain} '
                f"(website {website}). Check whether the row is a subsidiary or another "
                f"company. {recorded}"
            ),
        }
    ]


def _name_forms(name_key: str, domain: str) -> set[str]:
    """Return the forms of a name key that count as the same name on the domain.

    Spaces are dropped ("data dog" is "datadog"), and a name that spells out the
    domain, such as "Amazon.com" (key "amazoncom") on amazon.com, also counts as the
    domain's first label, "amazon".
    """
    squashed = name_key.replace(" ", "")
    forms = {squashed}
    if domain and squashed == domain.replace(".", ""):
        forms.add(domain.split(".", 1)[0])
    return forms


def _merge_first_row(
    state: AccountState,
    row: ParsedRow,
    matcher: BatchMatcher,
    extra_flags: Sequence[dict[str, str]] = (),
) -> None:
    """Do what _merge_row does, faster, for a new account whose fields have their defaults.

    It does not record changed_fields, which only the update of existing accounts reads.
    """
    account = state.account
    values = row.values
    flags = _claim_keys(state, row, matcher, extra_flags)

    if values.get("website"):
        account.website = values["website"]
    if values.get("description"):
        account.description = values["description"]

    industry_id = values.get("industry_id")
    if industry_id is not None:
        account.industry_id = industry_id
        account.industry_raw = values.get("industry_raw", "")
    elif values.get("industry_raw"):
        account.industry_raw = values["industry_raw"]

    if values.get("employee_count") is not None:
        account.employee_count = values["employee_count"]
        account.employee_min = values.get("employee_min")
        account.employee_max = values.get("employee_max")
        account.employee_approximate = values.get("employee_approximate")
        account.employee_raw = values.get("employee_raw")
    elif values.get("employee_raw"):
        account.employee_raw = values["employee_raw"]

    if values.get("revenue_amount") is not None:
        account.revenue_amount = values["revenue_amount"]
        account.revenue_currency = values["revenue_currency"]
        account.annual_revenue_usd = values["annual_revenue_usd"]
        account.revenue_raw = values["revenue_raw"]
    elif values.get("revenue_raw"):
        account.revenue_raw = values["revenue_raw"]

    country = values.get("country", "")
    region = values.get("region", "")
    city = values.get("city", "")
    if country or region or city:
        account.country = country
        account.region = region
        account.city = city

    if values.get("technologies"):
        account.technologies = list(values["technologies"])
    if values.get("buying_signals"):
        account.buying_signals = list(values["buying_signals"])
    if flags:
        account.review_flags = list(flags)
    row.added_flags = flags


def _claim_keys(
    state: AccountState,
    row: ParsedRow,
    matcher: BatchMatcher,
    extra_flags: Sequence[dict[str, str]] = (),
) -> list[dict[str, Any]]:
    """Give the row's domain and identifiers to the account unless another account has them.

    Returns the row's flags plus one for each domain or identifier left out, each with the
    matcher's import id under REVIEW_FLAG_IMPORT_KEY when it has one.
    """
    account = state.account
    flags = [*row.flags, *extra_flags]
    if row.domain and not account.domain:
        holder = matcher.claim_domain(state, row.domain)
        if holder is None:
            _set(state, "domain", row.domain)
        else:
            flags.append(
                {
                    "field": "domain",
                    "value": row.domain,
                    "message": (
                        f"domain {row.domain} already belongs to account "
                        f'"{holder.account.name}", so this account was saved without it. '
                        "Check whether the two are one company."
                    ),
                }
            )

    for kind, value in row.identifiers:
        holder = matcher.claim_identifier(state, kind, value)
        if holder is not None:
            flags.append(
                {
                    "field": kind,
                    "value": value,
                    "message": (
                        f'identifier {kind} {value} already belongs to account "'
                        f'{holder.account.name}", so it was not added to this account.'
                    ),
                }
            )
    if matcher.import_run_id is not None and flags:
        # Rows of one file share their flag dicts, so each flag is copied, not changed.
        flags = [{**flag, REVIEW_FLAG_IMPORT_KEY: matcher.import_run_id} for flag in flags]
    return flags


def _merge_row(
    state: AccountState,
    row: ParsedRow,
    matcher: BatchMatcher,
    extra_flags: Sequence[dict[str, str]] = (),
    file_flags: Sequence[dict[str, Any]] = (),
) -> None:
    account = state.account
    values = row.values
    flags = _claim_keys(state, row, matcher, [*extra_flags, *file_flags])

    for name in ("website", "description"):
        if values.get(name) and not getattr(account, name):
            _set(state, name, values[name])

    _merge_industry(state, values)
    if values.get("employee_count") is not None and account.employee_count is None:
        for name in (
            "employee_count",
            "employee_min",
            "employee_max",
            "employee_approximate",
            "employee_raw",
        ):
            _set(state, name, values.get(name))
    elif values.get("employee_raw") and account.employee_count is None and not account.employee_raw:
        _set(state, "employee_raw", values["employee_raw"])
    _merge_revenue(state, values)
    _merge_location(state, values)

    # An account can still list AT&amp;T from before imports decoded references, so
    # technologies are compared by technology_key and a new AT&T adds nothing.
    if values.get("technologies"):
        current = {technology_key(str(item)) for item in account.technologies}
        additions = [item for item in values["technologies"] if technology_key(item) not in current]
        if additions:
            _set(state, "technologies", [*account.technologies, *additions])
    additions = [
        item for item in values.get("buying_signals", []) if item not in account.buying_signals
    ]
    if additions:
        _set(state, "buying_signals", [*account.buying_signals, *additions])

    review_flags, new_flags = _flags_merged(
        account.review_flags, flags, extra_flags, matcher, account.reviewed_flags
    )
    if review_flags != account.review_flags:
        _set(state, "review_flags", review_flags)
    row.added_flags = new_flags


def reviewed_flag_keys(reviewed: Sequence[Any]) -> set[tuple[str, str]]:
    """Return the (field, value) pairs of an account's reviewed_flags, which imports skip."""
    return {
        (record.get("field") or "", record.get("value") or "")
        for record in reviewed
        if isinstance(record, dict)
    }


def _flags_merged(
    current: list[dict[str, Any]],
    flags: list[dict[str, Any]],
    extra_flags: Sequence[dict[str, str]],
    matcher: BatchMatcher,
    reviewed: Sequence[dict[str, Any]] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the account's flags with the row's merged in, and the flags the row raised.

    A flag is one per field and value, so a flag already on the account is not added
    again, and a flag that a person marked reviewed (``reviewed``, the account's
    reviewed_flags) is not raised again. A matching flag (``extra_flags``, such as
    another company name) that an earlier import raised and nobody has reviewed is
    raised again instead: it replaces the earlier flag in place, records this import,
    and counts as the row's flag.
    """
    merged = list(current)
    position = {(flag.get("field"), flag.get("value")): index for index, flag in enumerate(merged)}
    reviewed_keys = reviewed_flag_keys(reviewed)
    raised_again = {(flag["field"], flag["value"]) for flag in extra_flags}
    new_flags = []
    for flag in flags:
        key = (flag["field"], flag["value"])
        if key in reviewed_keys:
            continue
        index = position.get(key)
        if index is None:
            position[key] = len(merged)
            merged.append(flag)
            new_flags.append(flag)
            continue
        # A preview's flags have no import id, so within a preview, as within an
        # import, a second row under the same other name raises nothing.
        earlier_import = merged[index].get(REVIEW_FLAG_IMPORT_KEY)
        if key in raised_again and earlier_import != matcher.import_run_id:
            merged[index] = flag
            new_flags.append(flag)
    return merged, new_flags


def _merge_industry(state: AccountState, values: dict[str, Any]) -> None:
    account = state.account
    industry_id = values.get("industry_id")
    industry_raw = values.get("industry_raw", "")
    if industry_id is not None and account.industry_id is None:
        _set(state, "industry_id", industry_id)
        _set(state, "industry_raw", industry_raw)
    elif industry_raw and not account.industry_raw and account.industry_id is None:
        _set(state, "industry_raw", industry_raw)


def _merge_revenue(state: AccountState, values: dict[str, Any]) -> None:
    account = state.account
    if values.get("revenue_amount") is not None and account.revenue_amount is None:
        for name in ("revenue_amount", "revenue_currency", "annual_revenue_usd", "revenue_raw"):
            _set(state, name, values[name])
    elif values.get("revenue_raw") and account.revenue_amount is None and not account.revenue_raw:
        _set(state, "revenue_raw", values["revenue_raw"])


def _merge_location(state: AccountState, values: dict[str, Any]) -> None:
    account = state.account
    country = values.get("country", "")
    region = values.get("region", "")
    city = values.get("city", "")
    if not (country or region or city):
        return
    if not account.country and not account.region and not account.city:
        _set(state, "country", country)
        _set(state, "region", region)
        _set(state, "city", city)
        return
    if country and account.country and country != account.country:
        return
    if country and not account.country:
        _set(state, "country", country)
    if region and not account.region:
        _set(state, "region", region)
    same_region = not region or not account.region or region == account.region
    if city and not account.city and same_region:
        _set(state, "city", city)
