"""The account list's fast paths give the same output as the slow ones they replace.

JSON pages are built from values() rows by AccountRowsSerializer instead of
AccountSerializer, a full CSV download on PostgreSQL is written by COPY instead of
Python, and keyset pages use a row comparison that an index can range over.
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request

from accounts import selectors
from accounts.api.exports import ACCOUNT_CSV_COLUMNS
from accounts.api.serializers import AccountRowsSerializer, AccountSerializer
from accounts.models import Account, Tier
from integrations.models import SavedSegment
from segmentation.models import Framework, FrameworkStatus
from tests.factories import AccountFactory

OUTBOUND_URL = "/api/v1/segments/routes/Outbound/members/"
LIST_URL = "/api/v1/accounts/"

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path and the index plan are PostgreSQL's"
)


def varied_accounts(owner, industry) -> list[Account]:
    """Accounts with empty, formula-like, quoted and multi-line values in every column type."""
    framework = Framework.objects.create(
        version=901, name="Fast path framework", status=FrameworkStatus.DRAFT
    )
    whole_second = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
    cases = [
        {"name": "Plain Co", "industry": industry, "owner": owner, "framework": framework},
        {"name": "=HYPERLINK(1)", "domain": "", "website": "", "score": None, "tier": ""},
        {"name": 'Quote "Q" Co, Ltd', "city": "Line\nbreak", "revenue_amount": Decimal("-8")},
        {"name": "-8", "region": "+1 region", "tag": "@tag", "employee_min": None},
        {"name": "\tTabbed", "missing_fields": ["=industry", "country"], "scored_at": None},
        {"name": "Lists", "missing_fields": ["industry", "country"], "needs_enrichment": True},
        {"name": "Empty list", "missing_fields": [], "annual_revenue_usd": Decimal("1234.5")},
        {"name": "Whole second", "scored_at": whole_second, "employee_count": None},
        {"name": "\rReturn", "city": "Carriage\rreturn", "source": ""},
    ]
    accounts = []
    for index, fields in enumerate(cases):
        defaults = {"route": "Outbound", "tier": Tier.HIGH, "score": 90 - index}
        accounts.append(AccountFactory(**{**defaults, **fields}))
    return accounts


def test_rows_serializer_equals_account_serializer(sdr, industry):
    varied_accounts(sdr, industry)
    request = Request(RequestFactory().get(LIST_URL))
    context = {"request": request, "format": None}
    accounts = selectors.account_list_base(user=sdr).order_by("id")
    rows_serializer = AccountRowsSerializer(context)

    expected = AccountSerializer(list(accounts), many=True, context=context).data
    built = rows_serializer.data(list(accounts.values(*rows_serializer.lookups())))

    assert len(built) == len(expected) == 9
    for built_row, expected_row in zip(built, expected, strict=True):
        assert list(built_row) == list(expected_row)
        assert built_row == dict(expected_row)


def test_rows_serializer_url_keeps_format_suffix(sdr):
    account = AccountFactory()
    request = Request(RequestFactory().get("/api/v1/accounts.json"))
    rows_serializer = AccountRowsSerializer({"request": request, "format": "json"})

    row = rows_serializer.data(
        Account.objects.filter(pk=account.pk).values(*rows_serializer.lookups())
    )[0]

    assert row["url"] == f"http://testserver/api/v1/accounts/{account.pk}.json"


def test_json_page_equals_account_serializer(signed_in_api, sdr, industry):
    varied_accounts(sdr, industry)
    response = signed_in_api.get(LIST_URL, {"ordering": "id"})
    context = {"request": Request(response.wsgi_request), "format": None}
    expected = AccountSerializer(
        list(selectors.account_list_base(user=sdr).order_by("id")), many=True, context=context
    ).data

    assert response.status_code == 200
    assert response.json()["results"] == [dict(row) for row in expected]


def test_full_csv_equals_paged_csv(signed_in_api, sdr, industry):
    """On PostgreSQL the full download is COPY and a page is Python: the bytes agree."""
    varied_accounts(sdr, industry)

    full = signed_in_api.get(OUTBOUND_URL, {"format": "csv"})
    paged = signed_in_api.get(OUTBOUND_URL, {"format": "csv", "page_size": 100})
    full_body = b"".join(full.streaming_content)
    paged_body = b"".join(paged.streaming_content)

    assert full.status_code == paged.status_code == 200
    assert full_body == paged_body
    rows = list(csv.DictReader(io.StringIO(full_body.decode("utf-8"))))
    by_name = {row["name"]: row for row in rows}
    assert len(rows) == 9
    assert by_name["'\rReturn"]["city"] == "Carriage\rreturn"
    assert "'=HYPERLINK(1)" in by_name
    assert by_name["'\tTabbed"]["missing_fields"] == "'=industry; country"
    assert by_name["Lists"]["missing_fields"] == "industry; country"
    assert by_name["Lists"]["needs_enrichment"] == "true"
    assert by_name["Empty list"]["annual_revenue_usd"] == "1234.50"
    assert by_name["Whole second"]["scored_at"] == "2026-03-01T09:30:00Z"
    assert by_name['Quote "Q" Co, Ltd']["city"] == "Line\nbreak"
    assert by_name["-8"]["region"] == "'+1 region"


@pytest.mark.parametrize("params", [{}, {"page_size": 100}], ids=["full", "paged"])
def test_csv_marks_values_set_by_hand(signed_in_api, params):
    by_hand = AccountFactory(
        route="Outbound",
        tag="SaaS – Mid-Market – US",
        tag_override="SaaS – Mid-Market – US",
        tier=Tier.HIGH,
        tier_override=Tier.HIGH,
    )
    tier_only = AccountFactory(
        route="Outbound", tag="SaaS – SMB – US", tier=Tier.LOW, tier_override=Tier.LOW
    )
    computed = AccountFactory(route="Outbound", tag="SaaS – SMB – US", tier=Tier.MEDIUM)

    rows = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv", **params}))

    assert rows[str(by_hand.pk)]["tag"] == "SaaS – Mid-Market – US"
    assert rows[str(by_hand.pk)]["tag_set_by_hand"] == "true"
    assert rows[str(by_hand.pk)]["tier_set_by_hand"] == "true"
    assert rows[str(tier_only.pk)]["tag_set_by_hand"] == "false"
    assert rows[str(tier_only.pk)]["tier_set_by_hand"] == "true"
    assert rows[str(computed.pk)]["tag_set_by_hand"] == "false"
    assert rows[str(computed.pk)]["tier_set_by_hand"] == "false"


DATETIME_COLUMNS = [
    header
    for header, lookup in ACCOUNT_CSV_COLUMNS
    if isinstance(lookup, str) and lookup.endswith("_at")
]


def csv_rows_by_id(response) -> dict[str, dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return {row["id"]: row for row in csv.DictReader(io.StringIO(body))}


def dated_accounts() -> None:
    times = [
        datetime(2026, 1, 15, 9, 30, 0, tzinfo=UTC),  # whole second, winter
        datetime(2026, 7, 1, 23, 45, 12, 345678, tzinfo=UTC),  # fraction, summer
        datetime(1850, 3, 1, 9, 30, 0, 500000, tzinfo=UTC),  # local mean time offsets
        None,
    ]
    for index, scored_at in enumerate(times):
        AccountFactory(name=f"Dated {index}", route="Outbound", scored_at=scored_at)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London"])
def test_csv_datetimes_equal_json(signed_in_api, settings, zone):
    """Both CSV paths write every datetime column as the JSON page does, in any TIME_ZONE."""
    settings.TIME_ZONE = zone
    dated_accounts()

    json_rows = signed_in_api.get(OUTBOUND_URL, {"page_size": 100}).json()["results"]
    full = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}))
    paged = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv", "page_size": 100}))

    assert DATETIME_COLUMNS == ["scored_at", "created_at", "updated_at"]
    assert len(json_rows) == len(full) == len(paged) == 4
    for row in json_rows:
        for column in DATETIME_COLUMNS:
            expected = row[column] or ""
            assert full[str(row["id"])][column] == expected, (row["name"], column)
            assert paged[str(row["id"])][column] == expected, (row["name"], column)


def test_csv_datetimes_use_z_for_utc(signed_in_api, settings):
    settings.TIME_ZONE = "UTC"
    dated_accounts()

    full = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}))
    scored = sorted(row["scored_at"] for row in full.values())

    assert scored == [
        "",
        "1850-03-01T09:30:00.500000Z",
        "2026-01-15T09:30:00Z",
        "2026-07-01T23:45:12.345678Z",
    ]
    assert all(row["created_at"].endswith("Z") for row in full.values())


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-3), timedelta(hours=5.75)])
def test_csv_datetimes_fixed_offset_zone(signed_in_api, offset):
    dated_accounts()
    with timezone.override(dt_timezone(offset)):
        json_rows = signed_in_api.get(OUTBOUND_URL, {"page_size": 100}).json()["results"]
        full = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}))

    assert len(json_rows) == len(full) == 4
    for row in json_rows:
        for column in DATETIME_COLUMNS:
            assert full[str(row["id"])][column] == (row[column] or ""), (row["name"], column)


def test_csv_follows_custom_datetime_format(signed_in_api, settings):
    """A DATETIME_FORMAT that COPY cannot write sends the full download through Python."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "%d.%m.%Y %H:%M"}
    dated_accounts()

    json_rows = signed_in_api.get(OUTBOUND_URL, {"page_size": 100}).json()["results"]
    full = csv_rows_by_id(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}))

    by_name = {row["name"]: row for row in json_rows}
    assert by_name["Dated 0"]["scored_at"] == "15.01.2026 09:30"
    for row in json_rows:
        for column in DATETIME_COLUMNS:
            assert full[str(row["id"])][column] == (row[column] or ""), (row["name"], column)


def test_csv_of_no_accounts_is_header_only(client_for, sdr):
    AccountFactory(route="Outbound")
    # A choice that no longer exists makes the saved segment match no account.
    segment = SavedSegment.objects.create(owner=sdr, name="Old tier", filters={"tier": "top"})

    response = client_for(sdr).get(
        f"/api/v1/segments/saved/{segment.pk}/members/", {"format": "csv"}
    )
    lines = b"".join(response.streaming_content).decode("utf-8").splitlines()

    assert response.status_code == 200
    assert lines == [",".join(name for name, _ in ACCOUNT_CSV_COLUMNS)]


@pytest.mark.parametrize("ordering", ["-score", "score", "-tier", "-id", "needs_enrichment"])
def test_row_comparison_pages_match_full_order(signed_in_api, ordering):
    accounts = AccountFactory.build_batch(30, route="Outbound", tier=Tier.MEDIUM)
    for index, account in enumerate(accounts):
        account.score = None if index % 5 == 0 else index % 4
        account.tier = [Tier.HIGH, Tier.MEDIUM, Tier.LOW][index % 3]
        account.needs_enrichment = index % 2 == 0
    Account.objects.bulk_create(accounts)
    whole = signed_in_api.get(OUTBOUND_URL, {"ordering": ordering, "page_size": 100}).json()
    ids: list[int] = []
    response = signed_in_api.get(OUTBOUND_URL, {"ordering": ordering, "page_size": 4})
    while True:
        body = response.json()
        ids.extend(row["id"] for row in body["results"])
        if body["next"] is None:
            break
        response = signed_in_api.get(body["next"])

    assert ids == [row["id"] for row in whole["results"]]
    assert len(ids) == 30


@on_postgresql
def test_deep_segment_page_is_index_range(signed_in_api):
    Account.objects.bulk_create(
        AccountFactory.build_batch(40, route="Outbound", tier=Tier.HIGH, score=70)
    )
    next_url = signed_in_api.get(OUTBOUND_URL, {"page_size": 10}).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        signed_in_api.get(next_url)
    page_sql = next(query["sql"] for query in captured if "LIMIT 11" in query["sql"])
    with connection.cursor() as cursor:
        # With a few rows, the planner may prefer another index and a sort, depending on
        # the statistics earlier tests left. Disabling both shows whether this index can
        # serve the page in order: if it cannot, the plan still sorts.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + page_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using account_route_score_idx" in plan
    assert "ROW((COALESCE" in plan
    assert "Sort" not in plan
