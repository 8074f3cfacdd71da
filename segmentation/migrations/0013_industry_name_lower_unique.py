"""Reject two industries whose names differ only in case, with a unique index on lower(name).

Criteria name industries ignoring case, so such a pair made one of them score as a
non-target industry. Before the index is built, existing pairs are reported with their
ids, because CREATE UNIQUE INDEX would only fail with the first duplicate key.
"""

from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def check_duplicate_names(apps, schema_editor):
    Industry = apps.get_model("segmentation", "Industry")
    duplicate_keys = (
        Industry.objects.annotate(lower_name=Lower("name"))
        .values("lower_name")
        .annotate(industries=Count("id"))
        .filter(industries__gt=1)
        .values_list("lower_name", flat=True)
    )
    groups = []
    for lower_name in duplicate_keys:
        rows = (
            Industry.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name=lower_name)
            .order_by("id")
            .values_list("id", "name")
        )
        groups.append(", ".join(f"{name!r} (id {pk})" for pk, name in rows))
    if groups:
        raise RuntimeError(
            "Industry names must differ ignoring case, but these industries share a name: "
            + "; ".join(groups)
            + ". In the admin under Segmentation > Industries, delete or rename every one but "
            "the one that accounts and criteria use, then run migrate again. The admin allows "
            "it even where framework criteria name the industry, because those criteria keep "
            "matching the industry that stays."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("segmentation", "0012_run_kind_import"),
    ]

    operations = [
        migrations.RunPython(check_duplicate_names, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="industry",
            constraint=models.UniqueConstraint(
                Lower("name"),
                name="industry_name_lower_unique",
                violation_error_message="Another industry has this name, ignoring case.",
            ),
        ),
    ]
