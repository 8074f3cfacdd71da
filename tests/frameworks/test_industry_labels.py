"""Industry names and synonyms that would map one label to two industries."""

import html
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Account
from audits.baseline import BASELINE_NOTE
from segmentation.models import Industry, IndustrySynonym
from segmentation.services import industry_value_map
from segmentation.taxonomy import IndustryResolver
from tests.factories import AccountFactory


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def industry_form(industry: Industry | None = None, *, new_synonyms=(), **changes) -> dict:
    """Return the admin form's POST data: the industry, its saved synonyms and new rows."""
    existing = list(industry.synonyms.all()) if industry else []
    data = {
        "name": industry.name if industry else "",
        "slug": industry.slug if industry else "",
        "description": industry.description if industry else "",
        "synonyms-TOTAL_FORMS": str(len(existing) + len(new_synonyms)),
        "synonyms-INITIAL_FORMS": str(len(existing)),
        "synonyms-MIN_NUM_FORMS": "0",
        "synonyms-MAX_NUM_FORMS": "1000",
    }
    for index, synonym in enumerate(existing):
        data[f"synonyms-{index}-id"] = str(synonym.pk)
        data[f"synonyms-{index}-industry"] = str(industry.pk)
        data[f"synonyms-{index}-value"] = synonym.value
        data[f"synonyms-{index}-vocabulary"] = synonym.vocabulary
    for index, value in enumerate(new_synonyms, start=len(existing)):
        data[f"synonyms-{index}-value"] = value
        data[f"synonyms-{index}-vocabulary"] = "other"
    data.update(changes)
    return data


def add_url() -> str:
    return reverse("admin:segmentation_industry_add")


def change_url(industry: Industry) -> str:
    return reverse("admin:segmentation_industry_change", args=[industry.pk])


def page_text(response) -> str:
    return html.unescape(response.content.decode())


# Admin forms.


def test_add_name_of_other_industry_case(ops_client, active_framework):
    response = ops_client.post(add_url(), industry_form(name="saas", slug="saas-2"))

    assert response.status_code == 200
    page = page_text(response)
    assert "'saas' is the name of the industry 'SaaS'" in page
    assert "Edit 'SaaS' instead" in page
    assert not Industry.objects.filter(name="saas").exists()


def test_add_name_with_and_for_ampersand(ops_client, active_framework):
    data = industry_form(name="Healthcare and Life  Sciences", slug="healthcare-2")

    response = ops_client.post(add_url(), data)

    assert response.status_code == 200
    expected = "is the name of the industry 'Healthcare & Life Sciences'"
    assert expected in page_text(response)
    assert not Industry.objects.filter(slug="healthcare-2").exists()


def test_add_name_of_synonym_rejected(ops_client, active_framework):
    response = ops_client.post(add_url(), industry_form(name="Blockchain", slug="blockchain"))

    assert response.status_code == 200
    page = page_text(response)
    assert "'Blockchain' is already a synonym of the industry 'FinTech'" in page
    assert "first delete that synonym from 'FinTech'" in page
    assert not Industry.objects.filter(name="Blockchain").exists()


def test_add_name_without_letters_rejected(ops_client, active_framework):
    response = ops_client.post(add_url(), industry_form(name="--", slug="dashes"))

    assert response.status_code == 200
    assert "The name '--' has no letters or digits" in page_text(response)
    assert not Industry.objects.filter(slug="dashes").exists()


def test_add_new_name_accepted(ops_client, active_framework):
    data = industry_form(name="Robotics", slug="robotics", new_synonyms=["Industrial Robots"])

    response = ops_client.post(add_url(), data)

    assert response.status_code == 302
    robotics = Industry.objects.get(name="Robotics")
    synonym = robotics.synonyms.get()
    assert synonym.key == "industrial robots"


def test_rename_to_other_industry_rejected(ops_client, active_framework):
    industry = Industry.objects.get(name="Automotive")

    response = ops_client.post(change_url(industry), industry_form(industry, name="FINTECH"))

    assert response.status_code == 200
    assert "'FINTECH' is the name of the industry 'FinTech'" in page_text(response)
    industry.refresh_from_db()
    assert industry.name == "Automotive"


def test_synonym_of_other_industry_name_rejected(ops_client, active_framework):
    fintech = Industry.objects.get(name="FinTech")

    response = ops_client.post(change_url(fintech), industry_form(fintech, new_synonyms=["SaaS"]))

    assert response.status_code == 200
    page = page_text(response)
    assert "'SaaS' is the name of the industry 'SaaS'" in page
    assert "cannot be a synonym of 'FinTech'" in page
    assert "first rename or delete the industry 'SaaS'" in page
    assert not IndustrySynonym.objects.filter(key="saas").exists()


def test_synonym_of_own_name_rejected(ops_client, active_framework):
    saas = Industry.objects.get(name="SaaS")

    response = ops_client.post(change_url(saas), industry_form(saas, new_synonyms=[" saas "]))

    assert response.status_code == 200
    page = page_text(response)
    assert "'saas' is already the name of the industry 'SaaS'" in page
    assert "remove this row" in page
    assert not IndustrySynonym.objects.filter(key="saas").exists()


def test_synonym_of_other_synonym_rejected(ops_client, active_framework):
    saas = Industry.objects.get(name="SaaS")

    response = ops_client.post(change_url(saas), industry_form(saas, new_synonyms=["BLOCKCHAIN"]))

    assert response.status_code == 200
    assert "matches the existing synonym 'Blockchain' of FinTech" in page_text(response)
    assert IndustrySynonym.objects.get(key="blockchain").industry.name == "FinTech"


def test_two_new_rows_same_key_rejected(ops_client, active_framework):
    saas = Industry.objects.get(name="SaaS")
    data = industry_form(saas, new_synonyms=["Cloud Apps", "cloud-apps"])

    response = ops_client.post(change_url(saas), data)

    assert response.status_code == 200
    assert "'cloud-apps' matches the synonym 'Cloud Apps' of another row" in page_text(response)
    assert not IndustrySynonym.objects.filter(key="cloud apps").exists()


def test_saved_own_name_synonym_kept(ops_client, active_framework):
    # The loaded taxonomy has "Fintech" (Y Combinator) as a synonym of FinTech.
    fintech = Industry.objects.get(name="FinTech")
    assert fintech.synonyms.filter(key="fintech").exists()

    response = ops_client.post(
        change_url(fintech), industry_form(fintech, description="Payments and lending")
    )

    assert response.status_code == 302
    fintech.refresh_from_db()
    assert fintech.description == "Payments and lending"


def test_rename_with_own_synonym_deleted(ops_client, active_framework):
    robotics = Industry.objects.create(name="Robotics", slug="robotics")
    IndustrySynonym.objects.create(industry=robotics, value="Automation")
    data = industry_form(robotics, name="Automation")
    data["synonyms-0-DELETE"] = "on"

    response = ops_client.post(change_url(robotics), data)

    assert response.status_code == 302
    robotics.refresh_from_db()
    assert robotics.name == "Automation"
    assert not robotics.synonyms.exists()


# Model and service checks.


def test_save_name_of_other_industry_case(active_framework):
    with pytest.raises(ValidationError, match="is the name of the industry 'SaaS'"):
        Industry.objects.create(name=" SAAS ", slug="saas-2")
    assert not Industry.objects.filter(slug="saas-2").exists()


def test_save_name_folds_unicode(active_framework):
    # NFKC turns the full-width letters into "SaaS".
    with pytest.raises(ValidationError, match="is the name of the industry 'SaaS'"):
        Industry.objects.create(name="ＳａａＳ", slug="saas-wide")


def test_save_name_of_synonym_rejected(active_framework):
    with pytest.raises(ValidationError, match="already a synonym of the industry 'FinTech'"):
        Industry.objects.create(name="Blockchain", slug="blockchain")


def test_save_synonym_of_other_industry_name(active_framework):
    fintech = Industry.objects.get(name="FinTech")

    with pytest.raises(ValidationError, match="'SaaS' is the name of the industry 'SaaS'"):
        IndustrySynonym.objects.create(industry=fintech, value="SaaS", key="saas")
    assert not IndustrySynonym.objects.filter(key="saas").exists()


def test_save_synonym_derives_key(active_framework):
    saas = Industry.objects.get(name="SaaS")

    synonym = IndustrySynonym.objects.create(industry=saas, value="Cloud  Apps!")

    assert synonym.key == "cloud apps"


def test_save_own_name_synonym_accepted(active_framework):
    # Mapping a raw value to the industry of that name saves a redundant synonym.
    robotics = Industry.objects.create(name="Robotics", slug="robotics")

    synonym = IndustrySynonym.objects.create(industry=robotics, value="robotics")

    assert synonym.industry == robotics


def test_database_rejects_name_case(active_framework):
    with pytest.raises(IntegrityError), transaction.atomic():
        Industry.objects.bulk_create([Industry(name="saas", slug="saas-2")])


def test_map_value_to_other_industry_name(active_framework, ops_user):
    saas = Industry.objects.get(name="SaaS")
    fintech = Industry.objects.get(name="FinTech")
    account = AccountFactory(industry=None, industry_raw="SAAS")

    with pytest.raises(ValidationError, match="'SAAS' is the name of the industry 'SaaS'"):
        industry_value_map(raw_value="SAAS", industry=fintech, user=ops_user)

    account.refresh_from_db()
    assert account.industry is None
    assert not IndustrySynonym.objects.filter(key="saas").exists()
    assert saas.synonyms.count() == IndustrySynonym.objects.filter(industry=saas).count()


def test_resolver_prefers_industry_name(active_framework):
    fintech = Industry.objects.get(name="FinTech")
    saas = Industry.objects.get(name="SaaS")
    # Saved before such synonyms were rejected: bulk_create skips save().
    IndustrySynonym.objects.bulk_create(
        [IndustrySynonym(industry=fintech, value="SaaS", key="saas")]
    )

    resolver = IndustryResolver.load()

    assert resolver.resolve("SaaS") == saas.pk
    assert resolver.resolve("saas") == saas.pk
    assert resolver.resolve("Blockchain") == fintech.pk


def resegment(*args: str) -> str:
    out = StringIO()
    call_command("resegment", *args, stdout=out)
    return out.getvalue()


def test_resegment_unchanged_after_rejected_add(ops_client, active_framework, industry_ids):
    [AccountFactory(industry_id=industry_ids["SaaS"]) for _ in range(3)]
    assert "Tiers: high 3" in resegment()

    ops_client.post(add_url(), industry_form(name="saas", slug="saas-2"))
    output = resegment("--dry-run")

    assert "Total 3: 0 moved, 3 unchanged" in output
    assert not Industry.objects.filter(name="saas").exists()


def test_map_value_records_baselines(active_framework, ops_user):
    saas = Industry.objects.get(name="SaaS")
    accounts = [AccountFactory(industry=None, industry_raw="Cloud thingies") for _ in range(2)]
    Account.history.filter(id__in=[account.pk for account in accounts]).delete()

    industry_value_map(raw_value="Cloud thingies", industry=saas, user=ops_user)

    for account in accounts:
        rows = list(Account.history.filter(id=account.pk).order_by("history_date", "history_id"))
        assert rows[0].history_change_reason == BASELINE_NOTE
        assert rows[0].industry_id is None
        assert rows[1].industry_id == saas.pk
        assert rows[1].history_user == ops_user


def test_map_value_with_no_break_space(active_framework, ops_user):
    """Imported labels may contain a no-break space, which a synonym's value may not."""
    saas = Industry.objects.get(name="SaaS")
    account = AccountFactory(industry=None, industry_raw="Cloud\u00a0thingies")

    result = industry_value_map(raw_value="Cloud\u00a0thingies", industry=saas, user=ops_user)

    account.refresh_from_db()
    assert result.synonym.value == "Cloud thingies"
    assert result.synonym.key == "cloud thingies"
    assert account.industry == saas
