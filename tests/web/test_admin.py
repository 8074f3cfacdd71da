import pytest
from django.urls import reverse

from accounts.models import ImportRun, Lead
from tests.factories import AccountFactory, UserFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_account_changelist(admin_client, industry):
    AccountFactory(name="Admin Listed", industry=industry, tier="high", score=80)
    response = admin_client.get(reverse("admin:accounts_account_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Admin Listed" in html
    assert "Web Test SaaS" in html


def test_admin_account_search(admin_client):
    AccountFactory(name="Findable", domain="findable.example")
    AccountFactory(name="Hidden", domain="hidden.example")
    response = admin_client.get(reverse("admin:accounts_account_changelist"), {"q": "findable"})
    html = response.content.decode()
    assert "Findable" in html
    assert "Hidden" not in html


def test_admin_account_result_fields_read_only(admin_client):
    account = AccountFactory(tier="low", score=12)
    response = admin_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    form = response.context["adminform"].form
    assert response.status_code == 200
    assert "tier" not in form.fields
    assert "score" not in form.fields
    assert "name" in form.fields


def test_admin_account_has_identifier_inline(admin_client):
    account = AccountFactory()
    response = admin_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    assert "identifiers-TOTAL_FORMS" in response.content.decode()


def test_admin_account_history_page(admin_client):
    account = AccountFactory(name="Before")
    account.name = "After"
    account.save()
    response = admin_client.get(reverse("admin:accounts_account_history", args=[account.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Before" in html
    assert "After" in html


def test_admin_lead_changelist(admin_client):
    Lead.objects.create(account=AccountFactory(), first_name="Ada", last_name="Admin")
    response = admin_client.get(reverse("admin:accounts_lead_changelist"))
    assert response.status_code == 200
    assert "Ada Admin" in response.content.decode()


def test_admin_import_run_is_read_only(admin_client):
    run = ImportRun.objects.create(source="apollo", file_name="companies.csv")
    changelist = admin_client.get(reverse("admin:accounts_importrun_changelist"))
    add = admin_client.get(reverse("admin:accounts_importrun_add"))
    change = admin_client.post(
        reverse("admin:accounts_importrun_change", args=[run.pk]), {"file_name": "other.csv"}
    )
    run.refresh_from_db()
    assert changelist.status_code == 200
    assert "companies.csv" in changelist.content.decode()
    assert add.status_code == 403
    assert change.status_code == 403
    assert run.file_name == "companies.csv"
