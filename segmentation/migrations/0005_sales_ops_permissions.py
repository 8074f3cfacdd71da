"""Give the Sales Ops group the admin permissions for frameworks, taxonomy and schedules.

Sales Ops own the framework in the Django admin, so the group gets every model permission
of the segmentation app (view only for results and the revision register, which
only services write) and of django_celery_beat, where the quarterly re-segmentation is
scheduled. Existing members become staff so they can sign in to the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sales Ops"
# Written by services only: Sales Ops may look but not change.
VIEW_ONLY_MODELS = {"scorerecord", "segmentationrun", "frameworkrevision"}
APPS = ("segmentation", "django_celery_beat")


def grant_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now.
    for app_config in apps.get_app_configs():
        if app_config.label in APPS:
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = []
    for permission in Permission.objects.filter(content_type__app_label__in=APPS).select_related(
        "content_type"
    ):
        model = permission.content_type.model
        if model.startswith("historical"):
            if permission.codename.startswith("view_"):
                permissions.append(permission)
            continue
        if model in VIEW_ONLY_MODELS and not permission.codename.startswith("view_"):
            continue
        permissions.append(permission)
    group.permissions.add(*permissions)
    User.objects.filter(groups=group).update(is_staff=True)


def revoke_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label__in=APPS))


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0004_lifecycle_history_revisions"),
        ("accounts", "0003_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(grant_permissions, revoke_permissions),
    ]
