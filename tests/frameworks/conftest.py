import pytest
from django.contrib.auth.models import Group

from accounts import roles
from segmentation.lifecycle import framework_draft_create
from segmentation.models import Framework, GeographyMapping
from tests.factories import AccountFactory


@pytest.fixture
def active_framework(db) -> Framework:
    """Framework version 1, approved by migration 0003."""
    return Framework.objects.get(version=1)


@pytest.fixture
def ops_user(make_user):
    """A Sales Ops member who may use the admin, as the permissions migration sets up."""
    return make_user(roles.SALES_OPS, username="ops", is_staff=True)


@pytest.fixture
def leader(make_user):
    return make_user(roles.SALES_LEADERSHIP, username="leader")


@pytest.fixture
def second_leader(make_user):
    return make_user(roles.SALES_LEADERSHIP, username="leader2")


@pytest.fixture
def unchanged_draft(active_framework, ops_user) -> Framework:
    """A draft copy of version 1 with its settings unchanged, so it cannot be submitted."""
    return framework_draft_create(source=active_framework, user=ops_user)


@pytest.fixture
def draft(unchanged_draft) -> Framework:
    """A draft copy of version 1 that can be submitted.

    A submitted version must change a setting, so the copy maps one more country,
    Bouvet Island (BV), where no test account is. No account's score, tag or route
    changes, and the row has no history user, so it is nobody's edit.
    """
    GeographyMapping.objects.create(
        framework=unchanged_draft, country="BV", region="Antarctica", label="Antarctica"
    )
    return unchanged_draft


@pytest.fixture
def industry_ids(db) -> dict[str, int]:
    from segmentation.models import Industry

    return dict(Industry.objects.values_list("name", "id"))


@pytest.fixture
def make_account(industry_ids):
    """Return a function that creates an account in a named industry."""

    def create(industry: str | None = "SaaS", **fields):
        industry_id = industry_ids[industry] if industry else None
        return AccountFactory(industry_id=industry_id, **fields)

    return create


@pytest.fixture
def sales_ops_group(db) -> Group:
    return Group.objects.get(name=roles.SALES_OPS)
