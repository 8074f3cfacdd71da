from pathlib import Path

import pytest

from accounts import roles
from accounts.models import UserProfile
from segmentation.models import Framework, Industry

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Hash the fixture users' passwords with MD5: PBKDF2 takes most of each test's setup."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Keep uploads and rejected-row reports under the test's temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def one_at_a_time(settings, tmp_path: Path) -> None:
    """Run imports and other long writes one at a time, as the portal does on SQLite."""
    settings.ICP_IMPORTS_ONE_AT_A_TIME = True
    settings.ICP_IMPORT_LOCK_PATH = tmp_path / "import.lock"


@pytest.fixture
def ae(make_user):
    return make_user(roles.AE, username="ae", first_name="Alex", last_name="Kim")


@pytest.fixture
def sdr2(make_user):
    return make_user(roles.SDR, username="sdr2", first_name="Dana", last_name="Okafor")


@pytest.fixture
def team(manager, sdr, ae):
    """Make the SDR and the AE report to the manager."""
    for member in (sdr, ae):
        UserProfile.objects.update_or_create(user=member, defaults={"manager": manager})
    return [sdr, ae]


@pytest.fixture
def approved_framework(db) -> Framework:
    return Framework.objects.get(status="approved")


@pytest.fixture
def saas(db) -> Industry:
    industry, _ = Industry.objects.get_or_create(slug="saas", defaults={"name": "SaaS"})
    return industry
