"""The data migration that recomputes name keys of names with HTML character references."""

import importlib

import pytest
from django.apps import apps

from accounts.models import Account
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "accounts.migrations.0026_name_keys_decode_character_references"
)


def test_migration_recomputes_reference_keys():
    escaped = AccountFactory(name="Johnson &amp; Johnson")
    Account.objects.filter(pk=escaped.pk).update(name_key="johnson and amp johnson")
    plain = AccountFactory(name="Smith; Jones & Co")

    migration.recompute_name_keys(apps, None)

    escaped.refresh_from_db()
    assert escaped.name_key == "johnson and johnson"
    assert escaped.name == "Johnson &amp; Johnson"
    plain.refresh_from_db()
    assert plain.name_key == "smith jones"
