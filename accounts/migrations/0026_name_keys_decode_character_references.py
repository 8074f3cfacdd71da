"""Recompute the name keys of accounts whose names contain HTML character references.

company_name_key now decodes references, so "Johnson &amp; Johnson" has the key of
"Johnson & Johnson". An account imported before keeps its old key until this runs, and
an import of the decoded name would not find it by name. The names stay as they are.
"""

from django.db import migrations

from accounts.normalizers import company_name_key

BATCH_SIZE = 500


def recompute_name_keys(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    max_length = Account._meta.get_field("name_key").max_length
    accounts = (
        Account.objects.filter(name__contains="&")
        .filter(name__contains=";")
        .only("id", "name", "name_key")
    )
    changed = []
    for account in accounts.iterator(chunk_size=BATCH_SIZE):
        name_key = company_name_key(account.name)[:max_length]
        if name_key != account.name_key:
            account.name_key = name_key
            changed.append(account)
    Account.objects.bulk_update(changed, ["name_key"], batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0025_importrun_encoding_warning"),
    ]

    operations = [
        migrations.RunPython(recompute_name_keys, migrations.RunPython.noop),
    ]
