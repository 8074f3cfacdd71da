"""Explanations stored as shared items plus each record's own numbers."""

import json
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Account
from segmentation.engine import ROW_FIELDS, CompiledFramework
from segmentation.explanations import expand, item_key
from segmentation.models import ExplanationItem, ScoreRecord
from segmentation.services import accounts_segment
from tests.factories import AccountFactory

SIZE_ITEM = (
    '{"dimension":"company_size","label":"Size","outcome":"match","points":25,'
    '"max_points":25,"reason":"Company size Mid-Market (\\u0001 employees) (+25 of 25)"}'
)
REVENUE_ITEM = (
    '{"dimension":"revenue","label":"Revenue","outcome":"match","points":10,'
    '"max_points":10,"reason":"Revenue \\u0002 is within $10M to $100M (+10 of 10)"}'
)


def stored_texts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT explanation FROM {ScoreRecord._meta.db_table} ORDER BY id")
        return [text for (text,) in cursor.fetchall()]


def test_plain_list_returned_unchanged():
    items = [{"dimension": "manual", "reason": "Set by a person"}]
    assert expand(items) is items


@pytest.mark.django_db
def test_keys_expand_with_record_numbers():
    for text in (SIZE_ITEM, REVENUE_ITEM):
        ExplanationItem.objects.create(key=item_key(text), text=text)
    extra = {"dimension": "verification", "reason": "Industry: sources disagree"}
    stored = {
        "items": [item_key(SIZE_ITEM), item_key(REVENUE_ITEM)],
        "count": "1,200",
        "revenue": "$75.3M",
        "extra": [extra],
    }

    items = expand(stored)

    assert [item["reason"] for item in items] == [
        "Company size Mid-Market (1,200 employees) (+25 of 25)",
        "Revenue $75.3M is within $10M to $100M (+10 of 10)",
        "Industry: sources disagree",
    ]
    assert items[0]["points"] == 25


@pytest.mark.django_db
def test_unknown_key_shown_as_missing():
    items = expand({"items": [12345]})
    assert len(items) == 1
    assert items[0]["label"] == "Missing item"


def test_key_is_stable_and_signed():
    key = item_key(SIZE_ITEM)
    assert key == item_key(SIZE_ITEM)
    assert key != item_key(REVENUE_ITEM)
    assert -(2**63) <= key < 2**63


def test_bulk_records_store_keys(default_framework, industry_id):
    accounts = [
        AccountFactory(
            industry_id=industry_id("SaaS"),
            employee_count=count,
            annual_revenue_usd=Decimal(revenue),
            country="SG",
        )
        for count, revenue in ((300, "20000000"), (450, "75300000"), (5200, "2500000000"))
    ]

    accounts_segment()

    texts = stored_texts()
    assert len(texts) == len(accounts)
    for text in texts:
        stored = json.loads(text)
        assert len(stored["items"]) == 6
        assert ExplanationItem.objects.filter(key__in=stored["items"]).count() == 6
    compiled = CompiledFramework.compile(default_framework)
    for account in accounts:
        account.refresh_from_db()
        expected = compiled.evaluate(tuple(getattr(account, name) for name in ROW_FIELDS))
        record = ScoreRecord.objects.get(account=account)
        assert record.explanation == expected.explanation
    size_reasons = [
        ScoreRecord.objects.get(account=account).explanation[1]["reason"] for account in accounts
    ]
    assert size_reasons[0].startswith("Company size Mid-Market (300 employees)")
    assert size_reasons[1].startswith("Company size Mid-Market (450 employees)")


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected"),
    [
        (1001, 5000, "Company size Enterprise (1,001–5,000 employees)"),
        (10001, None, "Company size Enterprise (10,001+ employees)"),
        (3000, 3000, "Company size Enterprise (3,000 employees)"),
    ],
)
def test_size_reason_shows_range(default_framework, industry_id, minimum, maximum, expected):
    account = AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=minimum if maximum is None else (minimum + maximum) // 2,
        employee_min=minimum,
        employee_max=maximum,
        employee_raw="1,001-5,000",
        country="SG",
    )

    accounts_segment()

    record = ScoreRecord.objects.get(account=account)
    reasons = [item["reason"] for item in record.explanation]
    assert any(reason.startswith(expected) for reason in reasons), reasons


def test_override_items_stored_with_record(default_framework, industry_id):
    account = AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        tier_override="low",
    )

    accounts_segment()

    explanation = ScoreRecord.objects.get(account=account).explanation
    assert len(explanation) == 7
    assert explanation[-1]["label"] == "Tier override kept"
    assert "the framework computed 'high'" in explanation[-1]["reason"]


def test_override_equal_to_result_not_named(default_framework, industry_id):
    account = AccountFactory(industry_id=industry_id("SaaS"), employee_count=300, country="SG")
    accounts_segment()
    account.refresh_from_db()
    Account.objects.filter(pk=account.pk).update(tag_override=account.tag, tier_override="low")

    accounts_segment(account_ids=[account.pk])

    labels = [
        item["label"]
        for item in ScoreRecord.objects.filter(account=account).latest("id").explanation
    ]
    assert "Tier override kept" in labels
    assert "Tag override kept" not in labels


def test_tier_override_sets_tag_tier_part(default_framework, industry_id):
    default_framework.tag_template = "{industry} – {size_band} – {geography} – {tier}"
    default_framework.save(update_fields=["tag_template"])
    account = AccountFactory(
        industry_id=industry_id("SaaS"), employee_count=300, country="SG", tier_override="low"
    )

    accounts_segment()

    account.refresh_from_db()
    record = ScoreRecord.objects.get(account=account)
    assert account.tier == "low"
    assert account.tag.endswith(" – Low")
    assert record.tag == account.tag
    labels = [item["label"] for item in record.explanation]
    assert "Tag override kept" not in labels


def test_tag_override_wins_over_tier_part(default_framework, industry_id):
    default_framework.tag_template = "{industry} – {size_band} – {geography} – {tier}"
    default_framework.save(update_fields=["tag_template"])
    account = AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        tier_override="low",
        tag_override="Hand Tag",
    )

    accounts_segment()

    account.refresh_from_db()
    assert account.tag == "Hand Tag"
