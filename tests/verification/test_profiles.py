"""Reading Remote In Tech profiles and importing them as the source remoteintech."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, AccountIdentifier
from enrichment.models import Observation
from enrichment.profiles import (
    ProfileError,
    body_technologies,
    profile_employees,
    profiles_import,
    read_profile,
    size_from_text,
)
from enrichment.services import accounts_verify
from tests.datasets import require_datasets_dir

from .conftest import employees_value, observe

TENUP = """---
title: "10up"
slug: 10up
website: https://10up.com/
region: europe
remote_policy: remote-friendly
company_size: medium
technologies:
  - infrastructure
  - php
addedAt: 2015-10-14
updatedAt: 2018-04-16
---

## Company blurb

We make websites.

## Company size

125 and growing, spread across web engineering.

## Company technologies

* WordPress
* PHP
* [Sass](https://sass-lang.com)

## Office locations

None; or everywhere!
"""

# CRLF line endings, a slug that differs from the file name, no bucket and no tag list.
AKAMAI = (
    "---\r\n"
    'title: "Akamai Technologies, Inc."\r\n'
    "slug: akamai-technologies-inc\r\n"
    "website: https://www.akamai.com/careers\r\n"
    "region: worldwide\r\n"
    "remote_policy: hybrid\r\n"
    "---\r\n"
    "\r\n"
    "## Company size\r\n"
    "\r\n"
    "More than 1,000 employees\r\n"
    "\r\n"
    "## Company technologies\r\n"
    "\r\n"
    "Backend: Java, Go\r\n"
    "We use many other tools across the whole company every day.\r\n"
)

NO_TECH = """---
title: "Quiet Corp"
slug: quiet
website: https://quiet.example/
region: americas
company_size: startup
---

## Company size

[0-20](https://quiet.example/team)
"""

BROKEN = "no front matter here\n"


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "companies"
    folder.mkdir()
    (folder / "10up.md").write_text(TENUP, encoding="utf-8")
    (folder / "akamai.md").write_bytes(AKAMAI.encode("utf-8"))
    (folder / "quiet.md").write_text(NO_TECH, encoding="utf-8")
    (folder / "broken.md").write_text(BROKEN, encoding="utf-8")
    return folder


def test_read_profile_front_matter(profiles_dir):
    profile = read_profile(profiles_dir / "10up.md")

    assert profile.title == "10up"
    assert profile.slug == "10up"
    assert profile.size_bucket == "medium"
    assert profile.technology_tags == ["infrastructure", "php"]
    assert profile.size_text.startswith("125 and growing")
    assert profile.updated_on.isoformat() == "2018-04-16"


def test_read_profile_crlf_and_slug(profiles_dir):
    profile = read_profile(profiles_dir / "akamai.md")

    assert profile.slug == "akamai-technologies-inc"
    assert profile.title == "Akamai Technologies, Inc."
    assert profile.size_text == "More than 1,000 employees"
    assert "\r" not in profile.technologies_text


def test_read_profile_without_front_matter(profiles_dir):
    with pytest.raises(ProfileError, match="broken.md: no YAML front matter"):
        read_profile(profiles_dir / "broken.md")


def test_bucket_wins_over_size_text(profiles_dir):
    employees, raw = profile_employees(read_profile(profiles_dir / "10up.md"))

    assert (employees.minimum, employees.maximum) == (51, 200)
    assert raw.startswith("company_size: medium; Company size section: 125 and growing")


def test_size_text_without_bucket(profiles_dir):
    employees, raw = profile_employees(read_profile(profiles_dir / "akamai.md"))

    assert employees.minimum == 1001
    assert raw == "More than 1,000 employees"


@pytest.mark.parametrize(
    ("text", "minimum", "maximum"),
    [
        ("51-200 employees.", 51, 200),
        ("200+ (as of October 2022)", 200, None),
        ("~20 (as of April 2024)", 20, 20),
        ("Approximately 700-900 employees globally.", 700, 900),
        ("[0-20](https://example.com/team)", 0, 20),
        ("125 and growing, spread across teams", 125, 125),
    ],
)
def test_size_text_forms(text, minimum, maximum):
    employees = size_from_text(text)

    assert employees.minimum == minimum
    assert employees.maximum == maximum


def test_size_text_without_number():
    assert size_from_text("A small, friendly team.") is None


def test_body_technologies_decode_character_references():
    text = "- AT&amp;T Cloud\n- Q&amp;A Tool; React & Redux\n- AT&T, Jira\n"

    technologies = body_technologies(text)

    assert technologies == ["AT&T Cloud", "Q&A Tool", "React", "Redux", "AT&T", "Jira"]


def test_body_technologies_styles():
    text = (
        "#### Languages & technologies :\n"
        "      Typescript, Javascript, NodeJS\n"
        "- React\n"
        "* [Sass](https://sass-lang.com)\n"
        "Backend: Java / Go\n"
        "We collect billions of data points to make decisions on prices.\n"
    )

    technologies = body_technologies(text)

    assert "React" in technologies
    assert "Sass" in technologies
    assert "Java" in technologies
    assert "Go" in technologies
    assert not any("billions" in name for name in technologies)
    assert not any("Languages" in name for name in technologies)


@pytest.mark.django_db
def test_import_creates_and_matches(profiles_dir):
    existing = Account.objects.create(name="Akamai", name_key="akamai", domain="akamai.com")

    summary = profiles_import(profiles_dir)

    tenup = Account.objects.get(domain="10up.com")
    existing.refresh_from_db()
    assert summary.read == 3
    assert summary.created == 2
    assert summary.matched == 1
    assert summary.errors == [
        "broken.md: no YAML front matter between '---' lines at the start of the file."
    ]
    assert tenup.source == "remoteintech"
    assert (tenup.employee_min, tenup.employee_max) == (51, 200)
    assert tenup.technologies[:2] == ["infrastructure", "PHP"]
    assert "WordPress" in tenup.technologies
    assert existing.employee_min == 1001
    assert existing.technologies == ["Java", "Go"]
    assert AccountIdentifier.objects.filter(
        kind="profile", value="remoteintech:akamai-technologies-inc", account=existing
    ).exists()


@pytest.mark.django_db
def test_import_without_technologies(profiles_dir):
    profiles_import(profiles_dir)

    quiet = Account.objects.get(domain="quiet.example")
    assert quiet.technologies == []
    assert (quiet.employee_min, quiet.employee_max) == (1, 10)
    assert not Observation.objects.filter(account=quiet, field="technologies").exists()


@pytest.mark.django_db
def test_import_flags_long_technology(profiles_dir):
    long_tag = "Quiet Corp Internal Deployment and Observability Platform Version Two"
    profile = NO_TECH.replace(
        "company_size: startup\n", f"company_size: startup\ntechnologies:\n  - {long_tag}\n"
    )
    (profiles_dir / "quiet.md").write_text(profile, encoding="utf-8")

    profiles_import(profiles_dir)
    profiles_import(profiles_dir)

    quiet = Account.objects.get(domain="quiet.example")
    assert len(long_tag) == 69
    assert quiet.technologies == ["Quiet Corp Internal Deployment and Observability Platform"]
    assert len(quiet.review_flags) == 1
    assert quiet.review_flags[0]["field"] == "technologies"
    assert quiet.review_flags[0]["value"] == long_tag
    assert "is 69 characters long, over the limit of 64" in quiet.review_flags[0]["message"]


@pytest.mark.django_db
def test_import_twice_adds_nothing(profiles_dir):
    profiles_import(profiles_dir)
    counts = (Account.objects.count(), Observation.objects.count())

    summary = profiles_import(profiles_dir)

    assert (Account.objects.count(), Observation.objects.count()) == counts
    assert summary.created == 0
    assert summary.matched == 3
    assert summary.observations == 0


@pytest.mark.django_db
def test_profile_size_verifies_other_source(profiles_dir):
    account = Account.objects.create(name="10up", name_key="10up", domain="10up.com")
    observe(account, "employees", employees_value(130), "apollo")
    accounts_verify(account_ids=[account.pk])

    profiles_import(profiles_dir)

    account.refresh_from_db()
    size = account.field_status["company_size"]
    assert account.employee_count == 130
    assert size["status"] == "verified"
    assert size["sources"] == ["apollo", "remoteintech"]
    assert size["values"]["remoteintech"] == "~51-200"


@pytest.mark.django_db
def test_import_profiles_command(profiles_dir):
    out, err = StringIO(), StringIO()

    call_command("import_profiles", str(profiles_dir), stdout=out, stderr=err)

    assert "read 3 profiles, created 3 accounts" in out.getvalue()
    assert "broken.md" in err.getvalue()


def test_import_profiles_command_needs_folder(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_profiles", str(tmp_path / "missing"))


@pytest.mark.shared_data
def test_size_text_dot_thousands_not_ten():
    # GFT's profile contains "+10.000 employees", which reads as 10 with decimal points.
    datasets = require_datasets_dir()
    profile = read_profile(datasets / "remote-in-tech" / "companies" / "gft.md")

    assert "10.000 employees" in profile.size_text
    assert size_from_text(profile.size_text) is None
