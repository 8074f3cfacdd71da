"""The account list's title and heading name the filters in use."""

import re

import pytest
from django.urls import reverse

from accounts.models import ImportRun
from tests.factories import AccountFactory

LIST_URL = reverse("accounts:account-list")
TITLE_PATTERN = re.compile(r"<title>(.*?)</title>", re.DOTALL)
HEADING_PATTERN = re.compile(r'<h1 id="account-list-heading"[^>]*>(.*?)</h1>', re.DOTALL)

pytestmark = pytest.mark.django_db


def title_and_heading(client, params: dict, **headers) -> tuple[str, str]:
    html = client.get(LIST_URL, params, **headers).content.decode()
    title = TITLE_PATTERN.search(html)
    heading = HEADING_PATTERN.search(html)
    assert title is not None, html[:500]
    assert heading is not None, html[:500]
    return title.group(1).strip(), heading.group(1).strip()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "Accounts"),
        ({"tier": "high", "industry": "saas"}, "Accounts: SaaS, High tier"),
        ({"tier": "none"}, "Accounts: Not scored"),
        ({"industry": "unmapped"}, "Accounts: No industry"),
        ({"geography": "none"}, "Accounts: No geography"),
        ({"size_band": "Mid-Market"}, "Accounts: Mid-Market"),
        ({"region": "EMEA"}, "Accounts: EMEA region"),
        ({"route": "Outbound"}, "Accounts: Outbound route"),
        ({"tag": "SaaS – SMB – US"}, "Accounts: Tag SaaS – SMB – US"),
        ({"q": "  acme  "}, "Accounts: Search “acme”"),
        ({"q": "   "}, "Accounts"),
        ({"owner": "me"}, "Accounts: Mine"),
        ({"owner": "none"}, "Accounts: Unassigned"),
        ({"country": "de"}, "Accounts: Country DE"),
        ({"needs_enrichment": "true"}, "Accounts: Needs enrichment"),
        ({"needs_enrichment": "false"}, "Accounts: No enrichment needed"),
        ({"verification_status": "conflicting"}, "Accounts: Conflicting sources"),
        ({"missing_field": "size"}, "Accounts: Missing company size"),
        ({"complete": "false"}, "Accounts: Incomplete data"),
        ({"flagged": "true"}, "Accounts: Flagged for review"),
        (
            {"tier": "high", "ordering": "-score", "page": "2", "page_size": "100"},
            "Accounts: High tier",
        ),
    ],
)
def test_title_names_filters(signed_in, params, expected):
    title, heading = title_and_heading(signed_in, params)
    assert title == f"{expected} · ICP Portal"
    assert heading == expected


def test_title_names_owner(signed_in, make_user):
    owner = make_user(None, username="dana", first_name="Dana", last_name="Okafor")
    title, heading = title_and_heading(signed_in, {"owner": str(owner.pk)})
    assert heading == "Accounts: Owner Dana Okafor"


def test_title_names_import(signed_in):
    run = ImportRun.objects.create(file_name="hubspot-companies.csv", file_path="unused.csv")
    title, heading = title_and_heading(signed_in, {"import_run": str(run.pk)})
    assert heading == f"Accounts: Import {run.pk} of “hubspot-companies.csv”"


def test_title_counts_extra_filters(signed_in):
    params = {"tier": "high", "industry": "saas", "country": "US", "needs_enrichment": "true"}
    _title, heading = title_and_heading(signed_in, params)
    assert heading == "Accounts: SaaS, High tier, Needs enrichment and 1 more filter"
    params["flagged"] = "false"
    _title, heading = title_and_heading(signed_in, params)
    assert heading == "Accounts: SaaS, High tier, Needs enrichment and 2 more filters"


def test_title_shortens_long_value(signed_in):
    _title, heading = title_and_heading(signed_in, {"q": "x" * 200})
    assert heading == f"Accounts: Search “{'x' * 39}…”"


@pytest.mark.parametrize(
    "params",
    [
        {"tier": "<script>alert(1)</script>"},
        {"geography": "</title><script>alert(1)</script>"},
        {"industry": "no-such-industry"},
        {"tier": "high", "owner": "99999"},
    ],
)
def test_title_hides_invalid_values(signed_in, params):
    html = signed_in.get(LIST_URL, params).content.decode()
    title, heading = title_and_heading(signed_in, params)
    assert title == "Accounts: invalid filters · ICP Portal"
    assert heading == "Accounts: invalid filters"
    assert "<script>alert(1)" not in html


def test_title_escapes_free_text(signed_in):
    params = {"tag": "</title><script>alert(1)</script>", "q": "<b>bold</b>"}
    html = signed_in.get(LIST_URL, params).content.decode()
    title, heading = title_and_heading(signed_in, params)
    assert "<script>alert(1)" not in html
    assert "<b>bold</b>" not in html
    assert title.startswith("Accounts: Search “&lt;b&gt;bold&lt;/b&gt;”, Tag &lt;/title&gt;")
    assert heading.startswith("Accounts: Search “&lt;b&gt;bold&lt;/b&gt;”, Tag &lt;/title&gt;")


def test_results_response_updates_title(signed_in):
    AccountFactory(name="Partial Co", tier="high")
    response = signed_in.get(
        LIST_URL, {"tier": "high"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="account-results"')
    assert "<title>Accounts: High tier · ICP Portal</title>" in html
    assert (
        '<h1 id="account-list-heading" class="h4 mb-0" data-testid="account-list-heading" '
        'hx-swap-oob="true">Accounts: High tier</h1>'
    ) in html
