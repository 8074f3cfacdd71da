"""Seed the severity rules of the monthly audit.

Sales Ops change severities in the admin afterwards. Rules that already exist keep their
values, so running the migration on a database with edited rules changes nothing.
"""

from django.db import migrations

# rule code, kind, description, severity, default consequence
SEVERITY_RULES = (
    (
        "incomplete_data.tagged_missing_fields",
        "incomplete_data",
        "Tagged account misses industry, company size or geography.",
        "moderate",
        "none",
    ),
    (
        "incomplete_data.worked_missing_fields",
        "incomplete_data",
        "Account worked by a person misses industry, company size or geography.",
        "minor",
        "none",
    ),
    (
        "unverified_data.not_verified",
        "unverified_data",
        "Tagged account whose mandatory fields are not verified across sources.",
        "minor",
        "none",
    ),
    (
        "unverified_data.conflicting_sources",
        "unverified_data",
        "Tagged account whose sources conflict on a mandatory field.",
        "moderate",
        "none",
    ),
    (
        "misclassification.framework_mismatch",
        "misclassification",
        "Stored tag or tier differs from the result of the active framework.",
        "moderate",
        "none",
    ),
    (
        "misclassification.review_correction",
        "misclassification",
        "A manager corrected the tag or tier in a review.",
        "moderate",
        "coaching",
    ),
    (
        "skipped_step.tagged_before_verification",
        "skipped_step",
        "A person tagged the account while a mandatory field had a single source or "
        "conflicting sources.",
        "severe",
        "retraining",
    ),
    (
        "skipped_step.high_fit_without_research",
        "skipped_step",
        "High-tier account without a published research note.",
        "minor",
        "none",
    ),
)


def seed_rules(apps, schema_editor):
    SeverityRule = apps.get_model("audits", "SeverityRule")
    for rule_code, kind, description, severity, consequence in SEVERITY_RULES:
        SeverityRule.objects.get_or_create(
            rule_code=rule_code,
            defaults={
                "kind": kind,
                "description": description,
                "severity": severity,
                "default_consequence": consequence,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("audits", "0001_initial")]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
