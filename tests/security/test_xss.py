"""Script in imported values and research notes is shown as text, never run."""

import csv
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import Account, ImportRun, ResearchNote
from accounts.services import accounts_import

from .conftest import csp_violations

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMAGE_ESCAPED = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
JAVASCRIPT_URL = "javascript:alert(document.cookie)"


def write_hostile_csv(folder: Path) -> Path:
    path = folder / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Website", "Description", "City", "Industry", "Technologies"])
        writer.writerow(
            [f"{SCRIPT} Corp", "hostile.example", f"Leads {IMAGE}", IMAGE, SCRIPT, SCRIPT]
        )
        writer.writerow([f"Link {IMAGE}", JAVASCRIPT_URL, SCRIPT, "Berlin", "SaaS", "Python"])
    return path


@pytest.fixture
def hostile(db, tmp_path, sdr):
    """Import two accounts full of markup and add a note with a javascript: source URL."""
    run = accounts_import(write_hostile_csv(tmp_path), source="csv")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    account = Account.objects.get(domain="hostile.example")
    # Enrichment saves notes without the form's URL check, so the page must not trust them.
    ResearchNote.objects.create(
        account=account,
        text=f"Raised money {SCRIPT} {IMAGE}",
        source_url=JAVASCRIPT_URL,
        status=ResearchNote.Status.PUBLISHED,
        author=sdr,
    )
    return {"account": account, "run": run, "second": Account.objects.exclude(pk=account.pk).get()}


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert SCRIPT not in html
    assert "<img src=x" not in lowered
    # Escaped text still contains "onerror=alert(1)&gt;", which is harmless.
    assert "onerror=alert" not in lowered.replace("onerror=alert(1)&gt;", "")
    assert 'href="javascript:' not in lowered
    assert "href='javascript:" not in lowered


def test_import_keeps_markup_as_text(hostile):
    account = hostile["account"]
    assert account.name == f"{SCRIPT} Corp"
    assert account.description == f"Leads {IMAGE}"


def test_account_list_escapes_markup(client, sdr, hostile):
    client.force_login(sdr)
    html = client.get(reverse("accounts:account-list")).content.decode()
    assert_inert(html)
    assert SCRIPT_ESCAPED in html
    assert IMAGE_ESCAPED in html


def test_account_list_results_fragment_escapes_markup(client, sdr, hostile):
    client.force_login(sdr)
    response = client.get(
        reverse("accounts:account-list"),
        {"q": "Corp"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="account-results",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert_inert(html)
    assert SCRIPT_ESCAPED in html


def test_account_detail_escapes_markup(client, sdr, hostile):
    client.force_login(sdr)
    html = client.get(hostile["account"].get_absolute_url()).content.decode()
    assert_inert(html)
    assert SCRIPT_ESCAPED in html
    assert IMAGE_ESCAPED in html
    assert "Raised money" in html


def test_javascript_website_not_linked(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["second"]
    html = client.get(account.get_absolute_url()).content.decode()
    assert_inert(html)
    assert account.name == f"Link {IMAGE}"


def test_account_sections_escape_markup(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["account"]
    for section in ("segment", "explanation", "history", "notes"):
        url = reverse("accounts:account-section", args=[account.pk, section])
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, section
        assert_inert(response.content.decode())


def test_api_returns_markup_as_json_data(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["account"]
    response = client.get(f"/api/v1/accounts/{account.pk}/")
    notes = client.get(f"/api/v1/accounts/{account.pk}/notes/")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["name"] == f"{SCRIPT} Corp"
    assert notes["Content-Type"].startswith("application/json")
    assert notes.json()["results"][0]["text"] == f"Raised money {SCRIPT} {IMAGE}"


def test_note_form_rejects_javascript_source(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["account"]
    response = client.post(
        reverse("accounts:research-note-create", args=[account.pk]),
        {"kind": "other", "text": SCRIPT, "source_url": JAVASCRIPT_URL},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert not ResearchNote.objects.filter(text=SCRIPT).exists()
    assert_inert(response.content.decode())


def test_note_api_rejects_javascript_source(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["account"]
    response = client.post(
        f"/api/v1/accounts/{account.pk}/notes/",
        {"kind": "other", "text": SCRIPT, "source_url": JAVASCRIPT_URL},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "source_url" in response.json()["error"]["fields"]
    assert not ResearchNote.objects.filter(text=SCRIPT).exists()


def test_note_with_markup_through_api_is_escaped(client, sdr, hostile):
    client.force_login(sdr)
    account = hostile["account"]
    created = client.post(
        f"/api/v1/accounts/{account.pk}/notes/",
        {"kind": "other", "text": f"API {IMAGE}", "source_url": "https://news.example/a"},
        content_type="application/json",
    )
    html = client.get(account.get_absolute_url()).content.decode()
    assert created.status_code == 201
    assert_inert(html)
    assert f"API {IMAGE_ESCAPED}" in html


def test_import_pages_escape_file_name(client, make_user, tmp_path, db):
    from accounts import roles

    user = make_user(roles.SALES_OPS, username="ops")
    path = tmp_path / "<img src=x onerror=alert(1)>.csv"
    path.write_text("Name,Website\nAcme,acme.example\n", encoding="utf-8")
    run = accounts_import(path, source="csv", created_by=user)
    client.force_login(user)
    listing = client.get(reverse("accounts:import-list")).content.decode()
    detail = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    assert_inert(listing)
    assert_inert(detail)
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in listing


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migration_data")
def test_browser_runs_no_injected_script(page, live_server, sign_in, sdr, tmp_path):
    run = accounts_import(write_hostile_csv(tmp_path), source="csv")
    account = Account.objects.get(domain="hostile.example")
    ResearchNote.objects.create(
        account=account, text=f"Raised {SCRIPT} {IMAGE}", source_url=JAVASCRIPT_URL, author=sdr
    )
    sign_in("sdr")
    assert run.status == ImportRun.Status.SUCCEEDED
    for path in ("/accounts/", account.get_absolute_url(), "/accounts/?q=Corp"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("img[onerror]").count() == 0, path
        assert page.locator("a[href^='javascript:' i]").count() == 0, path
    assert page.get_by_text(f"{SCRIPT} Corp").count() >= 1
    assert page.dialogs == []
    assert csp_violations(page) == []
