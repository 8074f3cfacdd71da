"""The domain that enrichment looks an account up by."""

import pytest

from enrichment.services import lookup_domain
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_lookup_domain_of_platform_company():
    account = AccountFactory.build(name="LinkedIn", domain="", website="https://www.linkedin.com/")

    assert lookup_domain(account) == "linkedin.com"


def test_lookup_domain_skips_third_party_page():
    account = AccountFactory.build(
        name="Anvil Peak", domain="", website="https://www.linkedin.com/company/anvil-peak"
    )

    assert lookup_domain(account) == ""
