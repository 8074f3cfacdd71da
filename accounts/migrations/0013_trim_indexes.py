"""Drop account indexes that no query needs, and leave imported rows out of two others.

Each index costs an entry per account that an import inserts or a re-segmentation
updates. Changes:

- account_tier_score_idx, account_size_band_idx and account_geography_idx go. Each of
  these columns has a few values that each match a large share of the accounts, so the
  list finds a page of such a filter by walking its name order, and the dashboards count
  them with one scan of the table. PostgreSQL 15 chose that scan over these indexes on
  100,000 accounts. Of the list's orders, (tier, score) served only ascending scores
  within one tier.
- account_country_name_idx (country, name_key) becomes (country, name, id): matching no
  longer reads name_key by country, and the list filtered by country sorts by name, id.
- verification_status is indexed for conflicting accounts only, the value that the
  queue and the list filter select. Imports store every account as unverified.
- owner is indexed only where it is set. Imported accounts have no owner.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_segmentoverride_channel"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="account", name="account_country_name_idx"),
        migrations.RemoveIndex(model_name="account", name="account_tier_score_idx"),
        migrations.RemoveIndex(model_name="account", name="account_size_band_idx"),
        migrations.RemoveIndex(model_name="account", name="account_geography_idx"),
        migrations.RemoveIndex(model_name="account", name="account_verification_idx"),
        migrations.AlterField(
            model_name="account",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="owned_accounts",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                fields=["country", "name", "id"], name="account_country_name_id_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                condition=Q(verification_status="conflicting"),
                fields=["verification_status"],
                name="account_conflicting_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                condition=Q(owner__isnull=False), fields=["owner"], name="account_owner_idx"
            ),
        ),
    ]
