"""Store the channel of each conflict resolution (FieldResolution).

Rows written before this migration get an empty channel, because the channel they were
made through is unknown; the audit trail shows them as "Not recorded". The field is first
added with an empty default for those rows, then its default becomes the current channel
for new rows.
"""

from django.db import migrations, models

import audits.history

CHANNEL_CHOICES = [
    ("page", "Page"),
    ("admin", "Admin"),
    ("api", "API"),
    ("import", "Import"),
    ("task", "Task"),
    ("shell", "Shell or script"),
]
HELP_TEXT = (
    "Page, admin, API, import, task or shell. Empty for resolutions recorded before the "
    "channel was stored."
)


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0004_observation_account_no_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="fieldresolution",
            name="channel",
            field=models.CharField(
                blank=True,
                choices=CHANNEL_CHOICES,
                default="",
                help_text=HELP_TEXT,
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="fieldresolution",
            name="channel",
            field=models.CharField(
                blank=True,
                choices=CHANNEL_CHOICES,
                default=audits.history.current_channel,
                help_text=HELP_TEXT,
                max_length=10,
            ),
        ),
    ]
