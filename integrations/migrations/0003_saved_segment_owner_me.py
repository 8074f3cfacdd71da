"""Store owner=me of saved segments as the segment owner's user id.

"me" meant the user who pulled the segment, so a shared segment listed each viewer's own
accounts. It now means the user who saved it, and the stored filter says so.
"""

from django.db import migrations


def owner_me_to_id(apps, schema_editor):
    SavedSegment = apps.get_model("integrations", "SavedSegment")
    for segment in SavedSegment.objects.filter(filters__owner="me"):
        segment.filters = {**segment.filters, "owner": str(segment.owner_id)}
        segment.save(update_fields=["filters"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0002_webhook_periodic_tasks")]

    operations = [migrations.RunPython(owner_me_to_id, migrations.RunPython.noop)]
