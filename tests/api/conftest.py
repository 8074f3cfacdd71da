import pytest
from rest_framework.test import APIClient

from segmentation.models import Industry


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def signed_in_api(api_client, sdr) -> APIClient:
    api_client.force_login(sdr)
    return api_client


@pytest.fixture
def industry(db) -> Industry:
    industry, _ = Industry.objects.get_or_create(
        slug="api-test-fintech", defaults={"name": "API Test FinTech"}
    )
    return industry
