"""The rows that data migrations create, loaded again for transactional tests.

A transactional test empties every table when it ends, so the role groups, the industry
taxonomy and the approved framework version 1 are gone for the next one. Django's
serialized rollback restores them only while no other transactional test has flushed the
database first and recreated content types with other ids, which the browser tests do.
"""

import importlib

from django.db import connection
from django.db.migrations.loader import MigrationLoader

# (app, migration, function): each function keeps rows that already exist.
DATA_MIGRATIONS = (
    ("accounts", "0003_role_groups", "create_role_groups"),
    ("segmentation", "0002_industry_taxonomy", "load_taxonomy"),
    ("segmentation", "0003_default_framework", "create_default_framework"),
)


def reload_migration_data() -> None:
    """Run the data migrations again with the models as they were at each migration."""
    loader = MigrationLoader(connection)
    for app_label, migration, function in DATA_MIGRATIONS:
        module = importlib.import_module(f"{app_label}.migrations.{migration}")
        state = loader.project_state((app_label, migration), at_end=True)
        getattr(module, function)(state.apps, None)
