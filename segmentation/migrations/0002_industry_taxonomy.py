"""Load the canonical industries and their synonyms from segmentation/data/.

Segmentation resolves every imported industry label through these tables, so a new
database needs them before the first import. Rows that already exist (same industry name
or same synonym key) are kept as they are, so the migration can run again after a
rollback. Later edits to the CSV files need a new data migration for databases that
already ran this one.
"""

import csv
import re
import unicodedata
from pathlib import Path

from django.db import migrations

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# A copy of accounts.normalizers.text.industry_key as of this migration. Migrations must
# not import app code, and tests check that both functions agree on every synonym.
_PATH_SEPARATOR_RE = re.compile(r"->|→|⟶|›|»|>")
_WHITESPACE_RE = re.compile(r"\s+")
_DELETED_PUNCTUATION = frozenset(".'’‘`´ʼ")


def industry_key(raw):
    text = unicodedata.normalize("NFKC", raw).casefold().replace("&", " and ")
    text = _PATH_SEPARATOR_RE.sub(">", text)
    characters = []
    for char in text:
        if char == ">" or char.isspace():
            characters.append(char)
        elif char in _DELETED_PUNCTUATION:
            continue
        elif unicodedata.category(char)[0] in "LNM":
            characters.append(char)
        else:
            characters.append(" ")
    segments = (_WHITESPACE_RE.sub(" ", segment).strip() for segment in "".join(characters).split(">"))
    return " > ".join(segment for segment in segments if segment)


def read_csv(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_taxonomy(apps, schema_editor):
    Industry = apps.get_model("segmentation", "Industry")
    IndustrySynonym = apps.get_model("segmentation", "IndustrySynonym")

    existing = set(Industry.objects.values_list("name", flat=True))
    Industry.objects.bulk_create(
        Industry(name=row["name"], slug=row["slug"], description=row["description"])
        for row in read_csv("industries.csv")
        if row["name"] not in existing
    )
    industry_ids = dict(Industry.objects.values_list("name", "id"))

    existing_keys = set(IndustrySynonym.objects.values_list("key", flat=True))
    synonyms = []
    for row in read_csv("industry_synonyms.csv"):
        key = industry_key(row["value"])
        if key in existing_keys:
            continue
        if row["industry"] not in industry_ids:
            raise ValueError(
                f"Synonym {row['value']!r} names unknown industry {row['industry']!r}: "
                "add it to industries.csv or fix the name in industry_synonyms.csv."
            )
        existing_keys.add(key)
        synonyms.append(
            IndustrySynonym(
                industry_id=industry_ids[row["industry"]],
                value=row["value"],
                key=key,
                vocabulary=row["vocabulary"],
            )
        )
    IndustrySynonym.objects.bulk_create(synonyms, batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("segmentation", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_taxonomy, migrations.RunPython.noop),
    ]
