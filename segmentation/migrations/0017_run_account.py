"""Store every account chosen for a run over selected accounts, so the run can be resumed.

Runs created before this migration stored only the 20 lowest ids in summary["account_ids"].
An unfinished run whose summary lists all of its accounts (no more than its total) gets
them as rows, so it can be resumed. A larger unfinished run keeps no rows, and its page
says that it cannot be resumed.
"""

import django.db.models.deletion
from django.db import migrations, models

UNFINISHED_STATUSES = ("pending", "running")


def store_listed_accounts(apps, schema_editor):
    SegmentationRun = apps.get_model("segmentation", "SegmentationRun")
    SegmentationRunAccount = apps.get_model("segmentation", "SegmentationRunAccount")
    runs = SegmentationRun.objects.filter(status__in=UNFINISHED_STATUSES).only("summary", "total")
    for run in runs.iterator():
        ids = (run.summary or {}).get("account_ids")
        if ids and len(ids) >= run.total:
            SegmentationRunAccount.objects.bulk_create(
                SegmentationRunAccount(run_id=run.pk, account_id=account_id) for account_id in ids
            )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0031_importrun_unchanged'),
        ('segmentation', '0016_cutoff_help_text'),
    ]

    operations = [
        migrations.CreateModel(
            name='SegmentationRunAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('account', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.account')),
                ('run', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='account_links', to='segmentation.segmentationrun')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('run', 'account'), name='segmentationrunaccount_run_account_uniq')],
            },
        ),
        migrations.RunPython(store_listed_accounts, migrations.RunPython.noop),
    ]
