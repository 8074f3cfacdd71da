"""Pulling segments: cursor pages, incremental syncs and CSV downloads."""

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.models import Account, Tier
from tests.factories import AccountFactory

OUTBOUND_URL = "/api/v1/segments/routes/Outbound/members/"
LIST_URL = "/api/v1/accounts/"


def pull_all(client, url: str, params: dict | None = None) -> list[dict]:
    rows: list[dict] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        response = client.get(body["next"])


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def make_outbound(count: int, score: int = 80, **fields) -> list[Account]:
    accounts = AccountFactory.build_batch(
        count, route="Outbound", tier=Tier.HIGH, score=score, **fields
    )
    return Account.objects.bulk_create(accounts)


def set_updated_at(account_ids, when) -> None:
    Account.objects.filter(pk__in=account_ids).update(updated_at=when)


def test_marketing_token_pulls_outbound_json(token_client, marketing):
    make_outbound(25)
    AccountFactory(route="Nurture", tier=Tier.LOW, score=10)
    client = token_client(marketing)
    rows = pull_all(client, OUTBOUND_URL, {"page_size": 10})
    assert len(rows) == 25
    assert {row["route"] for row in rows} == {"Outbound"}


def test_outbound_pages_with_equal_scores(token_client, marketing):
    make_outbound(60, score=75)
    make_outbound(15, score=90)
    expected = set(Account.objects.values_list("id", flat=True))
    rows = pull_all(token_client(marketing), OUTBOUND_URL, {"page_size": 7})
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert [row["score"] for row in rows[:15]] == [90] * 15
    assert ids[15:] == sorted(ids[15:])


@pytest.mark.parametrize(
    "ordering",
    [
        "-score",
        "score",
        "tier",
        "-tier",
        "name",
        "-name",
        "owner",
        "industry",
        "updated_at",
        "-updated_at",
        "-id",
        "needs_enrichment",
    ],
)
def test_cursor_pages_without_repeats(signed_in_api, ordering):
    accounts = AccountFactory.build_batch(45, score=50, tier=Tier.MEDIUM)
    for index, account in enumerate(accounts):
        account.name = f"Same {index % 3}"
        if index % 4 == 0:
            account.score = None
    Account.objects.bulk_create(accounts)
    expected = set(Account.objects.values_list("id", flat=True))
    rows = pull_all(signed_in_api, LIST_URL, {"ordering": ordering, "page_size": 4})
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def test_empty_scores_come_last(signed_in_api):
    make_outbound(3, score=None)
    make_outbound(3, score=10)
    rows = pull_all(signed_in_api, OUTBOUND_URL, {"page_size": 2})
    assert [row["score"] for row in rows] == [10, 10, 10, None, None, None]


def test_updated_since_pulls_changes_only(token_client, marketing):
    old = make_outbound(5)
    recent = make_outbound(4)
    now = timezone.now()
    set_updated_at([account.pk for account in old], now - timedelta(days=3))
    set_updated_at([account.pk for account in recent], now - timedelta(hours=1))
    since = (now - timedelta(days=1)).isoformat()
    rows = pull_all(token_client(marketing), OUTBOUND_URL, {"updated_since": since, "page_size": 3})
    assert {row["id"] for row in rows} == {account.pk for account in recent}


def test_updated_since_orders_by_updated_at(signed_in_api):
    accounts = make_outbound(6)
    now = timezone.now()
    for offset, account in enumerate(reversed(accounts)):
        set_updated_at([account.pk], now - timedelta(minutes=offset))
    since = (now - timedelta(days=1)).isoformat()
    rows = pull_all(signed_in_api, OUTBOUND_URL, {"updated_since": since, "page_size": 4})
    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps)
    assert [row["id"] for row in rows] == [account.pk for account in accounts]


def test_updated_since_accepts_zulu_time(signed_in_api):
    make_outbound(2)
    response = signed_in_api.get(OUTBOUND_URL, {"updated_since": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_updated_since_invalid_is_400(signed_in_api):
    response = signed_in_api.get(OUTBOUND_URL, {"updated_since": "last tuesday"})
    error = response.json()["error"]
    assert response.status_code == 400
    assert "updated_since" in error["fields"]


def test_updated_since_large_offset_in_utc(signed_in_api):
    make_outbound(2)
    response = signed_in_api.get(OUTBOUND_URL, {"updated_since": "2000-01-01T00:00:00-20:31"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_updated_since_before_year_one_is_400(signed_in_api):
    response = signed_in_api.get(OUTBOUND_URL, {"updated_since": "0001-01-01T00:00:00+14:00"})
    error = response.json()["error"]
    assert response.status_code == 400
    assert "outside the supported range" in error["fields"]["updated_since"][0]


def test_incremental_sync_sees_later_update(token_client, marketing):
    accounts = make_outbound(3)
    client = token_client(marketing)
    first = pull_all(client, OUTBOUND_URL, {"ordering": "updated_at"})
    high_water = max(row["updated_at"] for row in first)
    changed = Account.objects.get(pk=accounts[0].pk)
    changed.city = "Lisbon"
    changed.save()
    rows = pull_all(client, OUTBOUND_URL, {"updated_since": high_water})
    assert changed.pk in {row["id"] for row in rows}
    assert {row["city"] for row in rows if row["id"] == changed.pk} == {"Lisbon"}


def test_invalid_cursor_is_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"cursor": "not-a-cursor"})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid"
    assert "cursor" in error["fields"]


def test_cursor_of_other_ordering_is_400(signed_in_api):
    make_outbound(3)
    next_url = signed_in_api.get(LIST_URL, {"ordering": "-score", "page_size": 1}).json()["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]
    response = signed_in_api.get(LIST_URL, {"ordering": "name", "cursor": cursor})
    assert response.status_code == 400


def test_csv_streams(token_client, marketing):
    make_outbound(3)
    response = token_client(marketing).get(OUTBOUND_URL, {"format": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="route-outbound.csv"' in response["Content-Disposition"]
    assert len(csv_rows(response)) == 3


def test_csv_by_accept_header(token_client, marketing):
    make_outbound(2)
    response = token_client(marketing).get(OUTBOUND_URL, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert len(csv_rows(response)) == 2


def test_csv_neutralizes_formulas(signed_in_api):
    cases = {
        '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
        "+SUM(A1)": "'+SUM(A1)",
        "-2+3": "'-2+3",
        "@cmd": "'@cmd",
        "\tTabbed": "'\tTabbed",
        "\rReturn": "'\rReturn",
        "Plain Co": "Plain Co",
        "-8": "-8",
    }
    for index, name in enumerate(cases):
        AccountFactory(name=name, route="Outbound", score=index)
    response = signed_in_api.get(OUTBOUND_URL, {"format": "csv", "ordering": "score"})
    names = [row["name"] for row in csv_rows(response)]
    assert names == list(cases.values())


def test_csv_keeps_numbers(signed_in_api):
    AccountFactory(name="Numbers", route="Outbound", score=42, employee_count=8, revenue_amount=-8)
    row = csv_rows(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}))[0]
    assert row["score"] == "42"
    assert row["employee_count"] == "8"
    assert row["revenue_amount"] == "-8.00"


def test_json_keeps_formula_text(signed_in_api):
    AccountFactory(name="=1+2", route="Outbound")
    row = signed_in_api.get(OUTBOUND_URL).json()["results"][0]
    assert row["name"] == "=1+2"


def test_csv_pages_with_link_header(token_client, marketing):
    make_outbound(7, score=50)
    client = token_client(marketing)
    seen: list[str] = []
    response = client.get(OUTBOUND_URL, {"format": "csv", "page_size": 3})
    pages = 0
    while True:
        assert response.status_code == 200
        pages += 1
        seen.extend(row["id"] for row in csv_rows(response))
        if not response.has_header("Link"):
            break
        next_url = response["Link"].split(">")[0].lstrip("<")
        assert "format=csv" in next_url
        response = client.get(next_url)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


def test_csv_incremental(token_client, marketing):
    old = make_outbound(2)
    recent = make_outbound(2)
    now = timezone.now()
    set_updated_at([account.pk for account in old], now - timedelta(days=5))
    since = (now - timedelta(days=1)).isoformat()
    response = token_client(marketing).get(OUTBOUND_URL, {"format": "csv", "updated_since": since})
    ids = {int(row["id"]) for row in csv_rows(response)}
    assert ids == {account.pk for account in recent}


def test_csv_streams_in_chunks(signed_in_api, monkeypatch):
    """A full download arrives in several chunks instead of one body: from COPY on
    PostgreSQL, from QuerySet.iterator (a server-side cursor) elsewhere."""
    from django.db import connection
    from django.db.models.query import QuerySet

    make_outbound(2500)
    chunk_sizes: list[int | None] = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    response = signed_in_api.get(OUTBOUND_URL, {"format": "csv"})
    chunks = list(response.streaming_content)
    lines = b"".join(chunks).decode("utf-8").splitlines()
    if connection.vendor == "postgresql":
        assert chunk_sizes == []
    else:
        assert chunk_sizes == [2000]
    assert len(chunks) > 5
    assert len(lines) == 2501


def test_csv_lines_end_with_line_feed(signed_in_api):
    make_outbound(2)
    body = b"".join(signed_in_api.get(OUTBOUND_URL, {"format": "csv"}).streaming_content)
    assert body.count(b"\n") == 3
    assert b"\r" not in body


def test_csv_error_is_json(signed_in_api):
    response = signed_in_api.get(OUTBOUND_URL, {"format": "csv", "tier": "top"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "invalid"


def test_members_query_count_is_pinned(token_client, marketing, django_assert_max_num_queries):
    make_outbound(30)
    client = token_client(marketing)
    client.get(OUTBOUND_URL)
    # Token with user, roles, rows.
    with django_assert_max_num_queries(3):
        response = client.get(OUTBOUND_URL, {"page_size": 30})
    assert len(response.json()["results"]) == 30
