"""Drop the database constraint of Observation.account.

An import appends about seven observations per account, and checking each one's account
at commit took about a third of the database's work in a 100,000-row import. Django
still deletes an account's observations with it (on_delete=CASCADE).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_score_key_index"),
        ("enrichment", "0003_trim_observation_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="observation",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="observations",
                to="accounts.account",
            ),
        ),
    ]
