"""Public company profiles of Remote In Tech (remoteintech.company), a technographic source.

Each company is one Markdown file: a YAML front-matter block between ``---`` lines with
``title``, ``slug``, ``website``, ``region`` (hiring region), ``remote_policy``,
``company_size`` (a bucket word) and ``technologies`` (tags), followed by ``##`` sections
such as ``## Company size`` and ``## Company technologies`` in free text.

Quirks handled here:

- some files use CRLF line endings;
- ``slug`` does not always equal the file name, so the slug is the profile's identity;
- size comes as a bucket word and as free text, which can disagree. The bucket wins and
  the text is used only without a bucket;
- some profiles have no technologies list, and the body lists technologies as bullets,
  comma lists, "Label: a, b" lines, links or sentences.

The import matches profiles to accounts and records observations with source
``remoteintech``; the profiles name no headquarters country and no industry.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.importing.rows import technology_length_flags
from accounts.models import Account, AccountIdentifier
from accounts.normalizers import (
    EmployeeRange,
    UnparsedValue,
    clean_company_name,
    clean_text,
    company_name_key,
    from_size_bucket,
    is_third_party_url,
    normalize_domain,
    normalize_technologies,
    parse_employee_count,
    website_url,
)
from accounts.selectors import source_label

from .services import (
    WRITE_BATCH_SIZE,
    NewObservation,
    VerificationResult,
    account_review_flags_add,
    accounts_resegment,
    accounts_verify,
    observations_write,
)

logger = logging.getLogger(__name__)

PROFILE_SOURCE = "remoteintech"
# Profiles matched and written per transaction.
PROFILE_BATCH_SIZE = 500

_FRONT_MATTER_RE = re.compile(
    r"\A\ufeff?---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*(?:\n|\Z)(?P<body>.*)\Z", re.S
)
_SECTION_RE = re.compile(r"^##[ \t]+(?P<title>[^\n#][^\n]*?)[ \t]*$", re.M)
_MARKDOWN_LINK_RE = re.compile(r"!?\[(?P<text>[^\[\]]*)\]\([^()\s]*\)")
_HEADING_RE = re.compile(r"^#{1,6}\s")
# "Backend: Java, Go" puts a short label before the list.
_LABEL_RE = re.compile(r"^(?P<label>[^:,]{1,40}):\s*(?P<rest>.*)$")
_BULLET_RE = re.compile(r"^(?:[*\-+•]|\d{1,3}[.)])\s+")
# "&" separates items only between spaces ("React & Redux"), so "AT&T" stays one name.
_LIST_SPLIT_RE = re.compile(r"\s*(?:,|;|\s/\s|\s\|\s|\band\b|\s&\s)\s*")
_COUNT_RE = re.compile(
    r"(?:~|≈|approx\.?|approximately|about|around|over|more than|at least)?\s*"
    r"\d[\d,.]*\s*(?:k\b)?\s*(?:(?:-|–|to)\s*\d[\d,.]*\s*(?:k\b)?|\+)?",
    re.IGNORECASE,
)
# Technology names are short; longer items in the body are sentences.
MAX_TECHNOLOGY_WORDS = 4


class ProfileError(ValueError):
    """A profile file that cannot be read. The message names the file and the problem."""


@dataclass
class Profile:
    """One company profile as read from its file."""

    path: Path
    slug: str
    title: str
    website: str
    region: str = ""
    remote_policy: str = ""
    size_bucket: str = ""
    size_text: str = ""
    technology_tags: list[str] = field(default_factory=list)
    technologies_text: str = ""
    added_on: date | None = None
    updated_on: date | None = None


# Reading files -------------------------------------------------------------------------


def read_profile(path: Path) -> Profile:
    """Read one profile file. Raises ProfileError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(f"{path.name}: cannot be read as UTF-8 ({error}).") from error
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        raise ProfileError(
            f"{path.name}: no YAML front matter between '---' lines at the start of the file."
        )
    try:
        meta = yaml.safe_load(match["yaml"]) or {}
    except yaml.YAMLError as error:
        raise ProfileError(f"{path.name}: the front matter is not valid YAML ({error}).") from error
    if not isinstance(meta, dict):
        raise ProfileError(f"{path.name}: the front matter is not a mapping of fields.")

    title = clean_text(str(meta.get("title") or ""))
    website = clean_text(str(meta.get("website") or ""))
    if not title and not website:
        raise ProfileError(f"{path.name}: the front matter has neither title nor website.")
    sections = _sections(match["body"])
    tags = meta.get("technologies") or []
    return Profile(
        path=path,
        slug=clean_text(str(meta.get("slug") or "")) or path.stem,
        title=title,
        website=website,
        region=clean_text(str(meta.get("region") or "")),
        remote_policy=clean_text(str(meta.get("remote_policy") or "")),
        size_bucket=clean_text(str(meta.get("company_size") or "")),
        size_text=sections.get("company size", ""),
        technology_tags=[str(tag) for tag in tags if tag] if isinstance(tags, list) else [],
        technologies_text=sections.get("company technologies", ""),
        added_on=_date(meta.get("addedAt")),
        updated_on=_date(meta.get("updatedAt")),
    )


def read_profiles(folder: Path) -> Iterator[Profile | ProfileError]:
    """Yield every ``*.md`` profile of a folder in file-name order, or its ProfileError."""
    for path in sorted(folder.glob("*.md")):
        try:
            yield read_profile(path)
        except ProfileError as error:
            yield error


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _sections(body: str) -> dict[str, str]:
    """Return the text of each ``##`` section, keyed by its casefolded title."""
    sections: dict[str, str] = {}
    matches = list(_SECTION_RE.finditer(body))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        title = match["title"].strip().casefold()
        sections.setdefault(title, body[match.end() : end].strip())
    return sections


# Values --------------------------------------------------------------------------------


def size_from_text(text: str) -> EmployeeRange | None:
    """Read a head count from the free-text size section, or return None.

    Tries the first line, then the first count-like fragment such as ``51-200``,
    ``200+`` or ``~20``. Sentences such as "125 and growing" give their number.
    """
    text = _MARKDOWN_LINK_RE.sub(r"\g<text>", text)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first_line:
        return None
    candidates = [
        first_line.rstrip("."),
        *(match.group(0) for match in _COUNT_RE.finditer(first_line)),
    ]
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate or not any(character.isdigit() for character in candidate):
            continue
        try:
            employees = parse_employee_count(candidate)
        except UnparsedValue:
            continue
        if employees is not None:
            return employees
    return None


def profile_employees(profile: Profile) -> tuple[EmployeeRange | None, str]:
    """Return the head count of a profile and its raw text.

    The front-matter bucket wins because it uses one vocabulary; the size section is read
    only when the bucket is absent or not a known word.
    """
    size_line = " ".join(profile.size_text.split())[:200]
    if profile.size_bucket:
        try:
            bucket = from_size_bucket(profile.size_bucket)
        except UnparsedValue:
            bucket = None
        if bucket is not None:
            raw = f"company_size: {profile.size_bucket}"
            if size_line:
                raw += f"; Company size section: {size_line}"
            return bucket, raw
    if size_line:
        return size_from_text(profile.size_text), size_line
    return None, ""


def body_technologies(text: str) -> list[str]:
    """Return the technology names listed in the free-text technologies section.

    Reads bullets, comma lists and "Label: a, b" lines. Items longer than four words are
    sentences and are skipped, as are headings. Markdown passes HTML character references
    through to HTML, so they are decoded first: ``AT&amp;T`` reads as ``AT&T``.
    """
    return normalize_technologies(_body_technology_items(text))


def _body_technology_items(text: str) -> list[str]:
    """Return the items of the technologies section before normalize_technologies."""
    items: list[str] = []
    for raw_line in _MARKDOWN_LINK_RE.sub(r"\g<text>", html.unescape(text)).splitlines():
        line = raw_line.strip()
        if not line or _HEADING_RE.match(line):
            continue
        line = _BULLET_RE.sub("", line)
        labelled = _LABEL_RE.match(line)
        if labelled is not None:
            line = labelled["rest"]
        for part in _LIST_SPLIT_RE.split(line):
            item = part.strip(" *_`").rstrip(".").strip()
            if item and len(item.split()) <= MAX_TECHNOLOGY_WORDS:
                items.append(item)
    return items


def profile_technologies(profile: Profile) -> list[str]:
    """Return the front-matter tags followed by the names in the technologies section."""
    return normalize_technologies(
        [*profile.technology_tags, *body_technologies(profile.technologies_text)]
    )


def profile_technology_flags(profile: Profile) -> list[dict[str, str]]:
    """Build a review flag for each technology name of the profile that is stored cut."""
    return technology_length_flags(
        [*profile.technology_tags, *_body_technology_items(profile.technologies_text)]
    )


def profile_observations(profile: Profile) -> list[tuple[str, Any, str]]:
    """Return (field, value, raw text) for each value the profile reports."""
    rows: list[tuple[str, Any, str]] = []
    name = clean_company_name(profile.title) if profile.title else ""
    if name:
        rows.append(("name", name, profile.title))
    if profile.website:
        rows.append(("website", profile.website, profile.website))
    employees, raw = profile_employees(profile)
    if employees is not None:
        value = {
            "count": employees.estimate,
            "min": employees.minimum,
            "max": employees.maximum,
            "approximate": employees.approximate,
        }
        rows.append(("employees", value, raw))
    elif raw:
        rows.append(("employees", None, raw))
    technologies = profile_technologies(profile)
    if technologies:
        raw_tags = ", ".join(profile.technology_tags)
        rows.append(("technologies", technologies, raw_tags or profile.technologies_text[:500]))
    if profile.region:
        rows.append(("hiring_region", profile.region, profile.region))
    if profile.remote_policy:
        rows.append(("remote_policy", profile.remote_policy, profile.remote_policy))
    return rows


# Import --------------------------------------------------------------------------------


@dataclass
class ProfileImportSummary:
    """Counts of one profiles_import call; ``errors`` names each unreadable file."""

    read: int = 0
    created: int = 0
    matched: int = 0
    observations: int = 0
    errors: list[str] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    verification: VerificationResult = field(default_factory=VerificationResult)

    def add(self, other: ProfileImportSummary) -> None:
        self.created += other.created
        self.matched += other.matched
        self.observations += other.observations
        self.account_ids += other.account_ids
        self.created_ids += other.created_ids


def profiles_import(path: str | Path) -> ProfileImportSummary:
    """Import a folder of Remote In Tech profiles as the public source ``remoteintech``.

    Each profile is matched to an account by its profile slug, then by its website's
    domain, and an unknown company becomes a new account. The size, technologies, name,
    website, hiring region and remote policy become observations, and the touched
    accounts are verified and scored. Unreadable files are listed in ``errors``. Raises
    FileNotFoundError when the folder does not exist.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"profile folder {folder} was not found: check the path.")
    summary = ProfileImportSummary()
    batch: list[Profile] = []
    for entry in read_profiles(folder):
        if isinstance(entry, ProfileError):
            summary.errors.append(str(entry))
            logger.warning("profile import of %s: %s", folder, entry)
            continue
        summary.read += 1
        batch.append(entry)
        if len(batch) >= PROFILE_BATCH_SIZE:
            summary.add(_write_batch(batch))
            batch = []
    summary.add(_write_batch(batch))

    summary.account_ids = sorted(set(summary.account_ids))
    summary.verification = accounts_verify(account_ids=summary.account_ids)
    accounts_resegment([*summary.created_ids, *summary.verification.resegment_ids])
    logger.info(
        "profile import of %s: read %s, created %s, matched %s, %s observations, %s errors",
        folder,
        summary.read,
        summary.created,
        summary.matched,
        summary.observations,
        len(summary.errors),
    )
    return summary


def _profile_website(profile: Profile) -> tuple[str, str]:
    """Return the website URL and its domain; the domain is "" for a third-party page."""
    try:
        url = website_url(profile.website) or ""
    except UnparsedValue:
        return "", ""
    if not url or is_third_party_url(url, company_name=profile.title):
        return url, ""
    try:
        return url, normalize_domain(url) or ""
    except UnparsedValue:
        return url, ""


def _observed_at(profile: Profile) -> datetime:
    """Return the profile's last edit date as midnight UTC, or now when it has no date."""
    day = profile.updated_on or profile.added_on
    if day is None:
        return timezone.now()
    return datetime.combine(day, time.min, tzinfo=UTC)


def _write_batch(profiles: list[Profile]) -> ProfileImportSummary:
    if not profiles:
        return ProfileImportSummary()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _match_and_write(profiles)
        except IntegrityError:
            # Another import stored one of the domains after this batch was matched, and
            # matching again finds that account.
            if attempt == 2:
                raise
            logger.warning("profile batch conflicted with a concurrent import; matching again")
    raise AssertionError("unreachable")  # pragma: no cover


def _match_and_write(profiles: list[Profile]) -> ProfileImportSummary:
    """Match one batch to accounts, create the unknown ones and write the observations."""
    summary = ProfileImportSummary()
    identifier_of = {id(profile): f"{PROFILE_SOURCE}:{profile.slug}"[:255] for profile in profiles}
    by_identifier = dict(
        AccountIdentifier.objects.filter(
            kind=AccountIdentifier.Kind.PROFILE, value__in=identifier_of.values()
        ).values_list("value", "account_id")
    )
    websites = {id(profile): _profile_website(profile) for profile in profiles}
    domains = {domain for _url, domain in websites.values() if domain}
    by_domain: dict[str, int | Account] = dict(
        Account.objects.filter(domain__in=domains).values_list("domain", "pk")
    )

    matched: list[tuple[Profile, int | Account]] = []
    created: list[Account] = []
    for profile in profiles:
        url, domain = websites[id(profile)]
        target = by_identifier.get(identifier_of[id(profile)]) or by_domain.get(domain)
        if target is not None:
            matched.append((profile, target))
            summary.matched += 1
            continue
        name = clean_company_name(profile.title) or domain or profile.slug
        account = Account(
            name=name[:255],
            name_key=company_name_key(name)[:255],
            domain=domain,
            website=url[:500],
            source=PROFILE_SOURCE,
            technologies=[],
            buying_signals=[],
            review_flags=[],
        )
        created.append(account)
        if domain:
            by_domain[domain] = account
        matched.append((profile, account))
        summary.created += 1

    Account.objects.bulk_create(created, batch_size=WRITE_BATCH_SIZE)
    summary.created_ids = [account.pk for account in created]

    identifiers = []
    observations = []
    flags_by_account: dict[int, list[dict[str, str]]] = {}
    for profile, target in matched:
        account_id = target.pk if isinstance(target, Account) else target
        summary.account_ids.append(account_id)
        flags_by_account.setdefault(account_id, []).extend(profile_technology_flags(profile))
        identifiers.append(
            AccountIdentifier(
                account_id=account_id,
                kind=AccountIdentifier.Kind.PROFILE,
                value=identifier_of[id(profile)],
            )
        )
        observed_at = _observed_at(profile)
        for name, value, raw in profile_observations(profile):
            observations.append(
                NewObservation(
                    account_id, name, value, raw, PROFILE_SOURCE, profile.path.name, observed_at
                )
            )
    AccountIdentifier.objects.bulk_create(
        identifiers, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True
    )
    summary.observations = observations_write(observations)
    account_review_flags_add(
        flags_by_account, change_reason=f"{source_label(PROFILE_SOURCE)} import"
    )
    return summary
