"""Drop the database constraint of ScoreRecord.account.

PostgreSQL checked the deferred constraint for every appended score record at commit,
which cost re-segmentation about one check per account. Django still deletes an account's
records with the account (on_delete=CASCADE).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_trim_account_indexes"),
        ("segmentation", "0007_scorerecord_run_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scorerecord",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="score_records",
                to="accounts.account",
            ),
        ),
    ]
