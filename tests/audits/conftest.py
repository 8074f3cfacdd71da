from datetime import UTC, datetime

import pytest

from accounts import roles
from accounts.models import Account, UserProfile
from audits.periods import month_period, previous_month
from segmentation.engine import ROW_FIELDS, CompiledFramework
from segmentation.models import Framework, Industry
from tests.factories import AccountFactory

# When fixture accounts were created: before every audited month, because an audit leaves
# out accounts created after the month's end.
CREATED_AT = datetime(2000, 1, 1, tzinfo=UTC)

VERIFIED_FIELDS = {
    name: {"status": "verified", "sources": [], "values": {}}
    for name in ("industry", "company_size", "country")
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash test passwords with MD5: the default PBKDF2 costs most of each test's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def framework(db) -> Framework:
    """Framework version 1, approved by migration."""
    return Framework.objects.get(version=1)


@pytest.fixture
def saas(db) -> Industry:
    return Industry.objects.get(name="SaaS")


@pytest.fixture
def team(make_user):
    """A Sales Manager with two SDRs reporting to them, and an SDR of another team."""
    manager = make_user(roles.SALES_MANAGER, username="morgan", first_name="Morgan")
    rep_a = make_user(roles.SDR, username="ana", first_name="Ana")
    rep_b = make_user(roles.SDR, username="ben", first_name="Ben")
    outsider = make_user(roles.SDR, username="olga", first_name="Olga")
    UserProfile.objects.create(user=rep_a, manager=manager)
    UserProfile.objects.create(user=rep_b, manager=manager)
    return {"manager": manager, "rep_a": rep_a, "rep_b": rep_b, "outsider": outsider}


@pytest.fixture
def audit_month():
    """The previous month: a finished month with no factory-made activity in it."""
    return previous_month()


@pytest.fixture
def in_month(audit_month) -> datetime:
    period = month_period(audit_month)
    return period.start + (period.end - period.start) / 2


@pytest.fixture
def scored(framework, saas):
    """Return a function that creates an account segmented by the active framework.

    The stored segment is the engine's result, every mandatory field is verified, and
    ``scored_at`` is the given time. The account and its creation history row hold the
    same values and are dated ``CREATED_AT``, before every audited month.
    """
    compiled = CompiledFramework.compile(framework)

    def create(*, scored_at=None, **fields) -> Account:
        fields.setdefault("industry", saas)
        account = AccountFactory(**fields)
        evaluation = compiled.evaluate(tuple(getattr(account, name) for name in ROW_FIELDS))
        values = {
            "score": evaluation.score,
            "tier": evaluation.tier,
            "tag": evaluation.tag,
            "route": evaluation.route,
            "size_band": evaluation.size_band,
            "geography": evaluation.geography,
            "needs_enrichment": evaluation.needs_enrichment,
            "missing_fields": evaluation.missing_fields,
            "framework": framework,
            "scored_at": scored_at,
            "field_status": VERIFIED_FIELDS,
            "verification_status": "verified",
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
        }
        Account.objects.filter(pk=account.pk).update(**values)
        Account.history.filter(id=account.pk).update(**values, history_date=CREATED_AT)
        account.refresh_from_db()
        return account

    return create
