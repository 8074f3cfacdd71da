import pytest
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from accounts import roles
from segmentation.authors import WORKFLOW_FIELDS
from segmentation.forms import FrameworkAdminForm
from segmentation.lifecycle import (
    FrameworkLifecycleError,
    framework_approve,
    framework_draft_create,
    framework_submit,
)
from segmentation.models import Criterion, Framework, FrameworkRevision, FrameworkStatus

from .admin_posts import framework_post
from .changes import raise_high_cutoff


def change_url(framework: Framework) -> str:
    return reverse("admin:segmentation_framework_change", args=[framework.pk])


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def criterion_index(draft: Framework, dimension: str) -> int:
    ids = list(draft.criteria.order_by("position", "id").values_list("dimension", flat=True))
    return ids.index(dimension)


def test_sales_ops_group_has_permissions(sales_ops_group):
    codenames = set(sales_ops_group.permissions.values_list("codename", flat=True))
    assert "change_framework" in codenames
    assert "change_criterion" in codenames
    assert "change_industry" in codenames
    assert "add_periodictask" in codenames
    assert "change_crontabschedule" in codenames
    assert "view_frameworkrevision" in codenames
    assert "change_frameworkrevision" not in codenames
    assert "change_scorerecord" not in codenames


def test_quarterly_task_scheduled(db):
    task = PeriodicTask.objects.get(task="segmentation.tasks.resegment_all_task")
    assert task.kwargs == '{"kind": "quarterly"}'
    assert task.enabled
    assert task.crontab.minute == "0"
    assert task.crontab.hour == "2"
    assert task.crontab.day_of_month == "1"
    assert task.crontab.month_of_year == "1,4,7,10"
    assert str(task.crontab.timezone) == "UTC"


def test_workflow_fields_read_only(ops_client, draft):
    """Every field the lifecycle sets is shown on a draft's page and no form writes it.

    The summary of changes is the one workflow field that Sales Ops also type.
    """
    response = ops_client.get(change_url(draft))

    adminform = response.context["adminform"]
    shown = flatten_fieldsets(adminform.fieldsets)
    assert "summary" in adminform.form.fields
    for name in sorted(WORKFLOW_FIELDS - {"id", "summary"}):
        assert name in adminform.readonly_fields, name
        assert name not in adminform.form.fields, name
        assert name in shown, name


def test_draft_edit_saves(ops_client, draft):
    data = framework_post(draft, high_tier_min_score="75", name="Stricter")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.high_tier_min_score == 75
    assert draft.name == "Stricter"


def test_criterion_values_one_per_line(ops_client, draft):
    index = criterion_index(draft, "industry")
    data = framework_post(draft, **{f"criteria-{index}-values_text": "SaaS\nHealthTech"})
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 302
    criterion = draft.criteria.get(dimension="industry")
    assert criterion.values == ["SaaS", "HealthTech"]
    assert criterion.history.count() == 2


def test_unknown_industry_rejected(ops_client, draft):
    index = criterion_index(draft, "industry")
    data = framework_post(draft, **{f"criteria-{index}-values_text": "SaaS\nSpace Mining"})
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert response.content.decode().count("unknown industry &#x27;Space Mining&#x27;") == 1
    assert draft.criteria.get(dimension="industry").values == ["SaaS", "FinTech", "HealthTech"]


def test_overlapping_bands_rejected(ops_client, draft):
    data = framework_post(draft, **{"size_bands-0-max_employees": "500"})
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "overlapping employee ranges" in response.content.decode()
    assert draft.size_bands.get(name="SMB").max_employees == 200


def test_cutoffs_out_of_order_rejected(ops_client, draft):
    data = framework_post(draft, high_tier_min_score="40", medium_tier_min_score="60")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert response.content.decode().count("must rise from Medium to High") == 1


def test_cutoff_above_100_rejected(ops_client, draft):
    data = framework_post(draft, high_tier_min_score="120")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "above the maximum score 100" in response.content.decode()


def test_unreachable_cutoff_rejected(ops_client, draft):
    changes = {f"criteria-{index}-weight": "0" for index in range(draft.criteria.count())}
    response = ops_client.post(change_url(draft), framework_post(draft, **changes))
    assert response.status_code == 200
    assert "No account can reach the High cut-off 70" in response.content.decode()


def test_tag_template_placeholder_rejected(ops_client, draft):
    data = framework_post(draft, tag_template="{industry} – {segment}")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "unknown placeholder {segment}" in response.content.decode()


def test_tag_template_empty_part_rejected(ops_client, draft):
    data = framework_post(draft, tag_template="{industry} – – {geography}")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "empty part between separators" in response.content.decode()


def test_empty_criterion_label_rejected(ops_client, draft):
    index = criterion_index(draft, "industry")
    data = framework_post(draft, **{f"criteria-{index}-label": ""})

    response = ops_client.post(change_url(draft), data)

    assert response.status_code == 200
    assert "The label is missing" in response.content.decode()
    assert draft.criteria.get(dimension="industry").label == "Target industry"


def test_duplicate_criterion_label_rejected(ops_client, draft):
    index = criterion_index(draft, "geography")
    data = framework_post(draft, **{f"criteria-{index}-label": "target INDUSTRY"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The label &#x27;target INDUSTRY&#x27; is already used" in page
    assert draft.criteria.get(dimension="geography").label == "Target geography"


def test_two_field_geography_line_rejected(ops_client, draft):
    text = framework_post(draft)["geography_text"] + "\nAQ, LATAM"

    response = ops_client.post(change_url(draft), framework_post(draft, geography_text=text))

    assert response.status_code == 200
    assert "such as AQ, LATAM, LATAM" in response.content.decode()
    assert not draft.geography_mappings.filter(country="AQ").exists()


def test_operator_error_uses_labels(ops_client, draft):
    index = criterion_index(draft, "industry")
    data = framework_post(draft, **{f"criteria-{index}-operator": "any_of"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "uses the operator &#x27;includes any of&#x27;" in page
    assert "use &#x27;is one of&#x27; or &#x27;is none of&#x27;" in page
    assert "use one of in, not_in" not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("high_tier_min_score", "-1", "The High cut-off -1 is invalid: enter a value from 1 to"),
        ("high_tier_min_score", "101", "The High cut-off 101 is above the maximum score 100"),
        ("medium_tier_min_score", "-1", "The Medium cut-off -1 is invalid: enter a value from"),
    ],
)
def test_cutoff_range_errors(ops_client, draft, field, value, message):
    response = ops_client.post(change_url(draft), framework_post(draft, **{field: value}))

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "greater than or equal to" not in page


def test_unknown_band_name_rejected(ops_client, draft):
    index = criterion_index(draft, "company_size")
    data = framework_post(draft, **{f"criteria-{index}-values_text": "Mid-Market\nGiant"})
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "unknown size band &#x27;Giant&#x27;" in response.content.decode()


def test_new_band_usable_in_same_form(ops_client, draft):
    index = criterion_index(draft, "company_size")
    data = framework_post(
        draft,
        **{
            "size_bands-0-max_employees": "50",
            "size_bands-TOTAL_FORMS": "4",
            "size_bands-3-name": "Small",
            "size_bands-3-min_employees": "51",
            "size_bands-3-max_employees": "200",
            "size_bands-3-position": "3",
            "size_bands-3-framework": str(draft.pk),
            f"criteria-{index}-values_text": "Small\nMid-Market",
        },
    )
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 302
    assert draft.criteria.get(dimension="company_size").values == ["Small", "Mid-Market"]


def test_band_name_repeated_in_other_case_rejected(ops_client, draft):
    data = framework_post(
        draft,
        **{
            "size_bands-2-max_employees": "9999",
            "size_bands-TOTAL_FORMS": "4",
            "size_bands-3-name": "smb",
            "size_bands-3-min_employees": "10000",
            "size_bands-3-position": "3",
            "size_bands-3-framework": str(draft.pk),
        },
    )
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "have the same name ignoring case" in response.content.decode()
    assert not draft.size_bands.filter(name="smb").exists()


def test_submit_rejects_band_names_in_other_case(draft, ops_user):
    draft.size_bands.filter(name="Enterprise").update(max_employees=9999)
    draft.size_bands.create(name="smb", min_employees=10000, position=3)
    with pytest.raises(FrameworkLifecycleError, match="same name ignoring case"):
        framework_submit(framework=draft, user=ops_user, summary="Add a band")
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.DRAFT


def test_criterion_deleted_in_other_tab_explained(ops_client, draft):
    # Both tabs rendered the form while every criterion existed.
    stale = framework_post(draft, high_tier_min_score="65")
    removed = draft.criteria.get(dimension="buying_signals")
    ops_client.post(change_url(draft), framework_post(draft, **{_delete_key(draft, removed): "on"}))
    response = ops_client.post(change_url(draft), stale)
    html = response.content.decode()
    draft.refresh_from_db()
    assert response.status_code == 200
    assert (
        "Criterion &#x27;Recent buying signal&#x27; was deleted after this page was opened" in html
    )
    assert "open the version again" in html
    assert draft.high_tier_min_score == 70
    assert not draft.criteria.filter(pk=removed.pk).exists()


def test_band_deleted_in_other_tab_explained(ops_client, draft):
    draft.criteria.filter(dimension="company_size").update(values=["Mid-Market"])
    stale = framework_post(draft, high_tier_min_score="65")
    draft.size_bands.filter(name="Enterprise").delete()
    response = ops_client.post(change_url(draft), stale)
    html = response.content.decode()
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "Size band &#x27;Enterprise&#x27; was deleted after this page was opened" in html
    assert draft.high_tier_min_score == 70


def _delete_key(draft: Framework, criterion: Criterion) -> str:
    ids = list(draft.criteria.order_by("position", "id").values_list("pk", flat=True))
    return f"criteria-{ids.index(criterion.pk)}-DELETE"


def test_approved_version_read_only(ops_client, active_framework):
    page = ops_client.get(change_url(active_framework))
    response = ops_client.post(
        change_url(active_framework), framework_post(active_framework, name="Edited")
    )
    active_framework.refresh_from_db()
    assert page.status_code == 200
    assert "Create draft from this version" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == change_url(active_framework)
    assert active_framework.name == "B2B software default"


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("high_tier_min_score", "Minimum score for the High tier, from 1 to 100, above the"),
        ("medium_tier_min_score", "Minimum score for the Medium tier, from 1 to 99, below the"),
    ],
)
def test_cutoff_help_same_read_only(ops_client, draft, active_framework, field, text):
    editing = ops_client.get(change_url(draft)).content.decode()
    read_only = ops_client.get(change_url(active_framework)).content.decode()

    assert text in editing
    assert text in read_only
    assert "(0–100)" not in read_only


@pytest.mark.parametrize(
    ("field", "minimum", "maximum"),
    [("high_tier_min_score", 1, 100), ("medium_tier_min_score", 1, 99)],
)
def test_cutoff_help_states_form_range(field, minimum, maximum):
    form_field = FrameworkAdminForm.base_fields[field]

    assert form_field.min_value == minimum
    assert form_field.max_value == maximum
    assert f"from {minimum} to {maximum}" in Framework._meta.get_field(field).help_text
    assert form_field.help_text == Framework._meta.get_field(field).help_text


def test_create_draft_button(ops_client, active_framework):
    url = reverse("admin:segmentation_framework_create_draft", args=[active_framework.pk])
    response = ops_client.post(url)
    draft = Framework.objects.get(version=2)
    assert response.status_code == 302
    assert response["Location"] == change_url(draft)
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.criteria.count() == 6


def test_create_draft_button_opens_open_draft(ops_client, active_framework, draft):
    url = reverse("admin:segmentation_framework_create_draft", args=[active_framework.pk])
    response = ops_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == change_url(draft)
    assert f"Draft v{draft.version} is already open" in response.content.decode()
    assert Framework.objects.filter(based_on=active_framework).count() == 1


def test_create_draft_action(ops_client, active_framework):
    url = reverse("admin:segmentation_framework_changelist")
    response = ops_client.post(
        url, {"action": "create_draft_action", "_selected_action": [active_framework.pk]}
    )
    assert response.status_code == 302
    assert Framework.objects.filter(version=2, status=FrameworkStatus.DRAFT).exists()


def test_submit_button_needs_summary(ops_client, draft):
    data = framework_post(draft, summary="", high_tier_min_score="75", _submit_for_approval="1")
    response = ops_client.post(change_url(draft), data, follow=True)
    draft.refresh_from_db()
    html = response.content.decode()
    assert "summary of changes is empty" in html
    assert "were saved as a draft" in html
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.high_tier_min_score == 75


def test_submit_button_saves_then_submits(ops_client, draft):
    data = framework_post(
        draft, summary="Stricter High tier", high_tier_min_score="75", _submit_for_approval="1"
    )
    ops_client.post(change_url(draft), data)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED
    assert draft.summary == "Stricter High tier"
    assert draft.high_tier_min_score == 75
    assert FrameworkRevision.objects.filter(action="submitted").count() == 1


def test_submit_button_keeps_invalid_input(ops_client, draft):
    data = framework_post(
        draft, summary="Typed summary", high_tier_min_score="120", _submit_for_approval="1"
    )
    response = ops_client.post(change_url(draft), data)
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "Typed summary" in response.content.decode()
    assert draft.status == FrameworkStatus.DRAFT


def test_submitted_version_is_read_only(ops_client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    page = ops_client.get(change_url(draft)).content.decode()
    response = ops_client.post(change_url(draft), framework_post(draft, high_tier_min_score="90"))
    draft.refresh_from_db()
    assert "Return to draft" in page
    assert response.status_code == 302
    assert draft.high_tier_min_score == 70


def test_submit_pressed_twice_explained(ops_client, draft):
    data = framework_post(
        draft, summary="Stricter High tier", high_tier_min_score="75", _submit_for_approval="1"
    )
    ops_client.post(change_url(draft), data)
    # The browser sends the same form again, as after a double click or from a second tab.
    response = ops_client.post(change_url(draft), data, follow=True)
    html = response.content.decode()
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "Framework v2 is submitted, so it cannot be changed" in html
    assert "Your changes were not saved" in html
    assert "Return it to draft first" in html
    assert draft.status == FrameworkStatus.SUBMITTED


def test_edit_of_approved_version_explained(ops_client, active_framework):
    data = framework_post(active_framework, name="Edited")
    response = ops_client.post(change_url(active_framework), data, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Framework v1 is approved (active), so it cannot be changed" in html
    assert "Create a draft from it" in html


def test_locked_post_by_other_staff_denied(client, make_user, active_framework):
    staff = make_user(roles.SDR, username="staffsdr", is_staff=True)
    client.force_login(staff)
    response = client.post(change_url(active_framework), framework_post(active_framework))
    assert response.status_code == 403


def test_return_to_draft_button(ops_client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    url = reverse("admin:segmentation_framework_return_to_draft", args=[draft.pk])
    response = ops_client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.DRAFT
    assert "is a draft again" in response.content.decode()


def test_approve_button_for_leadership(client, draft, ops_user, make_user):
    leader = make_user(roles.SALES_LEADERSHIP, username="staffleader", is_staff=True)
    framework_submit(framework=draft, user=ops_user, summary="x")
    client.force_login(leader)
    page = client.get(change_url(draft))
    response = client.post(reverse("admin:segmentation_framework_approve", args=[draft.pk]))
    draft.refresh_from_db()
    assert "Approve and re-segment" in page.content.decode()
    assert response.status_code == 302
    assert draft.status == FrameworkStatus.APPROVED


def test_approve_form_asks_for_confirmation(client, draft, ops_user, make_user):
    leader = make_user(roles.SALES_LEADERSHIP, username="staffleader", is_staff=True)
    framework_submit(framework=draft, user=ops_user, summary="x")
    client.force_login(leader)
    html = client.get(change_url(draft)).content.decode()
    assert f'data-confirm="Approve v{draft.version}? The active version is retired' in html
    assert "js/confirm.js" in html


def test_other_staff_denied(client, make_user, draft):
    sdr = make_user(roles.SDR, username="staffsdr", is_staff=True)
    sdr.user_permissions.add(*Permission.objects.filter(content_type__app_label="segmentation"))
    client.force_login(sdr)
    assert client.get(reverse("admin:segmentation_framework_changelist")).status_code == 403
    assert client.get(change_url(draft)).status_code == 403
    assert client.get(reverse("admin:segmentation_industry_changelist")).status_code == 403


def test_revision_admin_read_only(ops_client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    revision = FrameworkRevision.objects.get()
    changelist = ops_client.get(reverse("admin:segmentation_frameworkrevision_changelist"))
    add = ops_client.get(reverse("admin:segmentation_frameworkrevision_add"))
    delete = ops_client.post(
        reverse("admin:segmentation_frameworkrevision_delete", args=[revision.pk]),
        {"post": "yes"},
    )
    assert changelist.status_code == 200
    assert add.status_code == 403
    assert delete.status_code == 403
    assert FrameworkRevision.objects.count() == 1


def test_framework_history_page(ops_client, draft):
    url = reverse("admin:segmentation_framework_history", args=[draft.pk])
    assert ops_client.get(url).status_code == 200


def test_model_clean_rejects_unknown_industry(draft):
    from django.core.exceptions import ValidationError

    criterion = Criterion(framework=draft, dimension="industry", operator="in", values=["Nope"])
    with pytest.raises(ValidationError, match="unknown industry"):
        criterion.full_clean()


def test_add_page_creates_draft(ops_client, active_framework):
    data = {
        "name": "From scratch",
        "summary": "",
        "high_tier_min_score": "70",
        "medium_tier_min_score": "40",
        "high_tier_route": "Outbound",
        "medium_tier_route": "",
        "low_tier_route": "Nurture",
        "tag_template": "{industry} – {geography}",
        "unmapped_geography_label": "Rest of World",
        "geography_text": "US, North America, US\nde, EMEA, EMEA",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "1000",
        "criteria-0-dimension": "industry",
        "criteria-0-operator": "in",
        "criteria-0-label": "Target industry",
        "criteria-0-values_text": "SaaS, FinTech",
        "criteria-0-weight": "10",
        "criteria-0-unknown_policy": "neutral",
        "criteria-0-position": "0",
        "size_bands-TOTAL_FORMS": "0",
        "size_bands-INITIAL_FORMS": "0",
        "size_bands-MIN_NUM_FORMS": "0",
        "size_bands-MAX_NUM_FORMS": "1000",
    }
    response = ops_client.post(reverse("admin:segmentation_framework_add"), data)
    framework = Framework.objects.get(name="From scratch")
    assert response.status_code == 302
    assert framework.version == 2
    assert framework.status == FrameworkStatus.DRAFT
    assert framework.criteria.get().values == ["SaaS", "FinTech"]
    assert dict(framework.geography_mappings.values_list("country", "label")) == {
        "US": "US",
        "DE": "EMEA",
    }


def test_geography_text_updates_map(ops_client, draft):
    text = framework_post(draft)["geography_text"].replace("SG, APAC, APAC", "SG, APAC, Singapore")
    response = ops_client.post(change_url(draft), framework_post(draft, geography_text=text))
    mapping = draft.geography_mappings.get(country="SG")
    assert response.status_code == 302
    assert mapping.label == "Singapore"
    assert mapping.history.count() == 2


def test_geography_text_invalid_line(ops_client, draft):
    data = framework_post(draft, geography_text="US, North America, US\nUSA, North America, US")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "use a two-letter ISO 3166-1 code" in response.content.decode()
    assert draft.geography_mappings.count() > 200


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ZZ, Mars, Mars", "&#x27;ZZ&#x27;, which is not an ISO 3166-1 code: check the code"),
        ("UK, EMEA, EMEA", "&#x27;UK&#x27;, which is not an ISO 3166-1 code: use GB."),
    ],
)
def test_geography_text_unknown_country(ops_client, draft, line, message):
    data = framework_post(draft, geography_text=f"US, North America, US\n{line}")
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert draft.geography_mappings.count() > 200


def test_geography_text_accepts_kosovo(ops_client, draft):
    draft.geography_mappings.filter(country="XK").delete()
    text = framework_post(draft)["geography_text"] + "\nXK, EMEA, EMEA"
    response = ops_client.post(change_url(draft), framework_post(draft, geography_text=text))
    assert response.status_code == 302
    assert draft.geography_mappings.filter(country="XK").exists()


def test_geography_text_with_byte_order_mark(ops_client, draft):
    text = "\ufeff" + framework_post(draft)["geography_text"]
    response = ops_client.post(change_url(draft), framework_post(draft, geography_text=text))
    assert response.status_code == 302
    assert draft.geography_mappings.count() > 200


def test_weight_above_limit_rejected(ops_client, draft):
    index = criterion_index(draft, "industry")
    data = framework_post(draft, **{f"criteria-{index}-weight": "99999999999"})
    response = ops_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "A weight is at most 1000 points" in response.content.decode()


def test_delete_of_approved_version_explained(ops_client, active_framework):
    url = reverse("admin:segmentation_framework_delete", args=[active_framework.pk])
    response = ops_client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == change_url(active_framework)
    assert "so it cannot be deleted: only drafts can" in response.content.decode()
    assert Framework.objects.filter(pk=active_framework.pk).exists()


def test_delete_of_draft_allowed(ops_client, draft):
    url = reverse("admin:segmentation_framework_delete", args=[draft.pk])
    response = ops_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Framework.objects.filter(pk=draft.pk).exists()


def test_band_gap_warned_after_save(ops_client, draft):
    data = framework_post(draft, **{"size_bands-0-max_employees": "150"})
    response = ops_client.post(change_url(draft), data, follow=True)
    assert "No size band covers 151 to 200 employees" in response.content.decode()
    assert draft.size_bands.get(name="SMB").max_employees == 150


def test_missing_bands_and_map_warned(ops_client, draft):
    data = framework_post(draft, geography_text="")
    for index in range(draft.size_bands.count()):
        data[f"size_bands-{index}-DELETE"] = "on"
    # Criteria that name bands or regions would be rejected without them.
    for dimension in ("company_size", "geography"):
        data[f"criteria-{criterion_index(draft, dimension)}-DELETE"] = "on"

    response = ops_client.post(change_url(draft), data, follow=True)

    page = response.content.decode()
    assert draft.size_bands.count() == 0
    assert draft.geography_mappings.count() == 0
    assert f"Framework v{draft.version} has no size bands" in page
    assert f"Framework v{draft.version} has no geography map" in page


def test_no_bulk_delete_action(ops_client):
    response = ops_client.get(reverse("admin:segmentation_framework_changelist"))
    assert 'value="delete_selected"' not in response.content.decode()


def test_outdated_copy_explained_on_change_page(ops_client, active_framework, ops_user, make_user):
    leader = make_user(roles.SALES_LEADERSHIP, username="approver")
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=first, user=leader)
    html = ops_client.get(change_url(second)).content.decode()
    assert "would undo the changes" in html


def test_geography_criterion_unknown_codes_rejected(ops_client, draft):
    index = criterion_index(draft, "geography")
    data = framework_post(draft, **{f"criteria-{index}-values_text": "APAC\nZZ\nUK"})
    response = ops_client.post(change_url(draft), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "names 2 values that are not ISO 3166-1 country codes" in html
    assert "&#x27;UK&#x27; (use GB) and &#x27;ZZ&#x27;" in html


def test_retired_version_offers_no_copy(ops_client, active_framework, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Same settings")
    framework_approve(framework=draft, user=leader)

    html = ops_client.get(change_url(active_framework)).content.decode()
    button_url = reverse("admin:segmentation_framework_create_draft", args=[active_framework.pk])
    response = ops_client.post(button_url, follow=True)

    assert "Create draft from this version" not in html
    assert "To bring back settings of v1, create a draft from v2" in html
    assert "could never be approved" in response.content.decode()
    assert Framework.objects.count() == 2


def test_admin_hides_own_approve_button(settings, client, draft, make_user, leader):
    settings.ICP_FRAMEWORK_SECOND_APPROVER = True
    both = make_user(roles.SALES_OPS, username="both", is_staff=True)
    both.groups.add(leader.groups.get())
    framework_submit(framework=draft, user=both, summary="Raise cut-offs")
    client.force_login(both)

    html = client.get(change_url(draft)).content.decode()

    assert "Approve and re-segment" not in html
    assert 'data-testid="second-approver"' in html
    assert f"You submitted framework v{draft.version}, and a second approver is required" in html


def test_run_task_with_draft_reports_error(ops_client, draft, make_account):
    import json

    from segmentation.models import ScoreRecord, SegmentationRun

    make_account("SaaS", employee_count=300, country="US")
    task = PeriodicTask.objects.get(task="segmentation.tasks.resegment_all_task")
    task.kwargs = json.dumps({"framework_id": draft.pk})
    task.save()
    url = reverse("admin:django_celery_beat_periodictask_changelist")

    response = ops_client.post(
        url, {"action": "run_tasks", "_selected_action": [task.pk]}, follow=True
    )

    html = response.content.decode()
    run = SegmentationRun.objects.get()
    assert response.status_code == 200
    assert "Running the periodic task" in html
    assert f"Framework v{draft.version} is draft, not approved" in html
    assert "successfully run" not in html
    assert run.status == SegmentationRun.Status.FAILED
    assert ScoreRecord.objects.count() == 0
