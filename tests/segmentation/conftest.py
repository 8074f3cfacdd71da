from decimal import Decimal

import pytest

from segmentation.models import Criterion, Framework, GeographyMapping, Industry, SizeBand

# Bands and map of the small frameworks that engine tests build.
TEST_BANDS = [
    ("SMB", 1, 200, None, Decimal("50000000")),
    ("Mid-Market", 201, 1000, Decimal("50000000"), Decimal("1000000000")),
    ("Enterprise", 1001, None, Decimal("1000000000"), None),
]
TEST_GEOGRAPHY = [
    ("US", "North America", "US"),
    ("CA", "North America", "Canada"),
    ("DE", "EMEA", "EMEA"),
    ("SG", "APAC", "APAC"),
    ("BR", "LATAM", "LATAM"),
]


@pytest.fixture
def default_framework(db) -> Framework:
    """Framework version 1, created by migration 0003."""
    return Framework.objects.get(version=1)


@pytest.fixture
def industry_id(db):
    """Return a function mapping a canonical industry name to its id."""
    ids = dict(Industry.objects.values_list("name", "id"))
    return ids.__getitem__


@pytest.fixture
def make_framework(db):
    """Return a function that saves a draft framework with the given criteria."""

    def create(criteria: list[dict], **fields) -> Framework:
        versions = Framework.objects.order_by("-version").values_list("version", flat=True)
        version = (versions.first() or 0) + 1
        framework = Framework.objects.create(version=version, name=f"Test v{version}", **fields)
        for position, criterion in enumerate(criteria):
            Criterion.objects.create(framework=framework, position=position, **criterion)
        for position, (name, low, high, low_revenue, high_revenue) in enumerate(TEST_BANDS):
            SizeBand.objects.create(
                framework=framework,
                name=name,
                min_employees=low,
                max_employees=high,
                min_revenue_usd=low_revenue,
                max_revenue_usd=high_revenue,
                position=position,
            )
        GeographyMapping.objects.bulk_create(
            GeographyMapping(framework=framework, country=country, region=region, label=label)
            for country, region, label in TEST_GEOGRAPHY
        )
        return framework

    return create
