import codecs
import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import workspace
from accounts.exports import ACCOUNT_CSV_HEADER
from accounts.models import Account, SegmentOverride
from accounts.views.bulk import skipped_summary
from tests.factories import AccountFactory

from .conftest import HTMX

BULK_URL = reverse("accounts:account-bulk")
LIST_URL = reverse("accounts:account-list")


@pytest.fixture
def accounts(sdr, ae, sdr2, approved_framework):
    """Two accounts of the manager's team, one unassigned and one of another team."""
    common = {"framework": approved_framework, "tag": "SaaS – SMB – US", "tier": "medium"}
    return {
        "team_sdr": AccountFactory(name="Alpha", owner=sdr, **common),
        "team_ae": AccountFactory(name="Bravo", owner=ae, **common),
        "unassigned": AccountFactory(name="Charlie", owner=None, **common),
        "other_team": AccountFactory(name="Delta", owner=sdr2, **common),
    }


def ids(*accounts: Account) -> list[str]:
    return [str(account.pk) for account in accounts]


def test_list_has_row_checkboxes_and_select_all(client, sdr, accounts):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    assert 'data-select-page aria-label="Select every account on this page"' in html
    assert f'name="account_ids" value="{accounts["team_sdr"].pk}"' in html
    assert 'form="bulk-form"' in html
    assert 'id="bulk-form"' in html


def test_bulk_actions_offered_by_role(client, sdr, sales_ops, marketing, accounts):
    def offered(user) -> list[str]:
        client.force_login(user)
        form = client.get(LIST_URL).context["bulk_form"]
        return [value for value, _label in form.fields["action"].choices if value]

    assert offered(sdr) == ["take", "enrich", "tag", "export"]
    assert offered(sales_ops) == ["assign", "enrich", "export"]
    assert offered(marketing) == ["export"]


# Assign --------------------------------------------------------------------------------


def test_assign_asks_for_confirmation_with_count(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL,
        {"action": "assign", "owner": str(sdr2.pk), "account_ids": ids(*accounts.values())},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Assign 4 accounts to Dana Okafor?" in html
    assert 'name="confirmed" value="1"' in html
    assert Account.objects.filter(owner=sdr2).count() == 1


def test_assign_confirmed_changes_owners(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL,
        {
            "action": "assign",
            "owner": str(sdr2.pk),
            "account_ids": ids(accounts["team_sdr"], accounts["unassigned"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "Assigned 2 accounts to Dana Okafor." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"accountsChanged": {}}
    assert Account.objects.get(pk=accounts["team_sdr"].pk).owner == sdr2
    assert Account.objects.get(pk=accounts["unassigned"].pk).owner == sdr2


def test_assign_writes_history_by_user(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    client.post(
        BULK_URL,
        {
            "action": "assign",
            "owner": str(sdr2.pk),
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    record = accounts["team_sdr"].history.order_by("-history_date").first()
    assert record.owner_id == sdr2.pk
    assert record.history_user == sales_ops
    assert record.history_channel == "page"


def test_manager_assign_skips_other_teams_and_reports(client, manager, team, ae, accounts):
    client.force_login(manager)
    data = {"action": "assign", "owner": str(ae.pk), "account_ids": ids(*accounts.values())}
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    result = client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX).content.decode()
    assert "Assign 3 accounts to Alex Kim?" in confirm
    assert "1 selected account will be skipped" in confirm
    assert "Delta" in confirm
    assert "Skipped 1 account that you may not change" in result
    assert Account.objects.get(pk=accounts["other_team"].pk).owner.username == "sdr2"
    assert Account.objects.get(pk=accounts["unassigned"].pk).owner == ae


def test_sdr_may_not_assign(client, sdr, sdr2, accounts):
    client.force_login(sdr)
    response = client.post(
        BULK_URL,
        {
            "action": "assign",
            "owner": str(sdr2.pk),
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 403
    assert Account.objects.get(pk=accounts["team_sdr"].pk).owner == sdr


def test_sales_ops_may_not_override_tags(client, sales_ops, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL,
        {
            "action": "tag",
            "tier": "low",
            "reason": "Test",
            "account_ids": ids(accounts["unassigned"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 403
    assert not SegmentOverride.objects.exists()


def test_assign_requires_owner(client, sales_ops, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL, {"action": "assign", "account_ids": ids(accounts["team_sdr"])}, **HTMX
    )
    assert response.status_code == 422
    assert "Choose the new owner." in response.content.decode()


def test_assign_to_non_owner_role_one_error(client, sales_ops, marketing, accounts):
    # A hand-made request: the list offers only SDRs, AEs and Sales Managers.
    client.force_login(sales_ops)
    data = {
        "action": "assign",
        "owner": str(marketing.pk),
        "account_ids": ids(accounts["team_sdr"]),
    }

    response = client.post(BULK_URL, data, **HTMX)

    html = response.content.decode()
    assert response.status_code == 422
    assert (
        f"<li>New owner: User {marketing.pk} cannot own accounts: choose an SDR, AE or Sales "
        "Manager from the list.</li>"
    ) in html
    assert html.count("New owner:") == 1
    assert "Choose the new owner." not in html
    assert "Select a valid choice" not in html
    assert Account.objects.get(pk=accounts["team_sdr"].pk).owner.username == "sdr"


def test_unknown_account_id_reported_not_found(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    data = {
        "action": "assign",
        "owner": str(sdr2.pk),
        "account_ids": [*ids(accounts["unassigned"]), "999999999"],
    }

    html = client.post(BULK_URL, data, **HTMX).content.decode()

    assert "Assign 1 account to Dana Okafor?" in html
    assert "1 selected account was not found (deleted, or the id is wrong), so it is left out." in (
        html
    )
    assert "deleted in the meantime" not in html


@pytest.mark.parametrize("enforce_csrf_checks", [False, True])
def test_too_many_account_ids_explained(sales_ops, sdr2, enforce_csrf_checks):
    # One page of the list posts at most 100 ids. A hand-made request with 5,000 breaks
    # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000), which is checked before the view.
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(sales_ops)
    client.get(LIST_URL)
    data = {
        "action": "assign",
        "owner": str(sdr2.pk),
        "account_ids": [str(number) for number in range(1, 5001)],
    }
    # As htmx sends it, so the CSRF check reads the form before the view does.
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value, **HTMX}

    response = client.post(BULK_URL, data, **headers)

    html = response.content.decode()
    assert response.status_code == 400
    assert "The form sent more than 1000 values" in html
    assert "A bulk action changes at most 500 accounts" in html


def test_bulk_requires_selection(client, sales_ops, sdr2):
    client.force_login(sales_ops)
    response = client.post(BULK_URL, {"action": "assign", "owner": str(sdr2.pk)}, **HTMX)
    assert response.status_code == 422
    assert "No account is selected" in response.content.decode()


def test_bulk_without_htmx_redirects_with_message(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL,
        {
            "action": "assign",
            "owner": str(sdr2.pk),
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
            "next": "/accounts/?tier=medium",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/?tier=medium"
    assert "Assigned 1 account to Dana Okafor." in response.content.decode()


def test_bulk_ignores_offsite_next(client, sales_ops, sdr2, accounts):
    client.force_login(sales_ops)
    response = client.post(
        BULK_URL,
        {
            "action": "assign",
            "owner": str(sdr2.pk),
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == LIST_URL


# Tag override --------------------------------------------------------------------------


def test_tag_override_with_reason(client, sdr, accounts):
    client.force_login(sdr)
    data = {
        "action": "tag",
        "tag": "FinTech – SMB – US",
        "tier": "high",
        "reason": "Payments companies",
        "account_ids": ids(accounts["team_sdr"], accounts["unassigned"], accounts["team_ae"]),
    }
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    result = client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX).content.decode()
    overrides = SegmentOverride.objects.filter(kind=SegmentOverride.Kind.MANUAL_TAG)
    assert "Set the tag “FinTech – SMB – US” and the tier High on 2 accounts?" in confirm
    assert "Bravo" in result
    assert overrides.count() == 2
    assert {override.reason for override in overrides} == {"Payments companies"}
    assert Account.objects.get(pk=accounts["team_sdr"].pk).tag == "FinTech – SMB – US"
    assert Account.objects.get(pk=accounts["team_ae"].pk).tag == "SaaS – SMB – US"


def test_tag_reason_keeps_line_breaks(client, sdr, accounts):
    client.force_login(sdr)
    reason = "Payments companies\r\nConfirmed on the discovery call"
    data = {
        "action": "tag",
        "tag": "FinTech – SMB – US",
        "reason": reason,
        "account_ids": ids(accounts["team_sdr"]),
    }
    page = client.get(LIST_URL).content.decode()
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX)
    override = SegmentOverride.objects.get(kind=SegmentOverride.Kind.MANUAL_TAG)
    account_page = client.get(accounts["team_sdr"].get_absolute_url()).content.decode()
    stored = "Payments companies\nConfirmed on the discovery call"
    assert '<textarea name="reason"' in page
    assert f'name="reason" value="{stored}"' in confirm
    assert override.reason == stored
    assert "Payments companies<br>Confirmed on the discovery call" in account_page


@pytest.mark.parametrize(
    ("reason", "stored"),
    [("🚀" * 500, "🚀" * 500), ("line\r\n" * 100, "line\n" * 99 + "line")],
)
def test_tag_reason_counts_code_points(client, sdr, accounts, reason, stored):
    client.force_login(sdr)
    data = {
        "action": "tag",
        "tag": "FinTech – SMB – US",
        "reason": reason,
        "account_ids": ids(accounts["team_sdr"]),
    }
    client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX)
    override = SegmentOverride.objects.get(kind=SegmentOverride.Kind.MANUAL_TAG)
    assert override.reason == stored


def test_tag_reason_over_limit_rejected(client, sdr, accounts):
    client.force_login(sdr)
    data = {
        "action": "tag",
        "tag": "FinTech – SMB – US",
        "reason": "🚀" * 501,
        "account_ids": ids(accounts["team_sdr"]),
    }
    html = client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX).content.decode()
    assert "Reason is 501 characters long, more than the 500 allowed" in html
    assert not SegmentOverride.objects.exists()


def test_tag_reason_field_has_counter(client, sdr, accounts):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    textarea = html[html.index('<textarea name="reason"') :]
    assert "maxlength" not in textarea[: textarea.index(">")]
    assert 'data-max-length="500"' in textarea[: textarea.index(">")]
    assert 'data-counter="bulk_reason-counter"' in textarea[: textarea.index(">")]
    assert '<span id="bulk_reason-counter"' in html


def test_tag_confirmation_warns_of_unconfirmed_fields(client, sdr, accounts):
    Account.objects.filter(pk=accounts["team_sdr"].pk).update(
        field_status={"industry": {"status": "single_source"}}
    )
    Account.objects.filter(pk=accounts["unassigned"].pk).update(
        field_status={"industry": {"status": "verified"}}
    )
    client.force_login(sdr)
    data = {
        "action": "tag",
        "tier": "high",
        "reason": "Payments companies",
        "account_ids": ids(accounts["team_sdr"], accounts["unassigned"]),
    }
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    assert 'data-testid="bulk-unconfirmed"' in confirm
    assert "1 of these accounts</strong>" in confirm
    assert "Alpha." in confirm
    assert "Charlie" not in confirm.split('data-testid="bulk-unconfirmed"')[1].split("</div>")[0]


def test_tag_override_checks_template_before_confirming(client, sdr, accounts):
    client.force_login(sdr)
    data = {
        "action": "tag",
        "reason": "Payments companies",
        "account_ids": ids(accounts["team_sdr"], accounts["unassigned"]),
    }
    rejected = client.post(BULK_URL, {**data, "tag": "Payments – SMB – US"}, **HTMX)
    confirm = client.post(BULK_URL, {**data, "tag": "fintech - smb - us"}, **HTMX)
    assert rejected.status_code == 422
    assert "does not follow the tag template" in rejected.content.decode()
    assert "Set the tag “FinTech – SMB – US” on 2 accounts?" in confirm.content.decode()
    assert not SegmentOverride.objects.exists()


def test_tag_override_requires_reason(client, sdr, accounts):
    client.force_login(sdr)
    response = client.post(
        BULK_URL,
        {
            "action": "tag",
            "tier": "low",
            "reason": "",
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert "Reason is empty" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_tag_override_requires_tag_or_tier(client, sdr, accounts):
    client.force_login(sdr)
    response = client.post(
        BULK_URL,
        {"action": "tag", "reason": "Why not", "account_ids": ids(accounts["team_sdr"])},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Enter a tag or choose a tier" in response.content.decode()


def test_nothing_allowed_offers_no_confirm(client, sdr, accounts):
    client.force_login(sdr)
    html = client.post(
        BULK_URL,
        {"action": "tag", "tier": "low", "reason": "x", "account_ids": ids(accounts["other_team"])},
        **HTMX,
    ).content.decode()
    assert "You may not change any of the selected accounts" in html
    assert 'data-testid="bulk-confirm"' not in html


# Enrichment ----------------------------------------------------------------------------


def test_enrichment_start_queues_run(
    client, sdr, accounts, monkeypatch, django_capture_on_commit_callbacks
):
    from enrichment import tasks
    from enrichment.models import EnrichmentRun

    queued = []
    monkeypatch.setattr(
        tasks.accounts_enrich_task, "delay", lambda run_id, generation: queued.append(run_id)
    )
    client.force_login(sdr)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            BULK_URL,
            {
                "action": "enrich",
                "provider": "website",
                "account_ids": ids(accounts["team_sdr"], accounts["other_team"]),
                "confirmed": "1",
            },
            **HTMX,
        )
    run = EnrichmentRun.objects.get()
    html = response.content.decode()
    assert f"Started enrichment run {run.pk} of 1 account with Website." in html
    assert "Delta" in html
    assert queued == [run.pk]
    assert run.total == 1


def test_enrichment_unavailable_is_explained(client, sdr, accounts, monkeypatch):
    from enrichment.models import EnrichmentRun

    # Offer apollo although it has no API key, as after a settings change.
    monkeypatch.setattr(workspace, "enrichment_providers", lambda: ["website", "apollo"])
    client.force_login(sdr)
    response = client.post(
        BULK_URL,
        {
            "action": "enrich",
            "provider": "apollo",
            "account_ids": ids(accounts["team_sdr"]),
            "confirmed": "1",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert "Enrichment isn&#x27;t available with apollo" in html
    assert "ENRICHMENT_PROVIDERS" in html
    assert not EnrichmentRun.objects.exists()


def test_enrichment_confirmation_names_provider(client, sdr, accounts):
    client.force_login(sdr)
    html = client.post(
        BULK_URL,
        {"action": "enrich", "provider": "website", "account_ids": ids(accounts["team_sdr"])},
        **HTMX,
    ).content.decode()
    assert "Start enrichment of 1 account with Website?" in html


# Export --------------------------------------------------------------------------------


def export(client, *accounts: Account) -> list[list[str]]:
    response = client.post(
        BULK_URL, {"action": "export", "account_ids": ids(*accounts), "confirmed": "1"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    body = b"".join(response.streaming_content)
    # A byte order mark first, so that Excel reads the file as UTF-8.
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_asks_for_confirmation(client, marketing, accounts):
    client.force_login(marketing)
    html = client.post(
        BULK_URL, {"action": "export", "account_ids": ids(*accounts.values())}, **HTMX
    ).content.decode()
    assert "Export 4 accounts as CSV?" in html
    assert "data-close-modal" in html


def test_export_writes_selected_accounts(client, marketing, accounts):
    client.force_login(marketing)
    rows = export(client, accounts["team_sdr"], accounts["other_team"])
    assert rows[0] == ACCOUNT_CSV_HEADER
    assert rows[0][:3] == ["id", "name", "domain"]
    assert [row[1] for row in rows[1:]] == ["Alpha", "Delta"]


def test_export_marks_tag_set_by_hand(client, marketing, accounts):
    Account.objects.filter(pk=accounts["team_sdr"].pk).update(
        tag="Hand tag", tag_override="Hand tag"
    )
    client.force_login(marketing)
    rows = export(client, accounts["team_sdr"], accounts["other_team"])
    column = rows[0].index("tag_set_by_hand")
    assert [(row[1], row[column]) for row in rows[1:]] == [("Alpha", "true"), ("Delta", "false")]


def test_export_neutralizes_formulas(client, marketing, sdr):
    account = AccountFactory(
        name='=HYPERLINK("https://evil.example")',
        tag="-8",
        city="@SUM(A1)",
        region="+cmd",
        description="x",
        industry_raw="\tTabbed",
        technologies=["-2+3"],
        owner=sdr,
    )
    client.force_login(marketing)
    header, row = export(client, account)
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == '\'=HYPERLINK("https://evil.example")'
    assert cells["city"] == "'@SUM(A1)"
    assert cells["region"] == "'+cmd"
    assert cells["industry_raw"] == "'\tTabbed"
    assert cells["technologies"] == "'-2+3"
    assert cells["tag"] == "-8"


def test_export_matches_api_csv_of_same_accounts(client, marketing, sdr, saas):
    """The list page's export and the API's CSV share columns, headers and cell formats."""
    selected = [
        AccountFactory(name="Alpha", owner=sdr, industry=saas, tier="high", technologies=["a"]),
        AccountFactory(name="=Beta", technologies=["x", "y"], missing_fields=["country"]),
        AccountFactory(name="Gamma", city="Line\nbreak", annual_revenue_usd=Decimal("1234.50")),
    ]
    client.force_login(marketing)

    response = client.post(
        BULK_URL, {"action": "export", "account_ids": ids(*selected), "confirmed": "1"}
    )
    page_csv = b"".join(response.streaming_content).decode()
    api = client.get("/api/v1/accounts/", {"format": "csv", "ordering": "name"})
    api_csv = b"".join(api.streaming_content).decode()

    # Only the page's file starts with a byte order mark, for Excel.
    assert api.status_code == 200
    assert page_csv.splitlines()[0] == "\ufeff" + ",".join(ACCOUNT_CSV_HEADER)
    assert page_csv == "\ufeff" + api_csv


def test_export_datetimes_match_api_json(client, marketing, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    account = AccountFactory(name="Dated", scored_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    client.force_login(marketing)

    header, row = export(client, account)
    cells = dict(zip(header, row, strict=True))
    json_row = client.get(f"/api/v1/accounts/{account.pk}/").json()

    assert cells["scored_at"] == "2026-03-01T15:00:00+05:30"
    for column in ("scored_at", "created_at", "updated_at"):
        assert cells[column] == json_row[column], column


def test_export_datetimes_end_in_z_for_utc(client, marketing, settings):
    settings.TIME_ZONE = "UTC"
    account = AccountFactory(name="Dated", scored_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    client.force_login(marketing)

    header, row = export(client, account)
    cells = dict(zip(header, row, strict=True))

    assert cells["scored_at"] == "2026-03-01T09:30:00Z"
    assert cells["created_at"].endswith("Z")
    assert cells["updated_at"].endswith("Z")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("-8", "-8"),
        ("-8.5", "-8.5"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (42, "42"),
        (None, ""),
    ],
)
def test_csv_safe_cell(value, expected):
    assert workspace.csv_safe_cell(value) == expected


def test_bulk_denied_without_role(client, make_user, accounts):
    client.force_login(make_user(None, username="no-role"))
    response = client.post(
        BULK_URL, {"action": "export", "account_ids": ids(accounts["team_sdr"])}, **HTMX
    )
    assert response.status_code == 403


def test_skipped_summary_ends_once():
    summary = skipped_summary([Account(name="Acme Corp."), Account(name="Blue Ltd")])
    single = skipped_summary([Account(name="Anvil Group Corp.")])

    assert summary == "Skipped 2 accounts that you may not change: Acme Corp., Blue Ltd."
    assert single == "Skipped 1 account that you may not change: Anvil Group Corp."


def test_bulk_skipped_name_ends_once(client, manager, team, ae, accounts):
    Account.objects.filter(pk=accounts["other_team"].pk).update(name="Anvil Bridge Bio Corp.")
    client.force_login(manager)
    data = {"action": "assign", "owner": str(ae.pk), "account_ids": ids(*accounts.values())}
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    result = client.post(BULK_URL, {**data, "confirmed": "1"}, **HTMX).content.decode()
    confirm_skipped = confirm.split('data-testid="bulk-skipped"')[1].split("</div>")[0]
    result_skipped = result.split('data-testid="bulk-skipped"')[1].split("</div>")[0]

    assert "Anvil Bridge Bio Corp." in confirm_skipped
    assert "Corp.." not in confirm_skipped
    assert "Anvil Bridge Bio Corp.</a>" in result_skipped
    assert "</a>." not in result_skipped


def test_bulk_unconfirmed_name_ends_once(client, sdr, accounts):
    Account.objects.filter(pk=accounts["team_sdr"].pk).update(
        name="Alpha Corp.", field_status={"industry": {"status": "single_source"}}
    )
    client.force_login(sdr)
    data = {
        "action": "tag",
        "tier": "high",
        "reason": "Payments companies",
        "account_ids": ids(accounts["team_sdr"]),
    }
    confirm = client.post(BULK_URL, data, **HTMX).content.decode()
    unconfirmed = confirm.split('data-testid="bulk-unconfirmed"')[1].split("</div>")[0]

    assert "Alpha Corp." in unconfirmed
    assert "Corp.." not in unconfirmed
