"""Re-segmenting accounts after an industry or its synonyms change in the admin."""

import pytest
from django.urls import reverse

from accounts.models import Account
from segmentation import industry_changes
from segmentation.models import Industry, IndustrySynonym, SegmentationRun
from segmentation.services import accounts_segment
from segmentation.tasks import accounts_selected_segment_task


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


@pytest.fixture
def insurance() -> Industry:
    return Industry.objects.get(name="Insurance")


@pytest.fixture
def scored(active_framework, make_account):
    """Two Insurance accounts and one SaaS account, scored by the approved version."""
    insurers = [
        make_account("Insurance", employee_count=300, country="SG", industry_raw="Insurance"),
        make_account("Insurance", employee_count=300, country="US", industry_raw="Insurance"),
    ]
    saas = make_account("SaaS", employee_count=300, country="SG", industry_raw="SaaS")
    accounts_segment(account_ids=[account.pk for account in [*insurers, saas]])
    return insurers, saas


def industry_form(industry: Industry, *, delete: tuple[str, ...] = (), add=(), **changes):
    """Return the admin change form's POST data with the industry's synonym rows.

    ``delete`` names synonyms to tick for deletion and ``add`` contains the values of new rows.
    """
    synonyms = list(industry.synonyms.order_by("id"))
    data = {
        "name": industry.name,
        "slug": industry.slug,
        "description": industry.description,
        "synonyms-TOTAL_FORMS": str(len(synonyms) + len(add)),
        "synonyms-INITIAL_FORMS": str(len(synonyms)),
        "synonyms-MIN_NUM_FORMS": "0",
        "synonyms-MAX_NUM_FORMS": "1000",
    }
    rows = [(synonym.pk, synonym.value, synonym.vocabulary) for synonym in synonyms]
    rows += [(None, value, IndustrySynonym.Vocabulary.OTHER) for value in add]
    for index, (pk, value, vocabulary) in enumerate(rows):
        prefix = f"synonyms-{index}-"
        data[prefix + "id"] = str(pk or "")
        data[prefix + "industry"] = str(industry.pk)
        data[prefix + "value"] = value
        data[prefix + "vocabulary"] = vocabulary
        if value in delete:
            data[prefix + "DELETE"] = "on"
    data.update(changes)
    return data


def save(client, industry: Industry, data: dict, capture):
    """Post the change form and run what the commit starts, as the request would."""
    url = reverse("admin:segmentation_industry_change", args=[industry.pk])
    with capture(execute=True):
        return client.post(url, data, follow=True)


def latest_run() -> SegmentationRun | None:
    return SegmentationRun.objects.order_by("-id").first()


def test_rename_resegments_industry_accounts(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    insurers, saas = scored
    runs_before = SegmentationRun.objects.count()
    data = industry_form(insurance, name="Insurance & Brokerage")

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    page = response.content.decode()
    run = latest_run()
    tags = [Account.objects.get(pk=account.pk).tag for account in insurers]
    assert response.status_code == 200
    assert tags == [
        "Insurance & Brokerage – Mid-Market – APAC",
        "Insurance & Brokerage – Mid-Market – US",
    ]
    assert Account.objects.get(pk=saas.pk).tag == "SaaS – Mid-Market – APAC"
    assert SegmentationRun.objects.count() == runs_before + 1
    assert run.kind == SegmentationRun.Kind.ACCOUNTS
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.total == 2
    assert run.moved == 2
    assert "Re-segmentation of 2 accounts of &#x27;Insurance &amp; Brokerage&#x27;" in page
    assert "renamed from &#x27;Insurance&#x27;" in page
    assert reverse("segmentation:run-detail", args=[run.pk]) in page


def test_rename_tag_accepted_by_editor(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    from segmentation.tags import active_tag_checker

    save(
        ops_client,
        insurance,
        industry_form(insurance, name="Insurers"),
        django_capture_on_commit_callbacks,
    )

    checker = active_tag_checker()
    stored = Account.objects.get(pk=scored[0][0].pk).tag
    assert checker.parts(stored) is not None
    assert stored == "Insurers – Mid-Market – APAC"


def test_rename_case_collision_rejected(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    runs_before = SegmentationRun.objects.count()
    data = industry_form(insurance, name="saas")

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    page = response.content.decode()
    insurance.refresh_from_db()
    assert response.status_code == 200
    assert "&#x27;saas&#x27; is the name of the industry &#x27;SaaS&#x27;" in page
    assert "choose another name" in page
    assert insurance.name == "Insurance"
    assert SegmentationRun.objects.count() == runs_before


def test_description_and_slug_resegment_nothing(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    runs_before = SegmentationRun.objects.count()
    data = industry_form(insurance, slug="insurers", description="Carriers and brokers")

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    page = response.content.decode()
    insurance.refresh_from_db()
    assert response.status_code == 200
    assert insurance.description == "Carriers and brokers"
    assert insurance.slug == "insurers"
    assert SegmentationRun.objects.count() == runs_before
    assert "Re-segmentation" not in page
    assert Account.objects.get(pk=scored[0][0].pk).tag == "Insurance – Mid-Market – APAC"


def test_added_synonym_maps_unmapped_accounts(
    ops_client, insurance, scored, make_account, django_capture_on_commit_callbacks
):
    underwriter = make_account(
        None, employee_count=300, country="SG", industry_raw="Marine underwriting"
    )
    other = make_account(None, employee_count=300, country="SG", industry_raw="Space Mining")
    data = industry_form(insurance, add=["Marine Underwriting"])

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    underwriter.refresh_from_db()
    other.refresh_from_db()
    run = latest_run()
    page = response.content.decode()
    assert underwriter.industry_id == insurance.pk
    assert underwriter.tag == "Insurance – Mid-Market – APAC"
    assert underwriter.history.first().history_change_reason == (
        "Synonyms of the industry 'Insurance' changed"
    )
    assert other.industry_id is None
    assert run.total == 1
    assert "1 mapped to it by the new name or synonyms" in page


def test_deleted_synonym_unmaps_accounts(
    ops_client, insurance, scored, make_account, django_capture_on_commit_callbacks
):
    reinsurer = make_account(
        "Insurance", employee_count=300, country="SG", industry_raw="Reinsurance"
    )
    accounts_segment(account_ids=[reinsurer.pk])
    data = industry_form(insurance, delete=("Reinsurance",))

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    reinsurer.refresh_from_db()
    page = response.content.decode()
    assert not IndustrySynonym.objects.filter(key="reinsurance").exists()
    assert reinsurer.industry_id is None
    assert not reinsurer.tag.startswith("Insurance")
    assert latest_run().total == 1
    assert Account.objects.get(pk=scored[0][0].pk).industry_id == insurance.pk
    assert "1 no longer mapped to it by the deleted synonyms" in page


def test_deleted_redundant_synonym_keeps_accounts(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    runs_before = SegmentationRun.objects.count()
    data = industry_form(insurance, delete=("Insurance",))

    save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    assert not insurance.synonyms.filter(value="Insurance").exists()
    assert Account.objects.get(pk=scored[0][0].pk).industry_id == insurance.pk
    assert SegmentationRun.objects.count() == runs_before


def test_rename_flags_stale_tag_override(
    ops_client, insurance, make_account, active_framework, django_capture_on_commit_callbacks
):
    account = make_account(
        "Insurance",
        name="Harbour Mutual",
        employee_count=300,
        country="SG",
        tag_override="Insurance – Enterprise – US",
    )
    accounts_segment(account_ids=[account.pk])
    data = industry_form(insurance, name="Insurers")

    response = save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    account.refresh_from_db()
    page = response.content.decode()
    assert account.tag_override == "Insurance – Enterprise – US"
    assert account.tag == "Insurance – Enterprise – US"
    assert (
        "1 tag override set by a person still contains the old name &#x27;Insurance&#x27;" in page
    )
    assert f"Harbour Mutual (id {account.pk})" in page


def test_many_accounts_scored_by_task(
    ops_client,
    insurance,
    scored,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.ICP_SEGMENTATION_BATCH_SIZE = 1
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(accounts_selected_segment_task, "delay", lambda *args: queued.append(args))

    response = save(
        ops_client,
        insurance,
        industry_form(insurance, name="Insurers"),
        django_capture_on_commit_callbacks,
    )

    run = latest_run()
    assert queued == [(run.pk, sorted(account.pk for account in scored[0]))]
    assert run.status == SegmentationRun.Status.PENDING
    assert "started in a background worker" in response.content.decode()
    accounts_selected_segment_task.run(*queued[0])
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert Account.objects.get(pk=scored[0][0].pk).tag == "Insurers – Mid-Market – APAC"


def test_rename_without_approved_version_warns(
    ops_client, insurance, scored, monkeypatch, django_capture_on_commit_callbacks
):
    from segmentation.selectors import NoActiveFrameworkError

    def no_version():
        raise NoActiveFrameworkError("No framework version is approved.")

    monkeypatch.setattr(industry_changes, "framework_get_active", no_version)
    runs_before = SegmentationRun.objects.count()

    response = save(
        ops_client,
        insurance,
        industry_form(insurance, name="Insurers"),
        django_capture_on_commit_callbacks,
    )

    page = response.content.decode()
    assert SegmentationRun.objects.count() == runs_before
    assert "2 accounts of &#x27;Insurers&#x27;" in page
    assert "were not re-segmented: No framework version is approved." in page


def test_history_revert_resegments(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    save(
        ops_client,
        insurance,
        industry_form(insurance, name="Insurers"),
        django_capture_on_commit_callbacks,
    )
    oldest = insurance.history.order_by("history_date", "history_id").first()
    url = reverse("admin:segmentation_industry_simple_history", args=[insurance.pk, oldest.pk])
    data = {"name": "Insurance", "slug": insurance.slug, "description": insurance.description}

    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(url, data, follow=True)

    insurance.refresh_from_db()
    assert response.status_code == 200
    assert insurance.name == "Insurance"
    assert Account.objects.get(pk=scored[0][0].pk).tag == "Insurance – Mid-Market – APAC"
    assert "renamed from &#x27;Insurers&#x27;" in response.content.decode()


def test_rename_keeps_accounts_of_old_name(
    ops_client, insurance, scored, django_capture_on_commit_callbacks
):
    data = industry_form(insurance, name="Insurers", delete=("Insurance",))

    save(ops_client, insurance, data, django_capture_on_commit_callbacks)

    account = Account.objects.get(pk=scored[0][0].pk)
    assert not insurance.synonyms.filter(value="Insurance").exists()
    assert account.industry_raw == "Insurance"
    assert account.industry_id == insurance.pk
    assert account.tag == "Insurers – Mid-Market – APAC"


def test_rename_maps_accounts_with_new_name(
    ops_client, insurance, scored, make_account, django_capture_on_commit_callbacks
):
    insurer = make_account(None, employee_count=300, country="SG", industry_raw="insurers")

    response = save(
        ops_client,
        insurance,
        industry_form(insurance, name="Insurers"),
        django_capture_on_commit_callbacks,
    )

    insurer.refresh_from_db()
    assert insurer.industry_id == insurance.pk
    assert insurer.tag == "Insurers – Mid-Market – APAC"
    assert insurer.history.first().history_change_reason == (
        "Name or synonyms of the industry 'Insurers' changed"
    )
    assert latest_run().total == 3
    assert "1 mapped to it by the new name or synonyms" in response.content.decode()
