"""Let the Sales Ops group view the enrichment app's rows in the admin.

Sales Ops start enrichment runs and work in the admin, where observations, field
resolutions and enrichment runs with their failed accounts are listed under Enrichment.
Those pages are read-only for everyone because only services write these rows, so the
group gets the view permission of each enrichment model and nothing more.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sales Ops"
APP = "enrichment"
MODELS = ("observation", "fieldresolution", "enrichmentrun", "enrichmentrunitem")


def _view_permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"view_{model}" for model in MODELS]
    return Permission.objects.filter(content_type__app_label=APP, codename__in=codenames)


def grant_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now.
    app_config = apps.get_app_config(APP)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(*_view_permissions(apps))


def revoke_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_view_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0006_source_names_lower_case"),
        ("accounts", "0003_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant_permissions, revoke_permissions),
    ]
