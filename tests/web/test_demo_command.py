"""The demo command: users for every role, owned accounts, and the planted audit cases."""

import ast
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.management.commands.demo import AE_ACCOUNTS, DEMO_USERS
from accounts.models import Account
from audits.models import Violation, ViolationKind


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("demo", "--companies", "400", stdout=out)
    return out.getvalue()


def test_every_demo_user_can_sign_in(demo):
    users = get_user_model().objects.filter(username__in=[row[0] for row in DEMO_USERS])
    assert users.count() == len(DEMO_USERS)
    assert all(user.check_password("demo-pass-2026") for user in users)


def test_ae_owns_high_and_medium_accounts(demo):
    owned = Account.objects.filter(owner__username="ae")
    assert owned.count() == AE_ACCOUNTS
    assert set(owned.values_list("tier", flat=True)) <= {"high", "medium"}
    assert Account.objects.filter(owner__username="sdr").exists()
    assert Account.objects.filter(owner__username="sdr2").exists()


def test_audit_finds_exactly_the_planted_cases(demo):
    line = next(line for line in demo.splitlines() if line.startswith("Audit of "))
    planted = ast.literal_eval(line.split("planted ", 1)[1].rsplit(", found ", 1)[0])
    kinds = Counter(Violation.objects.values_list("kind", flat=True))
    assert set(kinds) == set(ViolationKind.values)
    assert all(kinds[kind] == planted[kind] for kind in ViolationKind.values)


def test_latest_record_matches_account(demo):
    """Every account shows the result that its latest ScoreRecord explains."""
    accounts = Account.objects.filter(tag_override="", tier_override="")
    assert accounts.exists()
    for account in accounts:
        latest = account.score_records.order_by("-created_at", "-id").first()
        assert latest is not None, account.name
        assert latest.score == account.score, account.name
        assert latest.tier == account.tier, account.name
        assert latest.tag == account.tag, account.name


def test_accounts_needing_enrichment_unrouted(demo):
    """Marketing's route lists hold no demo account that needs enrichment, tagged by hand
    or not."""
    needing = Account.objects.filter(needs_enrichment=True)
    assert needing.exclude(tag_override="").exists()
    assert list(needing.exclude(route="").values_list("name", "route")) == []


def test_zero_companies_creates_users_only(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()

    call_command("demo", "--companies", "0", stdout=out)

    users = get_user_model().objects.filter(username__in=[row[0] for row in DEMO_USERS])
    assert users.count() == len(DEMO_USERS)
    assert not Account.objects.filter(source="demo").exists()
    assert out.getvalue().splitlines()[-1].startswith("No sample companies requested")


def test_negative_companies_rejected(db):
    with pytest.raises(CommandError, match="invalid count -5: enter 0 or more"):
        call_command("demo", "--companies", "-5")

    assert not get_user_model().objects.filter(username="sdr").exists()
