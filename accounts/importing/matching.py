"""Match a batch of parsed rows to existing accounts and merge their values.

Rows are matched in this order, against the database and the rows before them in the file:

1. an identifier (CIK, Y Combinator id, CRM id, LinkedIn page, profile, ticker);
2. the normalized domain;
3. the company name key and the country, against accounts whose domain is empty, equal or
   not known on one side.

An account that has an identifier of the same kind with another value never matches by
domain or name, because the two identifiers name two companies. Loading the candidates of
a batch takes at most four queries, however many rows the batch has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from accounts.models import Account, AccountIdentifier

from .rows import ParsedRow

# Identifier kinds tried first to last. Tickers come last because exchanges reuse them.
IDENTIFIER_PRIORITY = ("cik", "yc", "crm", "linkedin", "profile", "ticker")

CREATED = "created"
UPDATED = "updated"
MERGED = "merged"


@dataclass(eq=False)
class AccountState:
    """Account loaded or created for one batch, with its identifiers and pending changes."""

    account: Account
    identifiers: dict[str, set[str]]
    is_new: bool
    touched_earlier: bool = False
    applied_rows: int = 0
    new_identifiers: list[tuple[str, str]] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)

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
    """Result of one row: the account it created or changed, and how the row counts."""

    row: ParsedRow
    state: AccountState
    outcome: str


class BatchMatcher:
    """Matcher that resolves one batch of rows to account states, creating new ones as needed."""

    def __init__(self, rows: list[ParsedRow], *, source: str, touched_ids: set[int]) -> None:
        self.rows = rows
        self.source = source
        self.touched_ids = touched_ids
        self.by_identifier: dict[tuple[str, str], AccountState] = {}
        self.by_domain: dict[str, AccountState] = {}
        self.by_name: dict[str, list[AccountState]] = defaultdict(list)
        self.states: list[AccountState] = []

    def run(self) -> list[RowOutcome]:
        """Load the candidates, then match and merge every row in file order."""
        self._load_candidates()
        outcomes = []
        for row in self.rows:
            state = self._match(row)
            if state is None:
                state = self._create_state(row)
                outcome = CREATED
            elif state.is_new or state.touched_earlier or state.applied_rows:
                outcome = MERGED
            else:
                outcome = UPDATED
            merge_row(state, row, self)
            state.applied_rows += 1
            outcomes.append(RowOutcome(row, state, outcome))
        return outcomes

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

        account_ids: set[int] = set()
        identifier_owner: dict[tuple[str, str], int] = {}
        if identifier_keys:
            condition = Q()
            for kind, values in identifier_keys.items():
                condition |= Q(kind=kind, value__in=values)
            for kind, value, account_id in AccountIdentifier.objects.filter(condition).values_list(
                "kind", "value", "account_id"
            ):
                identifier_owner[(kind, value)] = account_id
                account_ids.add(account_id)

        if name_pairs:
            # Common names recur in many countries, so only the ids are read here and
            # only accounts with the row's exact name key and country are loaded below.
            for account_id, name_key, country in Account.objects.filter(
                name_key__in={name_key for name_key, _country in name_pairs},
                country__in={country for _name_key, country in name_pairs},
            ).values_list("id", "name_key", "country"):
                if (name_key, country) in name_pairs:
                    account_ids.add(account_id)

        lookup = Q(pk__in=account_ids)
        if domains:
            lookup |= Q(domain__in=domains)
        accounts = list(Account.objects.filter(lookup)) if (account_ids or domains) else []

        identifiers: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        if accounts:
            for account_id, kind, value in AccountIdentifier.objects.filter(
                account_id__in=[account.pk for account in accounts]
            ).values_list("account_id", "kind", "value"):
                identifiers[account_id][kind].add(value)

        states_by_id: dict[int, AccountState] = {}
        for account in accounts:
            state = AccountState(
                account=account,
                identifiers=dict(identifiers[account.pk]),
                is_new=False,
                touched_earlier=account.pk in self.touched_ids,
            )
            states_by_id[account.pk] = state
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

    def _match(self, row: ParsedRow) -> AccountState | None:
        row_identifiers = dict(row.identifiers)
        for kind in IDENTIFIER_PRIORITY:
            value = row_identifiers.get(kind)
            state = self.by_identifier.get((kind, value)) if value else None
            if state is not None:
                return state

        if row.domain:
            state = self.by_domain.get(row.domain)
            if state is not None and not state.conflicts_with(row):
                return state

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
                return state
        return None

    def _create_state(self, row: ParsedRow) -> AccountState:
        account = Account(
            name=row.name,
            name_key=row.name_key,
            source=self.source,
            review_flags=[],
            technologies=[],
            buying_signals=[],
        )
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


def _set(state: AccountState, name: str, value: Any) -> None:
    if getattr(state.account, name) != value:
        setattr(state.account, name, value)
        state.changed_fields.add(name)


def merge_row(state: AccountState, row: ParsedRow, matcher: BatchMatcher) -> None:
    """Fill the account's empty fields from the row and add the row's identifiers and flags.

    NOTE: a value that differs from a non-empty current value is not written. It is kept
    as an observation only, so a later verification step can decide between sources.
    """
    account = state.account
    values = row.values
    flags = list(row.flags)

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

    for name in ("technologies", "buying_signals"):
        additions = [item for item in values.get(name, []) if item not in getattr(account, name)]
        if additions:
            _set(state, name, [*getattr(account, name), *additions])

    known_flags = {(flag.get("field"), flag.get("value")) for flag in account.review_flags}
    new_flags = [flag for flag in flags if (flag["field"], flag["value"]) not in known_flags]
    if new_flags:
        _set(state, "review_flags", [*account.review_flags, *new_flags])
    row.merged_flags = flags


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
