"""Hostile input: normalizers and the CSV importer never crash and never lose a row.

The generated cells mix emoji, Arabic and Hebrew text, control characters, NUL bytes,
quotes, delimiters and values longer than any column. Files are written as UTF-8 (with
and without BOM), UTF-16, Windows-1252 and a mix of UTF-8 and Windows-1252 lines.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts import normalizers
from accounts.importing.errors import ImportFileError
from accounts.importing.layouts import GENERIC, LAYOUTS
from accounts.models import Account, AccountIdentifier, ImportRun
from accounts.normalizers.errors import UnparsedValue
from accounts.services import accounts_import
from enrichment.models import Observation

HOSTILE_PIECES = [
    "\x00",
    "\x01",
    "\x07",
    "\x1b",
    "\x7f",
    "\ufeff",
    "\u200b",
    "\u202e",
    "\r",
    "\n",
    "\r\n",
    "\t",
    '"',
    "'",
    ",",
    ";",
    "=",
    "+",
    "-",
    "@",
    " ",
    "\u00a0",
    "😀",
    "👩\u200d💻",
    "☕\ufe0f",
    "🇩🇪",
    "مؤسسة",
    "الرياض",
    "שלום",
    "תל אביב",
    "Café",
    "Straße",
    "İstanbul",
    "…",
    "€",
    "$12.5M",
    "51-200",
    "10,001+",
    "N/A",
    "https://",
    "example.com",
    "<b>",
]
hostile_text = st.lists(st.sampled_from(HOSTILE_PIECES), max_size=8).map("".join)
cell_text = st.one_of(
    hostile_text,
    st.text(max_size=30),
    st.text(min_size=260, max_size=1200),
    st.just(""),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "mixed"]
# Matches the control characters that clean_text removes.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")

NORMALIZERS = [
    ("normalize_country", lambda text: normalizers.normalize_country(text)),
    ("us_state_code", lambda text: normalizers.us_state_code(text)),
    ("region_code", lambda text: normalizers.region_code(text, "US")),
    ("parse_location_text", lambda text: normalizers.parse_location_text(text)),
    ("resolve_location", lambda text: normalizers.resolve_location(city=text, region=text)),
    ("normalize_domain", lambda text: normalizers.normalize_domain(text)),
    ("website_url", lambda text: normalizers.website_url(text)),
    ("website_url_and_host", lambda text: normalizers.website_url_and_host(text)),
    ("is_third_party_url", lambda text: normalizers.is_third_party_url(text)),
    ("parse_employee_count", lambda text: normalizers.parse_employee_count(text)),
    (
        "parse_employee_count comma",
        lambda text: normalizers.parse_employee_count(text, decimal_comma=True),
    ),  # noqa: E501
    ("from_size_bucket", lambda text: normalizers.from_size_bucket(text)),
    ("parse_money", lambda text: normalizers.parse_money(text)),
    ("parse_decimal", lambda text: normalizers.parse_decimal(text)),
    ("normalize_technologies", lambda text: normalizers.normalize_technologies(text)),
    ("clean_company_name", lambda text: normalizers.clean_company_name(text)),
    ("company_name_key", lambda text: normalizers.company_name_key(text)),
    ("clean_text", lambda text: normalizers.clean_text(text)),
    ("is_missing", lambda text: normalizers.is_missing(text)),
    ("industry_key", lambda text: normalizers.industry_key(text)),
]


@pytest.mark.parametrize(("name", "normalize"), NORMALIZERS, ids=[n[0] for n in NORMALIZERS])
@settings(max_examples=60, deadline=None)
@given(text=st.one_of(hostile_text, st.text(max_size=200), cell_text))
def test_normalizer_returns_or_rejects(name, normalize, text):
    # A normalizer either returns a value or raises UnparsedValue with a reason.
    reason = "returned"
    try:
        normalize(text)
    except UnparsedValue as error:
        reason = str(error)
    assert reason


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(hostile_text, st.text(max_size=200)))
def test_clean_text_strips_only_control_characters(text):
    cleaned = normalizers.clean_text(text)
    expected = CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    assert cleaned == expected
    assert not CONTROL_CHARACTERS.search(cleaned)


# CSV importer, end to end -------------------------------------------------------------


def layout_columns(layout) -> tuple[list[str], list[str]]:
    """Return the layout's name columns and its other columns."""
    names = [header for header, spec in layout.columns if spec.field == "name"]
    others = [header for header, spec in layout.columns if spec.field != "name"]
    return names, others


@st.composite
def csv_files(draw):
    """Draw (header, rows, delimiter, encoding) for a file in one of the known layouts."""
    layout = draw(st.sampled_from([*LAYOUTS, GENERIC]))
    names, others = layout_columns(layout)
    header = [draw(st.sampled_from(names))] if names else []
    extra = draw(st.lists(st.sampled_from(others), max_size=6, unique=True)) if others else []
    header += [column for column in extra if column not in header]
    if not header:
        header = ["name"]
    width = len(header)
    rows = draw(
        st.lists(
            st.lists(cell_text, min_size=width, max_size=width),
            min_size=1,
            max_size=8,
        )
    )
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    encoding = draw(st.sampled_from(ENCODINGS))
    return header, rows, delimiter, encoding


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> tuple[str, list[str]]:
    """Return the whole file and each record's text, header first."""
    records = []
    for row in [header, *rows]:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter).writerow(row)
        records.append(buffer.getvalue())
    return "".join(records), records


def write_file(path: Path, header, rows, delimiter: str, encoding: str) -> None:
    text, records = csv_text(header, rows, delimiter)
    if encoding == "mixed":
        # The first half of the records in UTF-8, the rest in Windows-1252.
        half = max(1, len(records) // 2)
        data = "".join(records[:half]).encode("utf-8")
        data += "".join(records[half:]).encode("cp1252", errors="replace")
    elif encoding == "cp1252":
        data = text.encode("cp1252", errors="replace")
    else:
        data = text.encode(encoding)
    path.write_bytes(data)


def assert_counts_add_up(run: ImportRun) -> None:
    accounted = (
        run.created + run.updated + run.unchanged + run.merged + run.rejected + run.skipped_blank
    )
    assert run.rows_read == accounted, (
        f"rows_read {run.rows_read} != created {run.created} + updated {run.updated} + "
        f"unchanged {run.unchanged} + merged {run.merged} + rejected {run.rejected} + "
        f"skipped_blank {run.skipped_blank}"
    )


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=csv_files())
def test_importer_never_crashes_or_loses_rows(tmp_path, media_root, data):
    header, rows, delimiter, encoding = data
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    write_file(path, header, rows, delimiter, encoding)
    accounts_before = Account.objects.count()
    # A file-level problem (undecodable bytes, no usable column) raises ImportFileError and
    # fails the run with a message. Any other exception fails this test.
    failure = None
    try:
        run = accounts_import(path, source="")
    except ImportFileError as error:
        failure = str(error)
    if failure is not None:
        event("file rejected")
        run = ImportRun.objects.order_by("-pk").first()
        assert run.status == ImportRun.Status.FAILED
        assert run.error == failure
        assert failure
        return
    event(f"imported, {'some' if run.rejected else 'no'} rows rejected")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert_counts_add_up(run)
    if encoding in ("utf-8", "utf-8-sig", "utf-16"):
        assert run.rows_read == len(rows)
    assert Account.objects.count() == accounts_before + run.created


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(["name", "website", "employees", "country", "description"]),
            st.one_of(cell_text, st.integers(), st.none(), st.lists(hostile_text, max_size=3)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_json_importer_keeps_every_item(tmp_path, items):
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    failure = None
    try:
        run = accounts_import(path, source="")
    except ImportFileError as error:
        failure = str(error)
    if failure is not None:
        assert failure
        return
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert_counts_add_up(run)
    assert run.rows_read == len(items)


@pytest.mark.django_db
@pytest.mark.parametrize("cell", ["[", "[]", "https://www.linkedin.com]/company/acme"])
def test_bracket_in_linkedin_url_flagged(tmp_path, cell):
    path = tmp_path / "linkedin.csv"
    path.write_text(f"Company Name,Website,LinkedIn URL\nAcme,acme.example,{cell}\n")
    run = accounts_import(path, source="")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.rows_read == 1
    assert run.created == 1
    assert_counts_add_up(run)
    account = Account.objects.get(domain="acme.example")
    flags = [flag for flag in account.review_flags if flag["field"] == "linkedin_url"]
    assert [flag["value"] for flag in flags] == [cell]
    assert "LinkedIn company URL" in flags[0]["message"]
    assert not AccountIdentifier.objects.filter(account=account, kind="linkedin").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["Revenue", "Employees", "Employee Range", "Technologies"])
def test_nul_character_stripped(tmp_path, column):
    path = tmp_path / "nul.csv"
    path.write_text(
        f"Company Name,Website,{column}\nAcme\x00,acme.example,x\x00y\x01\n", encoding="utf-8"
    )
    run = accounts_import(path, source="")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.rows_read == 1
    assert run.created == 1
    assert_counts_add_up(run)
    account = Account.objects.get(domain="acme.example")
    assert account.name == "Acme"
    stored = json.dumps(
        [
            Account.objects.filter(pk=account.pk).values().get(),
            list(Observation.objects.filter(account=account).values("value", "raw_value")),
        ],
        default=str,
    )
    assert "xy" in stored
    assert "\\u0000" not in stored
    assert "\\u0001" not in stored


@pytest.mark.django_db
def test_nul_character_in_json_stripped(tmp_path):
    path = tmp_path / "nul.json"
    items = [{"name": "Acme\x00", "website": "acme.example", "technologies": ["Sla\x00ck"]}]
    path.write_text(json.dumps(items), encoding="utf-8")
    run = accounts_import(path, source="")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.created == 1
    account = Account.objects.get(domain="acme.example")
    assert account.name == "Acme"
    assert account.technologies == ["Slack"]


# Round trip: import, page, API, CSV export ---------------------------------------------

NAME_MAX_LENGTH = Account._meta.get_field("name").max_length
_NAME_START = "😀" * 80 + " " + "مؤسسة" * 18 + " " + "שלום" * 20 + " "
# Exactly as long as the name column allows, in code points.
LONG_NAME = _NAME_START + "x" * (NAME_MAX_LENGTH - len(_NAME_START))
LONG_DESCRIPTION = ("Arabic العربية, Hebrew עברית, emoji 👩\u200d💻☕\ufe0f. " * 400).strip()
ROUND_TRIP = [
    # (raw cell, expected value once control characters are removed)
    ("name", "شركة\x07 النخيل 🌴 Palm\x1b Co", "شركة النخيل 🌴 Palm Co"),
    ("city", "תל\x00 אביב", "תל אביב"),
    ("description", f"{LONG_DESCRIPTION}\x01", LONG_DESCRIPTION),
]


def test_long_name_fits_column():
    assert len(LONG_NAME) == NAME_MAX_LENGTH


@pytest.fixture
def round_trip_accounts(tmp_path, media_root, db):
    path = tmp_path / "round-trip.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Website", "City", "Country", "Description"])
        writer.writerow(
            [ROUND_TRIP[0][1], "palm.example", ROUND_TRIP[1][1], "IL", ROUND_TRIP[2][1]]
        )
        writer.writerow([LONG_NAME, "long.example", "الرياض", "SA", "🙂" * 5000])
        writer.writerow([LONG_NAME + "y", "too-long.example", "", "", ""])
    run = accounts_import(path, source="csv")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    return run


def test_round_trip_import_counts(round_trip_accounts):
    run = round_trip_accounts
    assert run.rows_read == 3
    assert run.created == 2
    # The 256-character name is rejected with a reason instead of being cut.
    assert run.rejected == 1
    assert not Account.objects.filter(domain="too-long.example").exists()


def test_round_trip_values_stored(round_trip_accounts):
    palm = Account.objects.get(domain="palm.example")
    long = Account.objects.get(domain="long.example")
    assert palm.name == ROUND_TRIP[0][2]
    assert palm.city == ROUND_TRIP[1][2]
    assert palm.description == ROUND_TRIP[2][2]
    assert long.name == LONG_NAME
    assert long.city == "الرياض"
    assert long.description == "🙂" * 5000


def test_round_trip_page(client, sdr, round_trip_accounts):
    client.force_login(sdr)
    palm = Account.objects.get(domain="palm.example")
    detail = client.get(palm.get_absolute_url()).content.decode()
    listing = client.get(reverse("accounts:account-list"), {"q": "Palm"}).content.decode()
    long_detail = client.get(Account.objects.get(domain="long.example").get_absolute_url())
    assert ROUND_TRIP[0][2] in detail
    assert ROUND_TRIP[1][2] in detail
    assert LONG_DESCRIPTION[:2000] in detail
    assert ROUND_TRIP[0][2] in listing
    assert LONG_NAME in long_detail.content.decode()


def test_round_trip_api(client, sdr, round_trip_accounts):
    client.force_login(sdr)
    palm = Account.objects.get(domain="palm.example")
    long = Account.objects.get(domain="long.example")
    palm_data = client.get(f"/api/v1/accounts/{palm.pk}/").json()
    long_data = client.get(f"/api/v1/accounts/{long.pk}/").json()
    assert palm_data["name"] == ROUND_TRIP[0][2]
    assert palm_data["city"] == ROUND_TRIP[1][2]
    assert palm_data["description"] == ROUND_TRIP[2][2]
    assert long_data["name"] == LONG_NAME


def test_round_trip_csv_export(client, sdr, round_trip_accounts):
    client.force_login(sdr)
    response = client.get("/api/v1/accounts/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = {row["domain"]: row for row in csv.DictReader(io.StringIO(text))}
    assert response.status_code == 200
    assert rows["palm.example"]["name"] == ROUND_TRIP[0][2]
    assert rows["palm.example"]["city"] == ROUND_TRIP[1][2]
    assert rows["long.example"]["name"] == LONG_NAME
    assert rows["long.example"]["city"] == "الرياض"
