"""Recompute the keys of industry synonyms whose values contain HTML character references.

industry_key now decodes references, so a label "Foo &amp; Bar" has the key of "Foo &
Bar". A synonym saved before keeps its old key until this runs, and the label it was made
for would no longer find it. A synonym whose new key another synonym already has keeps
its old key, because keys are unique and that other synonym maps the label.
"""

from django.db import migrations

from accounts.normalizers import industry_key


def recompute_synonym_keys(apps, schema_editor):
    IndustrySynonym = apps.get_model("segmentation", "IndustrySynonym")
    taken = set(IndustrySynonym.objects.values_list("key", flat=True))
    synonyms = IndustrySynonym.objects.filter(value__contains="&").filter(value__contains=";")
    for synonym in synonyms.order_by("id"):
        key = industry_key(synonym.value)[:255]
        if not key or key == synonym.key or key in taken:
            continue
        taken.discard(synonym.key)
        taken.add(key)
        synonym.key = key
        synonym.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0013_industry_name_lower_unique"),
    ]

    operations = [
        migrations.RunPython(recompute_synonym_keys, migrations.RunPython.noop),
    ]
