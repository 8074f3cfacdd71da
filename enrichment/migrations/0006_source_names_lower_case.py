"""Rewrite source names stored before the source-name rule in the spelling the rule stores.

Before the rule, one source could be stored as HubSpot and as hubspot, and verification
counted the two spellings as two independent sources, so two files of one system could
verify a field. This migration rewrites the names of observations, accounts, leads,
import runs and saved import mappings as the rule stores them: trimmed and lower case.

Verification cannot be recomputed here, because it needs the current models and rules.
So the migration resets the stored verification of each account whose observations it
rewrote: its field_status becomes empty and its verification_status "unverified".
``manage.py verify_accounts`` then recomputes those accounts (docs/operations.md).

A name whose stored spelling would be a reserved name, such as Manual for manual, is
left as it is, because verification ranks manual above every provider. History rows
keep the names as they were when they were written.
"""

from django.db import migrations

# The rule as of this migration, copied so that later changes to the app's rule do not
# change what this migration did (accounts.importing.sources.source_key).
RESERVED_SOURCE_NAMES = frozenset({"manual", "unrecorded"})


def _renames(names):
    """Map each name that is not in its stored spelling to that spelling."""
    renames = {}
    for name in set(names):
        key = name.strip().lower()
        if key and key != name and key not in RESERVED_SOURCE_NAMES:
            renames[name] = key
    return renames


def _rewrite_column(model, renames):
    for old, new in renames.items():
        model.objects.filter(source=old).update(source=new)


def rewrite_source_names(apps, schema_editor):
    Observation = apps.get_model("enrichment", "Observation")
    Account = apps.get_model("accounts", "Account")

    observation_renames = _renames(
        Observation.objects.order_by().values_list("source", flat=True).distinct()
    )
    if observation_renames:
        affected = Observation.objects.filter(source__in=list(observation_renames)).values(
            "account_id"
        )
        Account.objects.filter(pk__in=affected).update(
            field_status={}, verification_status="unverified"
        )
        _rewrite_column(Observation, observation_renames)

    for model_name in ("Account", "Lead", "ImportRun"):
        model = apps.get_model("accounts", model_name)
        _rewrite_column(
            model, _renames(model.objects.order_by().values_list("source", flat=True).distinct())
        )

    ImportMapping = apps.get_model("accounts", "ImportMapping")
    for mapping in ImportMapping.objects.all():
        source = mapping.mapping.get("source") if isinstance(mapping.mapping, dict) else None
        if not isinstance(source, str):
            continue
        new = _renames([source]).get(source)
        if new is not None:
            mapping.mapping["source"] = new
            mapping.save(update_fields=["mapping"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_research_note_date_not_in_future"),
        ("enrichment", "0005_fieldresolution_channel"),
    ]

    # The old spellings are not kept, so the reverse step leaves the names as they are.
    operations = [migrations.RunPython(rewrite_source_names, migrations.RunPython.noop)]
