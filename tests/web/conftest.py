import pytest

from segmentation.models import Framework, Industry


@pytest.fixture
def industry(db) -> Industry:
    industry, _ = Industry.objects.get_or_create(
        slug="web-test-saas", defaults={"name": "Web Test SaaS"}
    )
    return industry


@pytest.fixture
def framework(db) -> Framework:
    framework = Framework(version=99, name="Web test framework", status="draft")
    framework.save()
    return framework


@pytest.fixture
def signed_in(client, sdr):
    client.force_login(sdr)
    return client
