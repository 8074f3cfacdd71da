import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors
from tests.factories import AccountFactory

QUEUE_URL = reverse("accounts:account-queue")

# Accounts whose segmentation and verification are done leave the queue.
DONE = {"tag": "SaaS – SMB – US", "needs_enrichment": False, "verification_status": "verified"}


def names(response) -> list[str]:
    return [row.account.name for row in response.context["rows"]]


@pytest.fixture
def queue(sdr, sdr2, ae):
    """Accounts of several owners, each needing a different kind of work."""
    return {
        "untagged": AccountFactory(name="Untagged", owner=sdr, **{**DONE, "tag": ""}),
        "enrich": AccountFactory(
            name="Unverified", owner=sdr, **{**DONE, "verification_status": "unverified"}
        ),
        "conflict": AccountFactory(
            name="Conflicting",
            owner=sdr,
            score=40,
            **{**DONE, "verification_status": "conflicting"},
            field_status={
                "industry": {
                    "status": "conflicting",
                    "sources": ["apollo"],
                    "values": {"apollo": "SaaS", "zoominfo": "FinTech"},
                }
            },
        ),
        "missing": AccountFactory(
            name="Missing fields",
            owner=sdr,
            **{**DONE, "needs_enrichment": True},
            missing_fields=["country"],
        ),
        "done": AccountFactory(name="Done", owner=sdr, **DONE),
        "other_sdr": AccountFactory(name="Other SDR's", owner=sdr2, **{**DONE, "tag": ""}),
        "ae": AccountFactory(
            name="AE's", owner=ae, **{**DONE, "verification_status": "unverified"}
        ),
        "unassigned": AccountFactory(name="Nobody's", owner=None, **{**DONE, "tag": ""}),
    }


def test_queue_lists_own_accounts_needing_work(client, sdr, queue):
    client.force_login(sdr)
    response = client.get(QUEUE_URL)
    assert response.status_code == 200
    assert set(names(response)) == {"Untagged", "Unverified", "Conflicting", "Missing fields"}


def test_queue_puts_conflicts_first(client, sdr, queue):
    client.force_login(sdr)
    assert names(client.get(QUEUE_URL))[0] == "Conflicting"


def test_queue_counts_per_reason(client, sdr, queue):
    client.force_login(sdr)
    counts = client.get(QUEUE_URL).context["counts"]
    assert counts["all"] == 4
    assert counts["research"] == 2
    assert counts["enrichment"] == 1
    assert counts["conflict"] == 1


def test_queue_chips_show_counts(client, sdr, queue):
    client.force_login(sdr)
    html = client.get(QUEUE_URL).content.decode()
    assert 'data-testid="queue-count-all">4<' in html
    assert 'data-testid="queue-count-research">2<' in html
    assert 'data-testid="queue-count-conflict">1<' in html


def test_queue_filters_by_reason(client, sdr, queue):
    client.force_login(sdr)
    response = client.get(QUEUE_URL, {"reason": "research"})
    assert set(names(response)) == {"Untagged", "Missing fields"}
    assert response.context["counts"]["all"] == 4


def test_queue_ignores_unknown_reason(client, sdr, queue):
    client.force_login(sdr)
    assert len(names(client.get(QUEUE_URL, {"reason": "everything"}))) == 4


def test_queue_unknown_reason_named(client, sdr, queue):
    client.force_login(sdr)
    html = client.get(QUEUE_URL, {"reason": "bogus"}).content.decode()
    assert 'data-testid="queue-unknown-reason"' in html
    assert (
        "“bogus” is not a queue reason, so the queue shows all reasons: use one of research, "
        "enrichment, conflict, or pick a reason above."
    ) in html


def test_queue_known_reason_no_warning(client, sdr, queue):
    client.force_login(sdr)
    html = client.get(QUEUE_URL, {"reason": "research"}).content.decode()
    assert 'data-testid="queue-unknown-reason"' not in html


def test_queue_row_explains_reason(client, sdr, queue):
    client.force_login(sdr)
    html = client.get(QUEUE_URL, {"reason": "conflict"}).content.decode()
    assert "Conflict to resolve" in html
    assert "Industry: sources disagree (Apollo: SaaS; ZoomInfo: FinTech)." in html
    assert "No source for company size, country: enrich the account." in html


def test_queue_row_names_missing_fields(client, sdr, queue):
    client.force_login(sdr)
    html = client.get(QUEUE_URL, {"reason": "research"}).content.decode()
    assert "Missing for scoring: Country." in html
    assert "No tag yet" in html


def test_queue_row_groups_single_source_fields(client, sdr):
    AccountFactory(
        name="Thin",
        owner=sdr,
        tag="SaaS – SMB – US",
        field_status={
            "industry": {"status": "single_source", "sources": ["apollo"], "values": {}},
            "company_size": {"status": "single_source", "sources": ["apollo"], "values": {}},
            "country": {"status": "verified", "sources": ["apollo", "sp500"], "values": {}},
        },
    )
    client.force_login(sdr)
    html = client.get(QUEUE_URL).content.decode()
    assert "One source only for industry, company size: confirm with a second source." in html


def test_ae_queue_holds_only_own_accounts(client, ae, queue):
    client.force_login(ae)
    assert names(client.get(QUEUE_URL)) == ["AE's"]


def test_manager_queue_holds_team_accounts(client, manager, team, queue):
    client.force_login(manager)
    response = client.get(QUEUE_URL)
    assert set(names(response)) == {
        "Untagged",
        "Unverified",
        "Conflicting",
        "Missing fields",
        "AE's",
    }
    assert response.context["counts"]["all"] == 5
    assert "My team's queue" in response.content.decode()


def test_manager_queue_holds_unowned_conflicts(client, manager, team, sdr, queue):
    AccountFactory(
        name="Unowned conflict", owner=None, **{**DONE, "verification_status": "conflicting"}
    )
    client.force_login(manager)
    response = client.get(QUEUE_URL, {"reason": "conflict"})
    assert names(response) == ["Conflicting", "Unowned conflict"]
    assert response.context["counts"]["conflict"] == 2
    client.force_login(sdr)
    assert "Unowned conflict" not in names(client.get(QUEUE_URL))


def test_queue_paginates(client, sdr):
    for number in range(30):
        AccountFactory(name=f"Queue {number:02}", owner=sdr, tag="")
    client.force_login(sdr)
    first = client.get(QUEUE_URL)
    second = client.get(QUEUE_URL, {"page": 2})
    assert len(names(first)) == 25
    assert len(names(second)) == 5


def test_queue_page_links(client, sdr):
    for number in range(30):
        AccountFactory(name=f"Queue {number:02}", owner=sdr, tag="")
    client.force_login(sdr)

    first = client.get(QUEUE_URL, {"reason": "research"}).content.decode()
    second = client.get(QUEUE_URL, {"reason": "research", "page": 2}).content.decode()

    assert '<nav aria-label="Queue pages">' in first
    assert '<span class="page-link">Page 1 of 2</span>' in first
    assert '<li class="page-item disabled"><span class="page-link">Previous</span></li>' in first
    assert 'href="?reason=research&amp;page=2" rel="next">Next</a>' in first
    assert 'href="?reason=research&amp;page=1" rel="prev">Previous</a>' in second
    assert '<span class="page-link">Page 2 of 2</span>' in second
    assert '<li class="page-item disabled"><span class="page-link">Next</span></li>' in second


def test_queue_single_page_has_no_links(client, sdr, queue):
    client.force_login(sdr)
    page = client.get(QUEUE_URL).content.decode()
    assert "Queue pages" not in page
    assert "pagination" not in page


@pytest.mark.parametrize("role_fixture", ["marketing", "leadership", "sales_ops"])
def test_queue_denied_to_roles_without_accounts(client, db, request, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(QUEUE_URL).status_code == 403


def test_queue_denied_without_role(client, make_user):
    client.force_login(make_user(None, username="no-role"))
    assert client.get(QUEUE_URL).status_code == 403


def test_queue_redirects_anonymous(client):
    response = client.get(QUEUE_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_queue_query_count_does_not_grow(client, sdr):
    client.force_login(sdr)
    AccountFactory(name="First", owner=sdr, tag="")
    with CaptureQueriesContext(connection) as small:
        client.get(QUEUE_URL)
    for number in range(20):
        AccountFactory(name=f"More {number}", owner=sdr, tag="", verification_status="conflicting")
    with CaptureQueriesContext(connection) as large:
        client.get(QUEUE_URL)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_queue_counts_use_one_query(sdr, queue, django_assert_num_queries):
    sdr._icp_roles = frozenset({"SDR"})
    with django_assert_num_queries(1):
        selectors.queue_counts(sdr)
