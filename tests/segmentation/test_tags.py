import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from segmentation.engine import CompiledFramework
from segmentation.tags import TagChecker
from tests.factories import AccountFactory


@pytest.fixture
def checker(default_framework) -> TagChecker:
    return TagChecker(CompiledFramework.compile(default_framework), default_framework.tag_template)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("SaaS – Mid-Market – APAC", "SaaS – Mid-Market – APAC"),
        ("saas - mid-market - apac", "SaaS – Mid-Market – APAC"),
        ("  FinTech—SMB—US ", "FinTech – SMB – US"),
        ("HealthTech – Enterprise – Rest of World", "HealthTech – Enterprise – Rest of World"),
        ("Retail & E-commerce - SMB - EMEA", "Retail & E-commerce – SMB – EMEA"),
    ],
)
def test_tag_stored_in_template_spelling(checker, typed, stored):
    assert checker.clean(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "Strategic",
        "SaaS – Mid Market – APAC",
        "SaaS – Mid-Market",
        "SaaS – Mid-Market – APAC – High",
        "Saas-y – SMB – US",
        "SaaS – SMB – Mars",
        "",
    ],
)
def test_tag_off_template_rejected(checker, typed):
    with pytest.raises(ValidationError) as raised:
        checker.clean(typed)

    message = raised.value.messages[0]
    assert f"Tag {typed!r} does not follow the tag template" in message
    assert "{industry} – {size_band} – {geography}" in message
    assert "SMB, Mid-Market, Enterprise" in message


def test_tier_and_country_placeholders(default_framework):
    checker = TagChecker(
        CompiledFramework.compile(default_framework), "{tier} fit: {industry} in {country}"
    )

    assert checker.clean("high FIT: saas IN de") == "High fit: SaaS in DE"
    with pytest.raises(ValidationError) as raised:
        checker.clean("Top fit: SaaS in Germany")

    message = raised.value.messages[0]
    assert "use a tier (High, Medium, Low), an industry of the taxonomy" in message
    assert "and a two-letter country code" in message
    assert "size band" not in message


def test_tier_part_must_match_tier(default_framework):
    checker = TagChecker(CompiledFramework.compile(default_framework), "{industry} – {tier}")

    assert checker.clean("SaaS – High", tier="high") == "SaaS – High"
    with pytest.raises(ValidationError) as raised:
        checker.clean("SaaS – High", tier="low")

    message = raised.value.message_dict["tag"][0]
    assert "names the tier High, but the tier it gets is Low" in message
    assert "write Low in the tag, or set the tier to High" in message


@pytest.mark.parametrize(
    ("tag", "tier", "expected"),
    [
        ("saas - high", "low", "SaaS – Low"),
        ("SaaS – Medium", "medium", "SaaS – Medium"),
        ("SaaS – High", "", "SaaS – High"),
        ("Key account", "low", "Key account"),
    ],
)
def test_with_tier_replaces_tier_part(default_framework, tag, tier, expected):
    checker = TagChecker(CompiledFramework.compile(default_framework), "{industry} – {tier}")

    assert checker.with_tier(tag, tier) == expected


def test_with_tier_without_tier_part(checker):
    assert checker.with_tier("saas - smb - us", "low") == "saas - smb - us"


def test_tier_part_checked_against_kept_tier(default_framework, sales_ops):
    default_framework.tag_template = "{industry} – {size_band} – {geography} – {tier}"
    default_framework.save(update_fields=["tag_template"])
    account = AccountFactory(tier="low", tag="")

    with pytest.raises(ValidationError, match="names the tier High"):
        account_segment_override(
            account=account,
            user=sales_ops,
            kind=SegmentOverride.Kind.REVIEW_CORRECTION,
            reason="Wrong region",
            tag="Insurance – SMB – EMEA – High",
        )
    account_segment_override(
        account=account,
        user=sales_ops,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Wrong region and fit",
        tag="Insurance – SMB – EMEA – High",
        tier="high",
    )
    account.refresh_from_db()
    assert (account.tag, account.tier) == ("Insurance – SMB – EMEA – High", "high")


def test_repeated_placeholder_needs_same_value(default_framework):
    checker = TagChecker(CompiledFramework.compile(default_framework), "{industry} / {industry}")

    assert checker.clean("saas / SAAS") == "SaaS / SaaS"
    with pytest.raises(ValidationError):
        checker.clean("SaaS / FinTech")


def test_override_stores_template_spelling(default_framework, sales_ops):
    account = AccountFactory(tag="SaaS – SMB – US")

    account_segment_override(
        account=account,
        user=sales_ops,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Moved to APAC after the Singapore office opened",
        tag="saas - mid-market - apac",
    )

    account.refresh_from_db()
    assert account.tag == "SaaS – Mid-Market – APAC"
    assert account.tag_override == "SaaS – Mid-Market – APAC"


def test_override_rejects_off_template_tag(default_framework, sales_ops):
    account = AccountFactory(tag="SaaS – SMB – US")

    with pytest.raises(ValidationError) as raised:
        account_segment_override(
            account=account,
            user=sales_ops,
            kind=SegmentOverride.Kind.MANUAL_TAG,
            reason="Looks strategic",
            tag="Strategic",
        )

    assert "tag" in raised.value.message_dict
    assert not SegmentOverride.objects.exists()
    assert Account.objects.get(pk=account.pk).tag == "SaaS – SMB – US"


def test_override_keeps_unchanged_old_tag(default_framework, sales_ops):
    """A tag from before the template check can still be confirmed as it is."""
    account = AccountFactory(tag="Legacy segment")

    override = account_segment_override(
        account=account,
        user=sales_ops,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Still right",
        tag="Legacy segment",
    )

    assert override.new_tag == "Legacy segment"


@pytest.mark.parametrize(
    "typed",
    [
        "SaaS – Small - Medium – EMEA",
        "SaaS – Small – Medium – EMEA",
        "SaaS - Small — Medium - EMEA",
        "SaaS – Small-Medium – EMEA",
        "SaaS – Small  -  Medium – EMEA",
        "SaaS–Small–Medium–EMEA",
        "SaaS-Small - Medium-EMEA",
    ],
)
def test_dash_inside_band_name_may_differ(default_framework, typed):
    default_framework.size_bands.filter(name="SMB").update(name="Small - Medium")
    checker = TagChecker(
        CompiledFramework.compile(default_framework), "{industry} – {size_band} – {geography}"
    )

    assert checker.clean(typed) == "SaaS – Small - Medium – EMEA"


@pytest.mark.parametrize("typed", ["SaaS – Mid – Market – APAC", "SaaS–Mid - Market–APAC"])
def test_spaces_around_dash_inside_value(checker, typed):
    assert checker.clean(typed) == "SaaS – Mid-Market – APAC"


def test_value_without_its_dash_rejected(checker):
    with pytest.raises(ValidationError):
        checker.clean("SaaS – Mid  Market – APAC")


def test_tag_compared_in_normal_form(default_framework):
    composed = "Caf\u00e9"
    decomposed = "Cafe\u0301"
    default_framework.size_bands.filter(name="SMB").update(name=composed)
    checker = TagChecker(
        CompiledFramework.compile(default_framework), "{industry} – {size_band} – {geography}"
    )

    assert checker.clean(f"SaaS – {decomposed} – EMEA") == f"SaaS – {composed} – EMEA"
