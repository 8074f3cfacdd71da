import pytest
from django.contrib.auth.models import Group

from accounts import roles

from .factories import UserFactory


@pytest.fixture
def make_user(db):
    """Return a function that creates a user holding the given sales role."""

    def create(role: str | None = None, **fields):
        user = UserFactory(**fields)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return create


@pytest.fixture
def sdr(make_user):
    return make_user(roles.SDR, username="sdr")


@pytest.fixture
def manager(make_user):
    return make_user(roles.SALES_MANAGER, username="manager")


@pytest.fixture
def sales_ops(make_user):
    return make_user(roles.SALES_OPS, username="salesops")


@pytest.fixture
def marketing(make_user):
    return make_user(roles.MARKETING, username="marketing")


@pytest.fixture
def leadership(make_user):
    return make_user(roles.SALES_LEADERSHIP, username="leadership")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords with MD5: PBKDF2 costs most of a test's time and proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
