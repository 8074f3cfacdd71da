"""Seed the severity rule of review corrections of tags that the framework computed.

Such a correction is a finding about the framework, with nobody responsible, so it has
no default consequence. A row that already exists keeps its values.
"""

from django.db import migrations

RULE_CODE = "misclassification.framework_tag_corrected"


def seed_rule(apps, schema_editor):
    SeverityRule = apps.get_model("audits", "SeverityRule")
    SeverityRule.objects.get_or_create(
        rule_code=RULE_CODE,
        defaults={
            "kind": "misclassification",
            "description": "A manager corrected in a review a tag or tier that the framework "
            "computed.",
            "severity": "moderate",
            "default_consequence": "none",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("audits", "0005_date_account_baselines_at_first_change")]

    operations = [migrations.RunPython(seed_rule, migrations.RunPython.noop)]
