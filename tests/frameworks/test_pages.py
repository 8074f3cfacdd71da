import csv
import io
from datetime import UTC

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account
from accounts.normalizers import industry_key
from accounts.selectors import user_label
from segmentation.forms import SUMMARY_REQUIRED_MESSAGE
from segmentation.lifecycle import (
    framework_approve,
    framework_draft_create,
    framework_return_to_draft,
    framework_submit,
    submission_stamp,
)
from segmentation.models import (
    Criterion,
    Framework,
    FrameworkRevision,
    FrameworkStatus,
    IndustrySynonym,
    ScoreRecord,
    SegmentationRun,
)
from segmentation.services import accounts_segment

from .changes import raise_high_cutoff, shorten_tag_template


def signed_in(client, user):
    client.force_login(user)
    return client


def test_list_shows_versions(client, draft, sdr):
    response = signed_in(client, sdr).get(reverse("segmentation:framework-list"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "v1" in content
    assert "Approved (active)" in content
    assert f"v{draft.version}" in content
    assert "Create draft from this version" not in content
    assert ">Approve<" not in content


def test_list_buttons_for_sales_ops(client, draft, ops_user):
    content = signed_in(client, ops_user).get(reverse("segmentation:framework-list")).content
    text = content.decode()
    assert f"Open draft v{draft.version}" in text
    assert "Create a second draft from v1" in text
    assert reverse("segmentation:framework-submit", args=[draft.version]) in text
    assert reverse("segmentation:framework-preview", args=[draft.version]) in text
    assert ">Approve<" not in text


def test_list_buttons_for_leadership(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    text = signed_in(client, leader).get(reverse("segmentation:framework-list")).content.decode()
    assert reverse("segmentation:framework-approve", args=[draft.version]) in text
    assert "Create draft from this version" not in text


def test_nav_has_frameworks_link(client, sdr, active_framework):
    text = signed_in(client, sdr).get(reverse("segmentation:framework-list")).content.decode()
    assert f'href="{reverse("segmentation:framework-list")}"' in text
    assert ">Frameworks</a>" in text


def test_anonymous_redirected(client, db):
    response = client.get(reverse("segmentation:framework-list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_submit_page_submits(client, draft, ops_user):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    response = signed_in(client, ops_user).post(url, {"summary": "Drop FinTech"})
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.status == FrameworkStatus.SUBMITTED
    assert FrameworkRevision.objects.get().summary == "Drop FinTech"


def test_submit_page_rejects_unchanged_copy(client, unchanged_draft, ops_user):
    url = reverse("segmentation:framework-submit", args=[unchanged_draft.version])
    response = signed_in(client, ops_user).post(url, {"summary": "No changes at all"})
    unchanged_draft.refresh_from_db()
    assert response.status_code == 200
    assert "nothing changed since it was copied from v1" in response.content.decode()
    assert unchanged_draft.status == FrameworkStatus.DRAFT


def test_submit_summary_stores_lf_breaks(client, draft, ops_user):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    summary = "Drop FinTech\r\nAdd 🚀 startups\r\n"
    response = signed_in(client, ops_user).post(url, {"summary": summary})
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.summary == "Drop FinTech\nAdd 🚀 startups"
    assert FrameworkRevision.objects.get().summary == "Drop FinTech\nAdd 🚀 startups"


def test_submit_page_requires_summary(client, draft, ops_user):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    response = signed_in(client, ops_user).post(url, {"summary": ""})
    draft.refresh_from_db()
    assert response.status_code == 200
    assert draft.status == FrameworkStatus.DRAFT


@pytest.mark.parametrize("summary", ["", "  \r\n\t "])
def test_submit_page_explains_missing_summary(client, draft, ops_user, summary):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    response = signed_in(client, ops_user).post(url, {"summary": summary})
    draft.refresh_from_db()
    content = response.content.decode()
    assert response.status_code == 200
    assert draft.status == FrameworkStatus.DRAFT
    assert "This field is required." not in content
    assert "Summarise what changed in this version and why, for example:" in content
    assert response.context["form"].errors["summary"] == [SUMMARY_REQUIRED_MESSAGE]


def test_submit_page_denied_to_leadership(client, draft, leader):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    assert signed_in(client, leader).get(url).status_code == 403


def test_approve_page_starts_run(
    client, draft, ops_user, leader, make_account, django_capture_on_commit_callbacks
):
    make_account("SaaS", employee_count=300, country="SG")
    framework_submit(framework=draft, user=ops_user, summary="x")
    url = reverse("segmentation:framework-approve", args=[draft.version])
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(client, leader).post(url)
    run = SegmentationRun.objects.get(kind=SegmentationRun.Kind.APPROVAL)
    listing = client.get(reverse("segmentation:framework-list")).content.decode()
    assert response.status_code == 302
    assert reverse("segmentation:run-detail", args=[run.pk]) in listing
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == 1


def test_approve_message_for_finished_run(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    # This run is what an eager worker leaves behind before the redirect.
    run = SegmentationRun.objects.create(
        framework=draft,
        kind=SegmentationRun.Kind.APPROVAL,
        status=SegmentationRun.Status.SUCCEEDED,
    )
    url = reverse("segmentation:framework-approve", args=[draft.version])
    page = signed_in(client, leader).post(url, follow=True).content.decode()
    assert f"Framework v{draft.version} approved and active." in page
    assert f"Run {run.pk} re-scored every account." in page
    assert "is re-scoring" not in page
    assert ">Succeeded<" in page


def test_approve_message_for_queued_run(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    url = reverse("segmentation:framework-approve", args=[draft.version])
    response = signed_in(client, leader).post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("segmentation:framework-list")
    assert "Re-segmentation of every account is queued" in response.content.decode()


def test_approve_form_names_replaced_version(client, draft, ops_user, leader, active_framework):
    framework_submit(framework=draft, user=ops_user, summary="x")
    signed_in(client, leader)
    expected = (
        f'data-confirm="Approve v{draft.version}? It replaces the active '
        f'v{active_framework.version}, which is retired, and every account is re-scored."'
    )
    listing = client.get(reverse("segmentation:framework-list")).content.decode()
    preview = client.get(
        reverse("segmentation:framework-preview", args=[draft.version])
    ).content.decode()
    assert expected in listing
    assert expected in preview


def test_approve_form_without_active_version(client, draft, ops_user, leader, active_framework):
    framework_submit(framework=draft, user=ops_user, summary="x")
    Framework.objects.filter(pk=active_framework.pk).update(status=FrameworkStatus.RETIRED)
    listing = signed_in(client, leader).get(reverse("segmentation:framework-list"))
    assert (
        f'data-confirm="Approve v{draft.version}? It becomes the active version '
        'and every account is scored."'
    ) in listing.content.decode()


def test_approve_page_denied_to_ops(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    url = reverse("segmentation:framework-approve", args=[draft.version])
    response = signed_in(client, ops_user).post(url)
    draft.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 403
    assert draft.status == FrameworkStatus.SUBMITTED
    assert "Only Sales Leadership can approve a framework version." in page
    assert "ask a superuser or Sales Leadership" in page
    assert "ask your manager or Sales Ops" not in page


def test_approve_error_shown(client, draft, leader):
    url = reverse("segmentation:framework-approve", args=[draft.version])
    response = signed_in(client, leader).post(url, follow=True)
    assert "only a submitted version can" in response.content.decode()


def test_preview_page_and_results(client, draft, ops_user, make_account, active_framework):
    make_account("FinTech", employee_count=300, country="SG")
    accounts_segment()
    draft.criteria.filter(dimension="industry").update(values=["SaaS"])
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:framework-preview", args=[draft.version]))
    results = client.get(
        reverse("segmentation:framework-preview-results", args=[draft.version]),
        HTTP_HX_REQUEST="true",
    )
    text = results.content.decode()
    assert page.status_code == 200
    assert "framework-preview-results" not in page.content.decode()
    assert reverse("segmentation:framework-preview-results", args=[draft.version]) in (
        page.content.decode()
    )
    assert results.status_code == 200
    assert 'data-testid="preview-moved">1<' in text
    assert "is not a target industry" in text
    assert ScoreRecord.objects.count() == 1


def test_preview_shows_zero_score(client, draft, ops_user, make_account, active_framework):
    make_account("FinTech", employee_count=300, country="SG")
    accounts_segment()
    draft.criteria.filter(dimension="industry").update(is_disqualifier=True)
    signed_in(client, ops_user)

    results = client.get(
        reverse("segmentation:framework-preview-results", args=[draft.version]),
        HTTP_HX_REQUEST="true",
    )

    movers = results.content.decode().split('data-testid="top-movers"')[1]
    assert results.status_code == 200
    assert " → 0 " in movers
    assert "→ —" not in movers


def test_preview_warns_without_bands_map(client, draft, ops_user):
    draft.size_bands.all().delete()
    draft.geography_mappings.all().delete()
    signed_in(client, ops_user)

    response = client.get(reverse("segmentation:framework-preview", args=[draft.version]))

    page = response.content.decode()
    assert page.count('data-testid="preview-placement-warning"') == 2
    assert "has no size bands, so no account gets a size band" in page
    assert "has no geography map, so every account&#x27;s geography" in page


def test_account_page_shows_not_excluded(client, draft, ops_user, make_account):
    account = make_account("FinTech", employee_count=300, country="SG")
    Criterion.objects.create(
        framework=draft,
        dimension="industry",
        label="Exclude energy",
        operator="in",
        values=["Energy & Utilities"],
        is_disqualifier=True,
        position=99,
    )
    # Only the approved version writes results, so the draft takes over from version 1.
    Framework.objects.filter(status=FrameworkStatus.APPROVED).update(status=FrameworkStatus.RETIRED)
    Framework.objects.filter(pk=draft.pk).update(status=FrameworkStatus.APPROVED)
    accounts_segment(framework=draft, account_ids=[account.pk])

    response = signed_in(client, ops_user).get(
        reverse("accounts:account-detail", args=[account.pk])
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Industry FinTech is not excluded" in page
    assert '<span class="outcome outcome-not_excluded">Not excluded</span>' in page


def test_preview_of_approved_redirects(client, ops_user, active_framework):
    url = reverse("segmentation:framework-preview", args=[active_framework.version])
    response = signed_in(client, ops_user).get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("segmentation:framework-list")
    assert "so it has no impact preview" in response.content.decode()


def test_preview_results_of_approved_not_found(client, ops_user, active_framework):
    url = reverse("segmentation:framework-preview-results", args=[active_framework.version])
    assert signed_in(client, ops_user).get(url).status_code == 404


def test_preview_warns_about_outdated_copy(client, active_framework, ops_user, leader):
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    shorten_tag_template(second)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_submit(framework=second, user=ops_user, summary="Change the tag")
    framework_approve(framework=first, user=leader)
    url = reverse("segmentation:framework-preview", args=[second.version])
    html = signed_in(client, leader).get(url).content.decode()
    assert 'data-testid="preview-outdated"' in html
    assert "would undo the changes" in html
    assert reverse("segmentation:framework-approve", args=[second.version]) not in html


def test_submit_page_names_active_version(client, active_framework, ops_user, leader):
    # The second copy was made from v1, which v2's approval retired.
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=first, user=leader)
    url = reverse("segmentation:framework-submit", args=[second.version])

    html = signed_in(client, ops_user).get(url).content.decode()

    assert f"Approval makes it active, retires v{first.version}, and" in html
    assert f"retires v{active_framework.version}" not in html
    assert 'data-testid="submit-outdated"' in html
    assert "would undo the changes" in html


def test_approve_from_stale_preview_rejected(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    draft.refresh_from_db()
    previewed = submission_stamp(draft)
    framework_return_to_draft(framework=draft, user=ops_user)
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs more")
    url = reverse("segmentation:framework-approve", args=[draft.version])
    response = signed_in(client, leader).post(url, {"submitted_at": previewed}, follow=True)
    draft.refresh_from_db()
    assert "open its impact preview again" in response.content.decode()
    assert draft.status == FrameworkStatus.SUBMITTED


def test_approve_with_invalid_submission_time(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    url = reverse("segmentation:framework-approve", args=[draft.version])
    response = signed_in(client, leader).post(url, {"submitted_at": "March 1"}, follow=True)
    draft.refresh_from_db()
    html = response.content.decode()
    assert "The submission time &#x27;March 1&#x27; sent with this approval is invalid" in html
    assert draft.status == FrameworkStatus.SUBMITTED


def test_preview_approve_form_sends_submission(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    draft.refresh_from_db()
    url = reverse("segmentation:framework-preview", args=[draft.version])
    html = signed_in(client, leader).get(url).content.decode()
    assert f'name="submitted_at" value="{submission_stamp(draft)}"' in html


def test_submit_page_of_submitted_version_redirects(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    url = reverse("segmentation:framework-submit", args=[draft.version])
    response = signed_in(client, ops_user).get(url, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("segmentation:framework-list")
    assert "Framework v2 is already submitted and waits for Sales Leadership" in html
    assert "return it to draft in the admin" in html
    assert "Create a draft from it" not in html


def test_submit_page_posted_twice_explained(client, draft, ops_user):
    url = reverse("segmentation:framework-submit", args=[draft.version])
    signed_in(client, ops_user)
    client.post(url, {"summary": "Stricter High tier"})
    response = client.post(url, {"summary": "Stricter High tier"}, follow=True)
    html = response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "submitted"
    assert "is already submitted and waits for Sales" in html
    assert FrameworkRevision.objects.filter(action="submitted").count() == 1


def test_submit_page_of_approved_version_explained(client, active_framework, ops_user):
    url = reverse("segmentation:framework-submit", args=[active_framework.version])
    response = signed_in(client, ops_user).get(url, follow=True)
    html = response.content.decode()
    assert "Framework v1 is approved (active), so it cannot be submitted" in html
    assert "Create a draft from it instead." in html


def test_preview_denied_to_sdr(client, draft, sdr):
    url = reverse("segmentation:framework-preview", args=[draft.version])
    assert signed_in(client, sdr).get(url).status_code == 403


def test_preview_reports_invalid_version(client, draft, ops_user):
    draft.criteria.filter(dimension="industry").update(values=["Nope"])
    url = reverse("segmentation:framework-preview-results", args=[draft.version])
    text = signed_in(client, ops_user).get(url).content.decode()
    assert "cannot be scored" in text
    assert "unknown industry" in text


def test_run_page_polls_until_done(client, ops_user, active_framework):
    run = SegmentationRun.objects.create(framework=active_framework, total=10, processed=4)
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:run-detail", args=[run.pk]))
    partial = client.get(reverse("segmentation:run-detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in page.content.decode()
    assert "<html" not in partial.content.decode()
    assert 'hx-trigger="every 2s"' in partial.content.decode()


def test_run_page_shows_summary(client, ops_user, active_framework, make_account):
    make_account("SaaS", employee_count=300, country="SG")
    run_id = accounts_segment().run_id
    text = (
        signed_in(client, ops_user)
        .get(reverse("segmentation:run-detail", args=[run_id]))
        .content.decode()
    )
    assert "every 2s" not in text
    assert 'data-testid="run-moved">1<' in text
    assert "SaaS – Mid-Market – APAC" in text


def test_run_page_names_selected_accounts(client, ops_user, active_framework, make_account):
    account = make_account("SaaS", name="Acme Analytics", employee_count=300, country="SG")
    run_id = accounts_segment(account_ids=[account.pk]).run_id

    text = (
        signed_in(client, ops_user)
        .get(reverse("segmentation:run-detail", args=[run_id]))
        .content.decode()
    )

    link = reverse("accounts:account-detail", args=[account.pk])
    assert f'<a href="{link}">Acme Analytics</a>' in text
    assert "tier before the selected accounts were scored again" in text
    assert "tier after approval" not in text


def test_quarterly_run_matrix_caption(client, ops_user, active_framework):
    run = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.QUARTERLY
    )

    text = (
        signed_in(client, ops_user)
        .get(reverse("segmentation:run-detail", args=[run.pk]))
        .content.decode()
    )

    assert "Rows: tier before the quarterly re-segmentation. Columns: tier after it." in text
    assert "tier after approval" not in text


def test_revisions_csv_neutralizes_formulas(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary='=HYPERLINK("http://x","y")')
    export = signed_in(client, ops_user).get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[1][3] == """'=HYPERLINK("http://x","y")"""


def test_revisions_page_and_csv(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech, raise cut-offs")
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:revision-list"))
    export = client.get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert "Drop FinTech, raise cut-offs" in page.content.decode()
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0] == [
        "date",
        "version",
        "action",
        "summary",
        "author",
        "approver",
        "editors",
        "submitters",
        "action_by",
    ]
    assert rows[1][1:] == [
        str(draft.version),
        "Submitted",
        "Drop FinTech, raise cut-offs",
        "ops",
        "",
        "",
        "ops",
        "ops",
    ]


def test_revisions_retirement_keeps_approver(client, draft, ops_user, leader, active_framework):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=draft, user=leader)
    signed_in(client, ops_user)

    export = client.get(reverse("segmentation:revision-export"))
    page = client.get(reverse("segmentation:revision-list")).content.decode()

    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    retired = next(row for row in rows if row["action"] == "Retired")
    approved = next(row for row in rows if row["action"] == "Approved")
    assert retired["version"] == str(active_framework.version)
    # Migration 0003 approved version 1 without an approver, so the column stays empty.
    assert retired["approver"] == ""
    assert retired["editors"] == ""
    assert retired["action_by"] == "leader"
    assert approved["approver"] == "leader"
    assert page.count('data-testid="revision-approver">leader<') == 1


def test_revisions_csv_matches_page_values(client, draft, ops_user, settings):
    settings.TIME_ZONE = "America/New_York"
    ops_user.first_name, ops_user.last_name = "Priya", "Natarajan"
    ops_user.save()
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    revision = draft.revisions.get()
    signed_in(client, ops_user)
    export = client.get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    page = client.get(reverse("segmentation:revision-list")).content.decode()
    local = timezone.localtime(revision.created_at)
    assert rows[1][0] == local.isoformat().replace("+00:00", "Z")
    assert rows[1][0].endswith(("-05:00", "-04:00"))
    assert f"{local:%Y-%m-%d %H:%M}" in page
    assert rows[1][2] == "Submitted"
    assert rows[1][4] == "Priya Natarajan"
    assert "Priya Natarajan" in page


def test_revisions_page_past_end_shows_last(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech, raise cut-offs")
    signed_in(client, ops_user)
    response = client.get(reverse("segmentation:revision-list"), {"page": 99})
    assert response.status_code == 200
    assert "Drop FinTech, raise cut-offs" in response.content.decode()


def test_revisions_denied_to_sdr(client, sdr, db):
    assert signed_in(client, sdr).get(reverse("segmentation:revision-list")).status_code == 403


@pytest.fixture
def unmapped_accounts(active_framework, make_account):
    accounts = [
        make_account(None, industry_raw="Neobank", employee_count=300, country="SG"),
        make_account(None, industry_raw="neobank", employee_count=300, country="SG"),
        make_account(None, industry_raw="Space Mining", employee_count=300, country="SG"),
    ]
    accounts_segment()
    return accounts


def test_unmapped_page_counts(client, ops_user, unmapped_accounts, django_assert_max_num_queries):
    signed_in(client, ops_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("segmentation:taxonomy-unmapped"))
    values = {item["industry_raw"]: item["accounts"] for item in response.context["values"]}
    assert values == {"Neobank": 2, "Space Mining": 1}
    assert response.context["total_accounts"] == 3


def test_unmapped_page_groups_variants(client, ops_user, active_framework, make_account):
    for raw in ("Crypto / Web3", "crypto/web3", "CRYPTO - WEB3", "Crypto / Web3"):
        make_account(None, industry_raw=raw)

    response = signed_in(client, ops_user).get(reverse("segmentation:taxonomy-unmapped"))

    groups = response.context["values"]
    assert len(groups) == 1
    assert groups[0]["industry_raw"] == "Crypto / Web3"
    assert groups[0]["accounts"] == 4
    assert groups[0]["variants"] == [("Crypto / Web3", 2), ("CRYPTO - WEB3", 1), ("crypto/web3", 1)]
    assert (
        'Variants: <q class="variant-text">Crypto / Web3</q> (2), '
        '<q class="variant-text">CRYPTO - WEB3</q> (1), <q class="variant-text">crypto/web3</q> (1)'
    ) in response.content.decode()


def test_unmapped_page_counts_missing_values(client, ops_user, active_framework, make_account):
    make_account(None, industry_raw="")
    make_account(None, industry_raw="")

    response = signed_in(client, ops_user).get(reverse("segmentation:taxonomy-unmapped"))

    page = response.content.decode()
    assert "2 accounts have no industry value at all" in page
    assert "Every account&#x27;s industry maps" not in page


def test_map_value_message_singular(client, ops_user, active_framework, make_account, industry_ids):
    make_account(None, industry_raw="Space Mining")
    url = reverse("segmentation:taxonomy-map")

    response = signed_in(client, ops_user).post(
        url, {"raw_value": "Space Mining", "industry": industry_ids["SaaS"]}, follow=True
    )

    page = response.content.decode()
    assert "1 account updated" in page
    assert "1 accounts" not in page


def test_map_value_resegments(client, ops_user, unmapped_accounts, industry_ids):
    url = reverse("segmentation:taxonomy-map")
    signed_in(client, ops_user)
    response = client.post(url, {"raw_value": "Neobank", "industry": industry_ids["FinTech"]})
    neobanks = Account.objects.filter(pk__in=[a.pk for a in unmapped_accounts[:2]])
    other = Account.objects.get(pk=unmapped_accounts[2].pk)
    synonym = IndustrySynonym.objects.get(value="Neobank")
    assert response.status_code == 302
    assert synonym.key == "neobank"
    assert synonym.industry_id == industry_ids["FinTech"]
    assert set(neobanks.values_list("industry_id", flat=True)) == {industry_ids["FinTech"]}
    assert set(neobanks.values_list("tag", flat=True)) == {"FinTech – Mid-Market – APAC"}
    assert other.industry_id is None
    assert ScoreRecord.objects.filter(account=other).count() == 1
    assert SegmentationRun.objects.order_by("-id").first().total == 2


def test_map_value_clash_reported(client, ops_user, unmapped_accounts, industry_ids):
    IndustrySynonym.objects.create(industry_id=industry_ids["SaaS"], value="NEOBANK", key="neobank")
    url = reverse("segmentation:taxonomy-map")
    response = signed_in(client, ops_user).post(
        url, {"raw_value": "Neobank", "industry": industry_ids["FinTech"]}, follow=True
    )
    assert "already maps to SaaS" in response.content.decode()
    assert Account.objects.filter(industry__isnull=True).count() == 3


def test_map_unseen_value_rejected(client, ops_user, unmapped_accounts, industry_ids):
    url = reverse("segmentation:taxonomy-map")
    response = signed_in(client, ops_user).post(
        url, {"raw_value": "Quantum Farming", "industry": industry_ids["SaaS"]}, follow=True
    )
    page = response.content.decode()
    assert "No account without an industry has the raw value &#x27;Quantum Farming&#x27;" in page
    assert "map a value from the list below" in page
    assert not IndustrySynonym.objects.filter(key="quantum farming").exists()
    assert Account.objects.filter(industry__isnull=True).count() == 3


def test_map_stale_page_says_mapped(client, ops_user, unmapped_accounts, industry_ids):
    url = reverse("segmentation:taxonomy-map")
    signed_in(client, ops_user)
    client.post(url, {"raw_value": "Neobank", "industry": industry_ids["FinTech"]})

    # The same form sent again from a second tab that still lists the value.
    response = client.post(
        url, {"raw_value": "Neobank", "industry": industry_ids["SaaS"]}, follow=True
    )

    page = response.content.decode()
    assert "already maps to FinTech" in page
    assert "was added after this page was loaded, so nothing was changed" in page
    assert "To map it to SaaS instead, edit that synonym in the admin" in page
    assert IndustrySynonym.objects.filter(key="neobank").count() == 1
    mapped = Account.objects.filter(industry_raw__iexact="neobank")
    assert set(mapped.values_list("industry_id", flat=True)) == {industry_ids["FinTech"]}


def test_map_vanished_spelling_names_others(
    client, ops_user, active_framework, make_account, industry_ids
):
    make_account(None, industry_raw="crypto/web3")
    make_account(None, industry_raw="CRYPTO - WEB3")
    url = reverse("segmentation:taxonomy-map")

    response = signed_in(client, ops_user).post(
        url, {"raw_value": "Crypto / Web3", "industry": industry_ids["SaaS"]}, follow=True
    )

    page = response.content.decode()
    assert "only its spellings &#x27;CRYPTO - WEB3&#x27;, &#x27;crypto/web3&#x27;" in page
    assert not IndustrySynonym.objects.filter(key=industry_key("Crypto / Web3")).exists()


def test_map_variant_spelling_maps_group(
    client, ops_user, active_framework, make_account, industry_ids
):
    accounts = [
        make_account(None, industry_raw="crypto/web3", employee_count=300, country="SG"),
        make_account(None, industry_raw="CRYPTO - WEB3", employee_count=300, country="SG"),
    ]
    url = reverse("segmentation:taxonomy-map")

    response = signed_in(client, ops_user).post(
        url, {"raw_value": "crypto/web3", "industry": industry_ids["FinTech"]}
    )

    assert response.status_code == 302
    assert IndustrySynonym.objects.get(key=industry_key("crypto/web3")).value == "crypto/web3"
    mapped = Account.objects.filter(pk__in=[account.pk for account in accounts])
    assert set(mapped.values_list("industry_id", flat=True)) == {industry_ids["FinTech"]}
    assert set(mapped.values_list("tag", flat=True)) == {"FinTech – Mid-Market – APAC"}


def test_map_without_raw_value_explained(client, ops_user, industry_ids):
    signed_in(client, ops_user)
    response = client.post(
        reverse("segmentation:taxonomy-map"), {"industry": industry_ids["SaaS"]}, follow=True
    )
    assert "The request named no raw industry value to map" in response.content.decode()


def test_unmapped_denied_to_leadership(client, leader, db):
    url = reverse("segmentation:taxonomy-unmapped")
    assert signed_in(client, leader).get(url).status_code == 403


def test_draft_button_creates_draft(client, ops_user, active_framework):
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    response = signed_in(client, ops_user).post(url)
    assert response.status_code == 302
    assert Framework.objects.get(version=2).based_on == active_framework


def test_draft_button_sent_twice_creates_one(client, ops_user, active_framework):
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:framework-list"))
    page_id = page.context["page_id"]
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    client.post(url, {"page_id": page_id})
    response = client.post(url, {"page_id": page_id}, follow=True)
    assert Framework.objects.filter(based_on=active_framework).count() == 1
    assert f'name="page_id" value="{page_id}"' in page.content.decode()
    assert "Draft v2 was already created from v1 by this button" in response.content.decode()


def test_draft_button_leads_to_open_draft(client, ops_user, active_framework):
    signed_in(client, ops_user)
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    page_id = client.get(reverse("segmentation:framework-list")).context["page_id"]
    client.post(url, {"page_id": page_id})
    draft = Framework.objects.get(based_on=active_framework)
    page = client.get(reverse("segmentation:framework-list"))
    response = client.post(url, {"page_id": page.context["page_id"]}, follow=True)
    html = page.content.decode()
    message = response.content.decode()
    draft_url = reverse("admin:segmentation_framework_change", args=[draft.pk])
    assert Framework.objects.filter(based_on=active_framework).count() == 1
    assert response.redirect_chain[-1][0] == draft_url
    assert f"Draft v{draft.version} is already open, by {user_label(ops_user)}, edited" in message
    assert f'href="{draft_url}" data-testid="open-copy-link">Open draft v2</a>' in html
    assert ">Create draft from this version</button>" not in html
    assert 'name="allow_parallel" value="1"' in html


def test_second_draft_needs_confirmation(client, ops_user, active_framework):
    signed_in(client, ops_user)
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    for _ in range(2):
        page_id = client.get(reverse("segmentation:framework-list")).context["page_id"]
        client.post(url, {"page_id": page_id, "allow_parallel": "1"})
    assert Framework.objects.filter(based_on=active_framework).count() == 2


def test_draft_button_names_submitted_copy(client, draft, ops_user, active_framework):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    response = signed_in(client, ops_user).post(url, {"page_id": "b"}, follow=True)
    text = response.content.decode()
    assert Framework.objects.filter(based_on=active_framework).count() == 1
    assert f"Framework v{draft.version} is already submitted for approval, by" in text
    assert (
        "Open submitted v2" in client.get(reverse("segmentation:framework-list")).content.decode()
    )


def test_draft_button_denied_to_manager(client, make_user, active_framework):
    manager = make_user(roles.SALES_MANAGER, username="mgr")
    url = reverse("segmentation:framework-draft-create", args=[active_framework.version])
    assert signed_in(client, manager).post(url).status_code == 403


def test_list_hides_approve_of_outdated_copy(client, active_framework, ops_user, leader):
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    shorten_tag_template(second)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_submit(framework=second, user=ops_user, summary="Change the tag")
    framework_approve(framework=first, user=leader)
    html = signed_in(client, leader).get(reverse("segmentation:framework-list")).content.decode()
    assert "Outdated copy: cannot be approved" in html
    assert reverse("segmentation:framework-approve", args=[second.version]) not in html


def test_list_credits_v1_to_setup(client, sdr):
    html = signed_in(client, sdr).get(reverse("segmentation:framework-list")).content.decode()
    row = html[html.index('<tr data-version="1">') :]
    row = row[: row.index("</tr>")]
    assert row.count('data-testid="initial-setup">with the initial setup</span>') == 2
    assert "by —" not in row


@pytest.fixture
def retired_v1(active_framework, draft, ops_user, leader):
    """Version 1 retired by the approval of its copy, version 2."""
    framework_submit(framework=draft, user=ops_user, summary="Same settings")
    framework_approve(framework=draft, user=leader)
    active_framework.refresh_from_db()
    return active_framework


def test_list_copies_only_active_version(client, retired_v1, ops_user):
    text = signed_in(client, ops_user).get(reverse("segmentation:framework-list")).content.decode()
    retired_form = reverse("segmentation:framework-draft-create", args=[retired_v1.version])
    active_form = reverse("segmentation:framework-draft-create", args=[retired_v1.version + 1])
    assert retired_form not in text
    assert active_form in text
    assert 'data-testid="older-settings-hint"' in text
    assert "To bring back settings of v1, create a draft from v2" in text


def test_create_draft_of_retired_rejected(client, retired_v1, ops_user):
    url = reverse("segmentation:framework-draft-create", args=[retired_v1.version])
    response = signed_in(client, ops_user).post(url, {"page_id": "a"}, follow=True)
    text = response.content.decode()
    assert response.status_code == 200
    assert "v1 is retired, so a draft copied from it could never be approved" in text
    assert not Framework.objects.filter(based_on=retired_v1, version=3).exists()


@pytest.fixture
def submitted_by_approver(settings, draft, make_user, leader):
    """A version submitted by a user in Sales Ops and Sales Leadership, with two approvers."""
    settings.ICP_FRAMEWORK_SECOND_APPROVER = True
    both = make_user(roles.SALES_OPS, username="both", is_staff=True)
    both.groups.add(leader.groups.get())
    framework_submit(framework=draft, user=both, summary="Raise cut-offs")
    return both


def test_list_hides_own_approve_button(client, draft, submitted_by_approver):
    text = (
        signed_in(client, submitted_by_approver)
        .get(reverse("segmentation:framework-list"))
        .content.decode()
    )
    assert reverse("segmentation:framework-approve", args=[draft.version]) not in text
    assert 'data-testid="second-approver"' in text
    assert f"You submitted framework v{draft.version}, and a second approver is required" in text


def test_list_shows_approve_to_other_leader(client, draft, submitted_by_approver, leader):
    text = signed_in(client, leader).get(reverse("segmentation:framework-list")).content.decode()
    assert reverse("segmentation:framework-approve", args=[draft.version]) in text
    assert 'data-testid="second-approver"' not in text


def test_preview_hides_own_approve_button(client, draft, submitted_by_approver):
    url = reverse("segmentation:framework-preview", args=[draft.version])
    text = signed_in(client, submitted_by_approver).get(url).content.decode()
    assert reverse("segmentation:framework-approve", args=[draft.version]) not in text
    assert 'data-testid="preview-second-approver"' in text
    assert "ask a member of Sales Leadership who did not create, edit or submit it" in text


def test_preview_shows_approve_to_other_leader(client, draft, submitted_by_approver, leader):
    url = reverse("segmentation:framework-preview", args=[draft.version])
    text = signed_in(client, leader).get(url).content.decode()
    assert reverse("segmentation:framework-approve", args=[draft.version]) in text
    assert 'data-testid="preview-second-approver"' not in text


def test_revisions_csv_writes_utc_as_z(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    revision = draft.revisions.get()
    export = signed_in(client, ops_user).get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    expected = revision.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert rows[1][0] == expected
    assert rows[1][0].endswith("Z")


def test_retired_row_names_own_author(client, active_framework, make_user, leader):
    first_author = make_user(roles.SALES_OPS, username="first", first_name="Priya")
    second_author = make_user(roles.SALES_OPS, username="second", first_name="Olive")
    second = framework_draft_create(source=active_framework, user=first_author)
    raise_high_cutoff(second, 72)
    framework_submit(framework=second, user=first_author, summary="Raise cut-offs")
    framework_approve(framework=second, user=leader)
    third = framework_draft_create(source=second, user=second_author)
    raise_high_cutoff(third, 75)
    framework_submit(framework=third, user=second_author, summary="High at 75")
    framework_approve(framework=third, user=leader)

    export = signed_in(client, leader).get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    retired = [row for row in rows if row[1] == str(second.version) and row[2] == "Retired"]

    assert len(retired) == 1
    assert retired[0][3] == f"Replaced by v{third.version}: High at 75"
    assert retired[0][4] == "Priya"
    assert retired[0][5] == user_label(leader)


def test_register_shows_initial_approval(client, active_framework, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:revision-list")).content.decode()
    export = client.get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    approved_at = active_framework.approved_at.astimezone(UTC).isoformat().replace("+00:00", "Z")

    assert 'data-testid="initial-approval"' in page
    assert "Initial version, approved when the portal was installed." in page
    assert rows[-1] == [
        approved_at,
        "1",
        "Approved",
        "Initial version, approved when the portal was installed.",
        "",
        "",
        "",
        "",
        "",
    ]
    assert len(rows) == 3


def test_register_without_initial_setup_row(client, active_framework, ops_user):
    Framework.objects.filter(pk=active_framework.pk).update(approved_by=ops_user)
    page = signed_in(client, ops_user).get(reverse("segmentation:revision-list"))
    assert 'data-testid="initial-approval"' not in page.content.decode()


def _tag_tables(text: str) -> tuple[str, str]:
    """Split a page at the folded rest of its tag changes: (shown part, folded part)."""
    shown, _, folded = text.partition('data-testid="tag-changes-rest"')
    return shown, folded


def test_run_page_folds_tags_after_twenty(client, ops_user, active_framework):
    gained = {f"Tag {number:02d}": 100 - number for number in range(25)}
    run = SegmentationRun.objects.create(
        framework=active_framework,
        status=SegmentationRun.Status.SUCCEEDED,
        summary={"tags": {"gained": gained, "lost": {"Old tag": 7}}},
    )

    text = (
        signed_in(client, ops_user)
        .get(reverse("segmentation:run-detail", args=[run.pk]))
        .content.decode()
    )
    shown, folded = _tag_tables(text)

    assert "<td>Tag 00</td>" in shown
    assert "<td>Tag 19</td>" in shown
    assert "<td>Tag 20</td>" not in shown
    assert "<td>Tag 20</td>" in folded
    assert "<td>Tag 24</td>" in folded
    assert "<td>Old tag</td>" in folded
    assert "Show all 26 tags (6 more)" in folded
    assert "All 26 tags" in shown
    assert f"+{sum(gained.values())}" in shown
    assert "−7" in shown


def test_run_page_short_tag_list_not_folded(client, ops_user, active_framework):
    run = SegmentationRun.objects.create(
        framework=active_framework,
        status=SegmentationRun.Status.SUCCEEDED,
        summary={"tags": {"gained": {"Tag A": 3}, "lost": {"Tag B": 3}}},
    )
    text = (
        signed_in(client, ops_user)
        .get(reverse("segmentation:run-detail", args=[run.pk]))
        .content.decode()
    )
    assert 'data-testid="tag-changes-rest"' not in text
    assert "All 2 tags" in text


def test_preview_folds_tags_after_twenty(client, draft, ops_user, make_account, active_framework):
    countries = ["US", "CA", "DE", "FR", "GB", "SG", "JP", "AU", "BR", "MX", "IN", "NL"]
    countries += ["SE", "ES", "IT", "PL", "KR", "NZ", "AR", "CL", "ZA", "IE"]
    for country in countries:
        make_account("SaaS", employee_count=300, country=country)
    accounts_segment()
    Framework.objects.filter(pk=draft.pk).update(
        tag_template="{industry} – {size_band} – {country}"
    )
    signed_in(client, ops_user)

    results = client.get(
        reverse("segmentation:framework-preview-results", args=[draft.version]),
        HTTP_HX_REQUEST="true",
    )
    shown, folded = _tag_tables(results.content.decode())

    assert results.status_code == 200
    assert shown.count("<td>SaaS – Mid-Market – ") == 20
    assert folded.count("<td>SaaS – Mid-Market – ") > 0
    # A US account keeps its tag, because the geography label of US is its country code.
    assert f"+{len(countries) - 1}" in shown
