import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

LIST_URL = reverse("accounts:account-list")


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign in to ICP Portal" in html
    assert 'autocomplete="current-password"' in html


def test_login_redirects_to_account_list(client, sdr):
    response = client.post(
        reverse("login"), {"username": "sdr", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == LIST_URL


def test_login_wrong_password_shows_error(client, sdr):
    response = client.post(reverse("login"), {"username": "sdr", "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "alert-danger" in html


def test_navbar_shows_user_and_role(client, make_user):
    user = make_user("Sales Manager", username="mgr", first_name="Maria", last_name="Lopez")
    client.force_login(user)
    html = client.get(LIST_URL).content.decode()
    assert "ICP Portal" in html
    assert "Maria Lopez" in html
    assert "Sales Manager" in html
    assert f'href="{LIST_URL}"' in html


def test_navbar_hides_admin_link_from_sdr(client, sdr):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    assert 'href="/admin/"' not in html


def test_navbar_shows_admin_link_to_sales_ops(client, sales_ops):
    client.force_login(sales_ops)
    html = client.get(LIST_URL).content.decode()
    assert 'href="/admin/"' in html


def test_navbar_shows_admin_link_to_staff(client, make_user):
    client.force_login(make_user("Marketing", username="staffer", is_staff=True))
    html = client.get(LIST_URL).content.decode()
    assert 'href="/admin/"' in html


def test_user_without_role_gets_403_page(client, make_user):
    client.force_login(make_user(None, username="no-role"))
    response = client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 403
    assert "You do not have access to this page" in html
    assert "Sign out" in html


def test_logout_is_a_post_form(client, sdr):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    assert '<form method="post" action="/logout/"' in html


def test_logout_post_signs_out(client, sdr):
    client.force_login(sdr)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(LIST_URL).status_code == 302


def test_layout_has_skip_link_and_main(client, sdr):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    assert 'href="#main"' in html
    assert '<main id="main"' in html


def test_layout_loads_vendored_assets(client, sdr):
    client.force_login(sdr)
    html = client.get(LIST_URL).content.decode()
    assert "/static/vendor/bootstrap-5.3.9/bootstrap.min.css" in html
    assert "/static/vendor/htmx.org-2.0.11/htmx.min.js" in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize(
    "path",
    [
        "vendor/bootstrap-5.3.9/bootstrap.min.css",
        "vendor/bootstrap-5.3.9/bootstrap.bundle.min.js",
        "vendor/htmx.org-2.0.11/htmx.min.js",
        "vendor/chart.js-4.6.1/chart.umd.min.js",
        "css/portal.css",
        "js/portal.js",
    ],
)
def test_static_file_exists(path):
    assert finders.find(path) is not None
