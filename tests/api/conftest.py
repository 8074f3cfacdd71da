import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import roles
from integrations.services.tokens import api_token_create
from segmentation.models import Framework, FrameworkStatus, Industry


@pytest.fixture(autouse=True)
def clear_throttle_counters():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def signed_in_api(api_client, sdr) -> APIClient:
    api_client.force_login(sdr)
    return api_client


@pytest.fixture
def client_for():
    """Return a function that builds an API client signed in as ``user``."""

    def build(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return build


@pytest.fixture
def token_client():
    """Return a function that builds an API client sending a new token of ``user``."""

    def build(user, scopes=("read",)) -> APIClient:
        _, key = api_token_create(user=user, name="test token", scopes=list(scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return build


@pytest.fixture
def ae(make_user):
    return make_user(roles.AE, username="ae")


@pytest.fixture
def superuser(make_user):
    return make_user(None, username="admin", is_superuser=True, is_staff=True)


@pytest.fixture
def industry(db) -> Industry:
    industry, _ = Industry.objects.get_or_create(
        slug="api-test-fintech", defaults={"name": "API Test FinTech"}
    )
    return industry


@pytest.fixture
def framework(db) -> Framework:
    """A framework version of the API tests, draft so it never clashes with an approved one."""
    return Framework.objects.create(
        version=900, name="API test framework", status=FrameworkStatus.DRAFT
    )
