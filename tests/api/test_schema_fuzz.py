"""Property-based requests generated from the OpenAPI schema (schemathesis), in-process.

Each operation gets at most 25 generated requests, once as a Sales Ops user (read and
write token) and once with a Marketing read token. No response may be a server error
(5xx), and every response must match the schema: documented status, content type and body.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.settings import api_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from accounts import roles
from accounts.models import Tier
from integrations.services.tokens import api_token_create
from tests.factories import AccountFactory

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The coverage phase is off: it sends boundary cases beyond the 25 examples and would take
# minutes. Security parameters are off because the tokens below authenticate every call.
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {"coverage": {"enabled": False}},
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "with-security-parameters": False,
        },
    }
)
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = WSGIHandler()


@pytest.fixture
def keep_test_connection():
    """Keep the database connection open between in-process requests.

    Django closes connections at the end of each request. Inside a test's transaction that
    would drop the transaction, so, like Django's test client, requests here skip it.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_data(keep_test_connection, db, make_user, monkeypatch):
    """Accounts to read and change, tokens for both roles, and no rate limits."""
    monkeypatch.setattr(
        api_settings,
        "DEFAULT_THROTTLE_RATES",
        dict.fromkeys(api_settings.DEFAULT_THROTTLE_RATES),
    )
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)
    cache.clear()
    ops = make_user(roles.SALES_OPS, username="fuzz-ops")
    marketing = make_user(roles.MARKETING, username="fuzz-marketing")
    for index in range(3):
        AccountFactory(route="Outbound", tier=Tier.HIGH, score=70 + index, tag="SaaS – SMB – US")
    _, ops_key = api_token_create(user=ops, name="fuzz", scopes=["read", "write"])
    _, marketing_key = api_token_create(user=marketing, name="fuzz", scopes=["read"])
    return {"ops": ops_key, "marketing": marketing_key}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_api_matches_schema(case, fuzz_data):
    for key in (fuzz_data["ops"], fuzz_data["marketing"]):
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
