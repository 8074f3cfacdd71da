"""Create one Django group per sales role.

Pages, the admin and the API check membership of these groups, so they must exist on
every installation, not only after the demo data is loaded.
"""

from django.db import migrations

ROLE_NAMES = ("SDR", "AE", "Sales Manager", "Sales Ops", "Marketing", "Sales Leadership")


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]
