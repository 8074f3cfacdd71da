"""The list's "Export all as CSV" link downloads every account that matches the filters."""

import csv
import io
import re
from html import unescape

from tests.factories import AccountFactory


def export_link(client, query: str) -> str:
    html = client.get(f"/accounts/?{query}").content.decode()
    match = re.search(r'href="([^"]+)"\s+hx-boost="false" download data-testid="export-all"', html)
    assert match, "the list has no export link"
    return unescape(match.group(1))


def test_export_keeps_filters_and_drops_paging(client, sdr):
    AccountFactory(name="Alpha Germany", country="DE")
    AccountFactory(name="Beta Germany", country="DE")
    AccountFactory(name="Gamma France", country="FR")
    client.force_login(sdr)

    link = export_link(client, "country=DE&page=2&page_size=25&ordering=name")

    assert link.startswith("/api/v1/accounts/?")
    assert "country=DE" in link
    assert "format=csv" in link
    assert "page=" not in link.replace("page_size", "")
    response = client.get(link)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted(row["name"] for row in rows) == ["Alpha Germany", "Beta Germany"]


def test_export_drops_misspelt_filter(client, sdr):
    AccountFactory(name="Alpha Germany", country="DE", tier="high")
    AccountFactory(name="Beta Germany", country="DE", tier="low")
    AccountFactory(name="Gamma France", country="FR", tier="high")
    client.force_login(sdr)

    html = client.get("/accounts/?country=DE&teir=high&cuntry=FR").content.decode()
    link = export_link(client, "country=DE&teir=high&cuntry=FR")

    assert "country=DE" in link
    assert "teir" not in link
    assert "cuntry" not in link
    assert "(without “teir”, “cuntry”, which are not filters)" in html
    response = client.get(link)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode("utf-8-sig"))))
    assert sorted(row["name"] for row in rows) == ["Alpha Germany", "Beta Germany"]


def test_export_note_absent_without_misspelling(client, sdr):
    client.force_login(sdr)

    html = client.get("/accounts/?country=DE").content.decode()

    assert 'data-testid="export-drops"' not in html


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_page_export_starts_with_bom(client, sdr):
    AccountFactory(name="Nestlé", tag="SaaS – SMB – US")
    client.force_login(sdr)
    response = client.get(export_link(client, "q=nestl"))
    body = body_of(response)
    assert response.status_code == 200
    assert body.startswith(b"\xef\xbb\xbfid,")
    assert "SaaS – SMB – US" in body.decode("utf-8-sig")


def test_api_csv_has_no_bom_by_default(client, sdr):
    AccountFactory(name="Nestlé")
    client.force_login(sdr)
    body = body_of(client.get("/api/v1/accounts/?format=csv"))
    assert body.startswith(b"id,")


def test_api_csv_page_with_bom(client, sdr):
    AccountFactory(name="Nestlé")
    client.force_login(sdr)
    body = body_of(client.get("/api/v1/accounts/?format=csv&bom=1&page_size=10"))
    assert body.startswith(b"\xef\xbb\xbfid,")
    assert body.count(b"\xef\xbb\xbf") == 1


def test_api_csv_invalid_bom_is_400(client, sdr):
    client.force_login(sdr)
    response = client.get("/api/v1/accounts/?format=csv&bom=yes")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["bom"] == [
        "'yes' is not a bom value: send bom=1 to start the CSV with a UTF-8 byte order mark, "
        "or leave bom out."
    ]


def test_export_drops_page_parameters(client, sdr):
    AccountFactory(name="Alpha High", tier="high")
    AccountFactory(name="Beta High", tier="high")
    AccountFactory(name="Gamma Low", tier="low")
    client.force_login(sdr)

    for parameter in ("offset=10", "limit=10", "per_page=10", "cursor=abc", "page_size=10"):
        link = export_link(client, f"tier=high&{parameter}&ordering=-name")

        assert parameter not in link, parameter
        assert "tier=high" in link, parameter
        assert "ordering=-name" in link, parameter
        response = client.get(link)
        assert response.status_code == 200, (parameter, response.content[:300])
        rows = list(csv.DictReader(io.StringIO(body_of(response).decode("utf-8-sig"))))
        assert [row["name"] for row in rows] == ["Beta High", "Alpha High"], parameter
