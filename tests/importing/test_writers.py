"""The two batch writers, the background writer thread and the importer's caches."""

import csv
import dataclasses
import gc
import json
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.importing import batches, matching, rows, runner
from accounts.importing.layouts import apply_layout, detect_layout
from accounts.importing.matching import AccountRecord, AccountState, BatchMatcher
from accounts.importing.rows import CachedStep, RowParser
from accounts.models import (
    REVIEW_FLAG_IMPORT_KEY,
    Account,
    AccountIdentifier,
    ImportRun,
    Lead,
)
from accounts.normalizers import DEFAULT_RATES_TO_USD
from accounts.sample_data import APOLLO_COLUMNS, generate_companies
from accounts.services import accounts_import
from enrichment.models import Observation
from segmentation.taxonomy import IndustryResolver

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY and the writer thread need PostgreSQL"
)

# Text that COPY's text format must escape, and quotes that CSV must.
AWKWARD_TEXT = 'Tab\there, line\nbreak, back\\slash, "quotes" and ünïcode'


@pytest.fixture(autouse=True)
def no_post_import_steps(monkeypatch):
    """Skip scoring after each import: these tests compare what the importer writes."""
    monkeypatch.setattr("accounts.services._segment_accounts", lambda run, ids: None)


def write_apollo_file(path: Path, count: int, *, seed: int) -> Path:
    """Write generated Apollo rows with about 5 % blank, nameless, too long or odd rows."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(APOLLO_COLUMNS)
        for company in generate_companies(count, seed=seed):
            cells = [company[column] for column in APOLLO_COLUMNS]
            draw = rng.random()
            if draw < 0.01:
                cells = [""] * len(cells)
            elif draw < 0.02:
                cells[0] = cells[1] = ""
            elif draw < 0.03:
                cells[0] = "Overlong " * 40
            elif draw < 0.05:
                cells[2] = rng.choice(["lots", "50-10", "99999999999", "~?"])
            writer.writerow(cells)
    return path


def write_people_file(path: Path) -> Path:
    rows_ = [
        ["Ada", "Lovelace", "CTO", "Anvil Peak", "ada@anvilpeak.example", "anvilpeak.example"],
        ["Alan", "Turing", "CEO", "Anvil Peak", "ALAN@anvilpeak.example", "anvilpeak.example"],
        ["Ada", "Lovelace", "CTO", "Anvil Peak", "ada@anvilpeak.example", "anvilpeak.example"],
        ["Grace", "Hopper", "", "Blue Harbor", "not-an-email", ""],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name", "Last Name", "Title", "Company", "Email", "Website"])
        writer.writerows(rows_)
    return path


def write_yc_file(path: Path) -> Path:
    items = [
        {
            "id": 10 + index,
            "name": f"Scout {index}",
            "slug": f"scout-{index}",
            "batch": "S12",
            "website": f"scout{index}.example",
            "team_size": [5, True, 1, "12", 0][index % 5],
            "long_description": AWKWARD_TEXT,
            "isHiring": index % 2 == 0,
            "tags": ["Robotics", "B2B"],
        }
        for index in range(12)
    ]
    # The same company again without a website, and one whose id belongs to another.
    items.append({"id": 10, "name": "Scout 0", "slug": "scout-0", "batch": "S12"})
    items.append(
        {"id": 11, "name": "Other", "slug": "other", "batch": "W20", "website": "o.example"}
    )
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def write_update_file(path: Path) -> Path:
    """Rows for accounts the Apollo file created, with values that fill empty fields."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company", "Website", "# Employees", "Description", "Industry"])
        for company in generate_companies(300, seed=3):
            writer.writerow([company["Company"], company["Website"], "75", AWKWARD_TEXT, "Banking"])
    return path


def import_all(folder: Path) -> list[tuple]:
    files = [
        write_apollo_file(folder / "apollo.csv", 400, seed=3),
        write_people_file(folder / "people.csv"),
        write_yc_file(folder / "yc.json"),
        write_update_file(folder / "update.csv"),
        folder / "apollo.csv",
    ]
    return [
        (run.rows_read, run.created, run.updated, run.merged, run.rejected, run.flagged)
        for run in (accounts_import(path, batch_size=64) for path in files)
    ]


def _without_import_id(flag: dict) -> dict:
    return {key: value for key, value in flag.items() if key != REVIEW_FLAG_IMPORT_KEY}


def stored_rows() -> dict[str, list]:
    """Return every imported row without ids and times, with accounts named by position.

    Review flags lose the id of the import that raised them, which differs between runs.
    """
    skipped = {"id", "created_at", "updated_at"}
    names = [field.attname for field in Account._meta.concrete_fields if field.name not in skipped]
    flags_index = names.index("review_flags") + 1
    accounts = sorted(
        (
            (
                *values[:flags_index],
                [_without_import_id(flag) for flag in values[flags_index]],
                *values[flags_index + 1 :],
            )
            for values in Account.objects.values_list("id", *names)
        ),
        key=lambda values: json.dumps(values[1:], default=str, sort_keys=True),
    )
    position = {values[0]: index for index, values in enumerate(accounts)}
    observations = Observation.objects.values_list(
        "account_id", "field", "value", "raw_value", "source", "source_detail", "entered_by"
    )
    identifiers = AccountIdentifier.objects.values_list("account_id", "kind", "value")
    leads = Lead.objects.values_list(
        "account_id", "first_name", "last_name", "title", "email", "phone", "source"
    )

    def by_position(values):
        return sorted(
            json.dumps([position[values[0]], *values[1:]], default=str, sort_keys=True)
            for values in values
        )

    return {
        "accounts": [json.dumps(values[1:], default=str) for values in accounts],
        "observations": by_position(observations),
        "identifiers": by_position(identifiers),
        "leads": by_position(leads),
    }


def delete_imported_rows() -> None:
    Observation.objects.all().delete()
    Lead.objects.all().delete()
    AccountIdentifier.objects.all().delete()
    Account.objects.all().delete()


@on_postgresql
def test_copy_and_bulk_writers_store_same_rows(tmp_path, monkeypatch):
    # Several chunks per COPY statement, so rows at chunk boundaries are compared too.
    monkeypatch.setattr(batches, "COPY_CHUNK_LINES", 7)
    (tmp_path / "copy").mkdir()
    copy_counts = import_all(tmp_path / "copy")
    copy_rows = stored_rows()
    delete_imported_rows()
    monkeypatch.setattr(batches, "copy_supported", lambda connection: False)
    monkeypatch.setattr(runner, "copy_supported", lambda connection: False)

    (tmp_path / "bulk").mkdir()
    bulk_counts = import_all(tmp_path / "bulk")
    bulk_rows = stored_rows()

    assert copy_counts == bulk_counts
    assert len(copy_rows["accounts"]) > 300
    assert len(copy_rows["leads"]) == 3
    assert len(copy_rows["identifiers"]) == 12
    assert copy_rows["accounts"] == bulk_rows["accounts"]
    assert copy_rows["observations"] == bulk_rows["observations"]
    assert copy_rows["identifiers"] == bulk_rows["identifiers"]
    assert copy_rows["leads"] == bulk_rows["leads"]


@on_postgresql
def test_copy_escapes_tabs_newlines_and_backslashes(tmp_path):
    accounts_import(write_yc_file(tmp_path / "yc.json"))

    account = Account.objects.get(domain="scout3.example")
    observation = Observation.objects.get(account=account, field="description")
    assert account.description == AWKWARD_TEXT
    assert observation.value == AWKWARD_TEXT
    assert observation.raw_value == AWKWARD_TEXT


def test_background_and_inline_writes_store_same_rows(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    background_counts = import_all(tmp_path / "a")
    background_rows = stored_rows()
    delete_imported_rows()
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)

    (tmp_path / "b").mkdir()
    inline_counts = import_all(tmp_path / "b")

    assert background_counts == inline_counts
    assert background_rows == stored_rows()


def company_rows(count: int) -> list[list[str]]:
    return [[f"Company {index}", f"company{index}.example"] for index in range(count)]


@on_postgresql
def test_background_conflict_matched_again(write_csv, monkeypatch, caplog):
    path = write_csv(["Company", "Website"], company_rows(7))
    execute = runner.FileImporter._execute
    calls = []

    def conflict_once(importer, prepared):
        calls.append(len(prepared.states))
        if len(calls) == 2:
            raise IntegrityError("duplicate key value violates unique constraint")
        execute(importer, prepared)

    monkeypatch.setattr(runner.FileImporter, "_execute", conflict_once)

    run = accounts_import(path, batch_size=3)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.rows_read, run.created) == (7, 7)
    assert Account.objects.count() == 7
    assert calls == [3, 3, 3, 1]
    assert "conflicted with a concurrent write; matching it again" in caplog.text


def test_error_keeps_written_batches_and_their_counts(write_csv, monkeypatch):
    path = write_csv(["Company", "Website"], company_rows(9))
    parse = RowParser.parse

    def fail_on_line_8(parser, line, cells):
        if line == 8:
            raise RuntimeError("parser failed")
        return parse(parser, line, cells)

    monkeypatch.setattr(RowParser, "parse", fail_on_line_8)

    with pytest.raises(RuntimeError, match="parser failed"):
        accounts_import(path, batch_size=3)

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert Account.objects.count() == 6
    assert (run.rows_read, run.created) == (6, 6)


def test_import_leaves_no_reference_cycles(tmp_path):
    # A cycle keeps its objects, such as a whole batch, until a garbage collection runs.
    path = write_apollo_file(tmp_path / "apollo.csv", 300, seed=5)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run = accounts_import(path, batch_size=64)
        gc.collect()
        unreachable = Counter(type(item).__name__ for item in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert run.created > 200
    assert unreachable["AccountRecord"] == 0
    assert unreachable["CopyBatchWriter"] == 0
    assert unreachable["BatchWriter"] == 0
    assert unreachable["UnparsedValue"] == 0


def test_automatic_garbage_collection_restored(write_csv, monkeypatch):
    path = write_csv(["Company", "Website"], company_rows(4))
    parse = RowParser.parse
    enabled_while_parsing = []

    def record_gc_state(parser, line, cells):
        enabled_while_parsing.append(gc.isenabled())
        if line == 5:
            raise RuntimeError("parser failed")
        return parse(parser, line, cells)

    monkeypatch.setattr(RowParser, "parse", record_gc_state)

    with pytest.raises(RuntimeError, match="parser failed"):
        accounts_import(path, batch_size=2)

    assert enabled_while_parsing == [False, False, False, False]
    assert gc.isenabled()


def test_dry_run_of_several_batches_writes_nothing(write_csv):
    rows_ = company_rows(7) + [["Company 1", "https://www.company1.example/"]]
    path = write_csv(["Company", "Website"], rows_)

    run = accounts_import(path, dry_run=True, batch_size=2)

    run.refresh_from_db()
    assert (run.rows_read, run.created, run.merged) == (8, 7, 1)
    assert Account.objects.count() == 0
    assert Observation.objects.count() == 0


@on_postgresql
def test_candidate_queries_restore_enable_seqscan(write_csv):
    accounts_import(write_csv(["Company", "Website"], company_rows(3)))
    parser = make_parser(["Company", "Website"])
    parsed = [parser.parse(2, ["Company 1", "company1.example"])]

    with transaction.atomic(), connection.cursor() as cursor:
        outcomes = BatchMatcher(parsed, source="csv", touched_ids=set()).run()
        cursor.execute("SHOW enable_seqscan")
        setting = cursor.fetchone()[0]

    assert setting == "on"
    assert outcomes[0].state.account.domain == "company1.example"


def make_parser(header: list[str], *, is_json: bool = False) -> RowParser:
    mapping = apply_layout(detect_layout(header), header)
    return RowParser(
        mapping,
        header=header,
        is_json=is_json,
        source="test",
        decimal_comma=False,
        rates=DEFAULT_RATES_TO_USD,
        resolver=IndustryResolver.load(),
    )


def test_account_record_defaults_match_model():
    record = AccountRecord(None, "Acme", "acme")

    for name in matching.IMPORT_FIELDS:
        if name in ("name", "name_key"):
            continue
        field = Account._meta.get_field(name)
        assert getattr(record, name) == field.get_default(), name


def parsed_sample_rows() -> list[rows.ParsedRow]:
    parser = make_parser(list(APOLLO_COLUMNS))
    parsed = []
    for line, company in enumerate(generate_companies(600, seed=9), start=2):
        cells = [company[column] for column in APOLLO_COLUMNS]
        try:
            parsed.append(parser.parse(line, cells))
        except rows.RowRejected:
            continue
    return parsed


def test_first_row_merge_matches_general_merge():
    for row in parsed_sample_rows():
        results = []
        for merge in (matching._merge_first_row, matching._merge_row):
            matcher = BatchMatcher([], source="apollo", touched_ids=set())
            state = matcher._create_state(row)
            merge(state, row, matcher)
            results.append((dataclasses.astuple(state.account), row.added_flags))

        assert results[0] == results[1]


def test_cached_step_keeps_true_and_1_apart():
    parser = make_parser(["name", "slug", "batch", "team_size"], is_json=True)

    hiring_flag = parser.parse(1, ["Scout", "scout", "S12", True])
    one_person = parser.parse(2, ["Scout 2", "scout-2", "S12", 1])

    assert hiring_flag.values.get("employee_count") is None
    assert [flag["field"] for flag in hiring_flag.flags] == ["employees"]
    assert one_person.values["employee_count"] == 1
    assert one_person.flags == []


def test_cached_step_turns_off_for_unique_values(monkeypatch):
    monkeypatch.setattr(CachedStep, "SAMPLE_LOOKUPS", 20)
    parser = make_parser(list(APOLLO_COLUMNS))
    revenue_step = next(step for step in parser.steps if step.step == parser._revenue)
    industry_step = next(step for step in parser.steps if step.step == parser._industry_step)
    reference = make_parser(list(APOLLO_COLUMNS))

    for index in range(60):
        cells = [f"Acme {index}", f"acme{index}.example", "", "Banking", "", "", "", "", ""]
        cells[APOLLO_COLUMNS.index("Annual Revenue")] = f"{1_000_000 + index:,}"
        parsed = parser.parse(index + 2, cells)
        expected = reference.parse(index + 2, cells)

        assert parsed.values == expected.values
        assert parsed.observations == expected.observations

    assert revenue_step.results is None
    assert industry_step.results is not None
    assert parsed.values["revenue_amount"] == Decimal("1000059.00")


def test_state_changed_fields_track_existing_accounts():
    existing = AccountRecord(
        1, "Acme", "acme", domain="acme.example", website="https://acme.example"
    )
    state = AccountState(account=existing, identifiers={}, is_new=False)
    parser = make_parser(list(APOLLO_COLUMNS))
    row = parser.parse(2, ["Acme", "acme.example", "51-200", "", "", "", "", "", ""])

    matching.merge_row(state, row, BatchMatcher([], source="apollo", touched_ids=set()))

    assert state.changed_fields == {
        "employee_count",
        "employee_min",
        "employee_max",
        "employee_raw",
    }
    assert existing.employee_count == 125


def test_repeated_rows_observe_each_value_once(write_csv):
    path = write_csv(
        ["Company", "Website", "# Employees"],
        [
            ["Example", "example.com", "40"],
            ["Example", "example.com", "40"],
            ["Example", "https://www.example.com/", "45"],
        ],
    )

    run = accounts_import(path)

    account = Account.objects.get()
    fields = sorted(account.observations.values_list("field", flat=True))
    assert (run.created, run.merged) == (1, 2)
    assert fields == ["domain", "employees", "employees", "name", "website", "website"]
