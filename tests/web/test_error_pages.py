"""Error pages as a deployment serves them, with DEBUG off."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


def test_404_uses_site_layout(signed_in):
    response = signed_in.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="signed-in-user"' in html
    assert "There is no page at this address" in html
    assert 'data-testid="error-back"' in html
    assert "Resolver404" not in html


def test_404_hides_django_message(signed_in):
    response = signed_in.get(reverse("accounts:account-detail", args=[987654]))
    html = response.content.decode()
    assert response.status_code == 404
    assert "matches the given query" not in html
    assert "There is no page at this address" in html


def test_404_shows_upload_message(client, sales_ops):
    client.force_login(sales_ops)
    upload = SimpleUploadedFile("export.csv", b"Company name,Website\nAcme,acme.example\n")
    response = client.post(reverse("accounts:import-upload"), {"file": upload})
    mapping_url = response["Location"]
    assert "/mapping/" in mapping_url

    other_session = Client()
    other_session.force_login(sales_ops)
    response = other_session.get(mapping_url)
    html = response.content.decode()
    assert response.status_code == 404
    assert "This upload is not part of your session: upload the file again." in html
    assert f'href="{reverse("accounts:import-upload")}"' in html
    assert 'data-testid="signed-in-user"' in html


def test_404_for_anonymous_user(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'data-testid="error-back"' in response.content.decode()


def test_403_links_back(client, make_user):
    client.force_login(make_user())
    response = client.get(reverse("accounts:import-upload"))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="error-back"' in html


def test_500_page_renders_alone(client, sdr, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database is gone")

    client.raise_request_exception = False
    client.force_login(sdr)
    monkeypatch.setattr("accounts.views.pages.AccountListView.get", fail)
    response = client.get(reverse("accounts:account-list"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Server error" in html
    assert "database is gone" not in html
    assert 'data-testid="error-back"' in html


def test_400_page_renders_alone(client, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    client.raise_request_exception = False
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_large_form_page_is_413(client, sdr, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.raise_request_exception = False
    client.force_login(sdr)
    response = client.post(
        reverse("accounts:account-bulk"),
        "action=export&account_ids=" + "1" * 2000,
        content_type="application/x-www-form-urlencoded",
    )
    html = response.content.decode()
    assert response.status_code == 413
    assert "Request too large" in html
    assert "The form sent more than 1000 bytes" in html
    assert "Server error" not in html


def test_form_with_many_files_is_400(client, sdr, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client.raise_request_exception = False
    client.force_login(sdr)
    files = [SimpleUploadedFile(f"{number}.csv", b"Company\nAcme\n") for number in range(4)]
    response = client.post(reverse("accounts:import-upload"), {"file": files})
    html = response.content.decode()
    assert response.status_code == 400
    assert "The form sent more than 2 files" in html
