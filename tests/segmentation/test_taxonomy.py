import csv
import importlib
import json
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from hypothesis import assume, given
from hypothesis import strategies as st

from accounts.normalizers import decode_character_references, industry_key
from segmentation.models import Industry, IndustrySynonym
from segmentation.taxonomy import IndustryResolver
from tests.datasets import require_datasets_dir

DATA_DIR = Path(__file__).resolve().parents[2] / "segmentation" / "data"
taxonomy_migration = importlib.import_module("segmentation.migrations.0002_industry_taxonomy")
synonym_key_migration = importlib.import_module(
    "segmentation.migrations.0014_synonym_keys_decode_character_references"
)


def read_rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


INDUSTRIES = read_rows("industries.csv")
SYNONYMS = read_rows("industry_synonyms.csv")


def test_industry_names_and_slugs_unique():
    names = [row["name"] for row in INDUSTRIES]
    slugs = [row["slug"] for row in INDUSTRIES]
    assert len(set(names)) == len(names)
    assert len(set(slugs)) == len(slugs)
    assert {"SaaS", "FinTech", "HealthTech"} <= set(names)


def test_synonym_keys_unique():
    keys = [industry_key(row["value"]) for row in SYNONYMS]
    duplicates = {key for key in keys if keys.count(key) > 1}
    assert duplicates == set()


def test_synonyms_name_known_industries():
    names = {row["name"] for row in INDUSTRIES}
    unknown = {row["industry"] for row in SYNONYMS} - names
    assert unknown == set()


def test_synonym_vocabularies_valid():
    vocabularies = {row["vocabulary"] for row in SYNONYMS}
    assert vocabularies <= set(IndustrySynonym.Vocabulary.values)


def test_synonym_matching_industry_name_agrees():
    industry_by_key = {industry_key(row["name"]): row["name"] for row in INDUSTRIES}
    for row in SYNONYMS:
        key = industry_key(row["value"])
        if key in industry_by_key:
            assert industry_by_key[key] == row["industry"], row["value"]


def test_migration_key_matches_normalizer_on_synonyms():
    for row in SYNONYMS + [{"value": row["name"]} for row in INDUSTRIES]:
        assert taxonomy_migration.industry_key(row["value"]) == industry_key(row["value"])


@pytest.mark.parametrize(
    "raw",
    [
        "Tech & Media -> Software/SaaS",
        "  HEALTH   care -> ",
        "Women's Apparel",
        "U.S. Banks",
        "Café → Restaurants",
        "Ｆｕｌｌｗｉｄｔｈ SaaS",
        "Straße",
        "a > > b",
        "Dots 💸",
    ],
)
def test_migration_key_matches_normalizer_on_edge_cases(raw):
    assert taxonomy_migration.industry_key(raw) == industry_key(raw)


@given(st.text(max_size=60))
def test_migration_key_matches_normalizer_on_any_text(raw):
    # The normalizer decodes HTML character references, which no synonym file has, and
    # a later migration recomputes the keys of synonyms with references.
    assume(decode_character_references(raw) == raw)
    assert taxonomy_migration.industry_key(raw) == industry_key(raw)


def test_synonym_key_migration_decodes_references(db):
    software = Industry.objects.get(slug="saas")
    synonym = IndustrySynonym.objects.create(industry=software, value="Apps &amp; Tools")
    IndustrySynonym.objects.filter(pk=synonym.pk).update(key="apps and amp tools")

    synonym_key_migration.recompute_synonym_keys(django_apps, None)

    synonym.refresh_from_db()
    assert synonym.key == "apps and tools"
    resolver = IndustryResolver.load()
    assert resolver.resolve("Apps &amp; Tools") == software.pk
    assert resolver.resolve("Apps & Tools") == software.pk


def test_migration_loaded_every_row(db):
    names = set(Industry.objects.values_list("name", flat=True))
    stored = dict(IndustrySynonym.objects.values_list("key", "industry__name"))
    assert {row["name"] for row in INDUSTRIES} <= names
    for row in SYNONYMS:
        assert stored.get(industry_key(row["value"])) == row["industry"], row["value"]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Application Software", "SaaS"),
        ("Systems Software", "SaaS"),
        ("Computer Software", "SaaS"),
        ("computer software", "SaaS"),
        ("B2B -> Engineering, Product and Design", "SaaS"),
        ("Engineering, Product and Design", "SaaS"),
        ("Transaction & Payment Processing Services", "FinTech"),
        ("Financial Exchanges & Data", "FinTech"),
        ("Fintech -> Payments", "FinTech"),
        ("Fintech -> Insurance", "FinTech"),
        ("Health Care Technology", "HealthTech"),
        ("Healthcare -> Healthcare IT", "HealthTech"),
        ("Hospital & Health Care", "Healthcare & Life Sciences"),
        ("Pharmaceuticals", "Healthcare & Life Sciences"),
        ("Information Technology & Services", "IT Services & Consulting"),
        ("Information Technology and Services", "IT Services & Consulting"),
        ("Insurance", "Insurance"),
        ("Banking", "Financial Services"),
        ("Retail", "Retail & E-commerce"),
        ("Internet", "Consumer Internet"),
        ("Aerospace and Defense", "Aerospace & Defense"),
        ("Real Estate and Construction", "Real Estate & Construction"),
    ],
)
def test_resolver_maps_labels(db, label, expected):
    resolver = IndustryResolver.load()
    assert resolver.resolve(label) == Industry.objects.get(name=expected).pk


def test_unspecified_stays_unmapped(db):
    assert IndustryResolver.load().resolve("Unspecified") is None


def dataset_industry_labels(datasets_dir: Path) -> set[str]:
    """Collect every industry label of the public datasets (GICS, Fortune and YC)."""
    labels: set[str] = set()
    with open(datasets_dir / "sp500-companies" / "constituents.csv", encoding="utf-8") as f:
        for record in csv.DictReader(f):
            labels.update((record["GICS Sector"], record["GICS Sub-Industry"]))
    financials = datasets_dir / "sp500-financials" / "constituents-financials.csv"
    if financials.exists():
        with open(financials, encoding="utf-8") as f:
            labels.update(record["Sector"] for record in csv.DictReader(f))
    with open(datasets_dir / "fortune500-2019" / "fortune500.csv", encoding="utf-16") as f:
        for record in csv.DictReader(f):
            labels.update((record["industry"], record["sector"]))
    for batch in sorted((datasets_dir / "yc-companies" / "batches").glob("*.json")):
        for company in json.loads(batch.read_text(encoding="utf-8")):
            labels.update((company["industry"], company["subindustry"]))
            labels.update(company["industries"])
            labels.add(company["subindustry"].split("->")[-1].strip())
    labels.discard("")
    return labels


@pytest.mark.shared_data
def test_every_dataset_label_resolves(db):
    datasets_dir = require_datasets_dir()
    labels = dataset_industry_labels(datasets_dir)
    resolver = IndustryResolver.load()
    unresolved = sorted(
        label for label in labels if label != "Unspecified" and resolver.resolve(label) is None
    )
    assert len(labels) > 300
    assert unresolved == []


@pytest.mark.shared_data
def test_dataset_vocabulary_sizes(db):
    datasets_dir = require_datasets_dir()
    with open(datasets_dir / "sp500-companies" / "constituents.csv", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert len({record["GICS Sector"] for record in records}) == 11
    assert len({record["GICS Sub-Industry"] for record in records}) == 127
    with open(datasets_dir / "fortune500-2019" / "fortune500.csv", encoding="utf-16") as f:
        records = list(csv.DictReader(f))
    assert len({record["industry"] for record in records}) == 72
    assert len({record["sector"] for record in records}) == 21
