"""Matching and preparing a batch on a second connection while the previous one is written."""

import threading

import pytest
from django.db import IntegrityError, connection

from accounts.importing import runner
from accounts.importing.matching import AccountRecord, AccountState, PendingBatch, RowOutcome
from accounts.models import Account, ImportRun, Lead
from accounts.services import accounts_import
from enrichment.models import Observation

from .test_writers import company_rows, delete_imported_rows, import_all, make_parser, stored_rows

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY and the writer thread need PostgreSQL"
)


@pytest.fixture(autouse=True)
def no_post_import_steps(monkeypatch):
    """Skip scoring after each import: these tests compare what the importer writes."""
    monkeypatch.setattr("accounts.services._segment_accounts", lambda run, ids: None)


@pytest.fixture
def overlapped_batches(monkeypatch) -> list[int]:
    """Record the size of each batch matched while the previous batch was written."""
    sizes: list[int] = []
    match_beside_write = runner.FileImporter._match_beside_write

    def record(importer, batch, pending):
        sizes.append(len(batch))
        return match_beside_write(importer, batch, pending)

    monkeypatch.setattr(runner.FileImporter, "_match_beside_write", record)
    return sizes


@pytest.fixture
def writes_held(monkeypatch) -> None:
    """Hold each background write until the importer waits for it.

    The importer then matches and prepares the next batch before the previous one
    commits, however fast the write would be.
    """
    waited = threading.Semaphore(0)
    execute = runner.FileImporter._execute
    finish_pending_write = runner.FileImporter._finish_pending_write

    def held_execute(importer, prepared):
        if threading.current_thread() is not threading.main_thread():
            assert waited.acquire(timeout=30), "the importer did not wait for its write"
        execute(importer, prepared)

    def release_and_finish(importer):
        if importer._pending is not None:
            waited.release()
        return finish_pending_write(importer)

    monkeypatch.setattr(runner.FileImporter, "_execute", held_execute)
    monkeypatch.setattr(runner.FileImporter, "_finish_pending_write", release_and_finish)


def duplicate_observations() -> list[tuple]:
    """Return the observations that repeat the value before them of their account, field
    and source, which an import leaves out. A value that returns after another is kept."""
    duplicates = []
    previous: dict[tuple, str] = {}
    rows = Observation.objects.order_by("observed_at", "id").values_list(
        "account_id", "field", "value", "source"
    )
    for account_id, field, value, source in rows:
        key = (account_id, field, source)
        if previous.get(key) == repr(value):
            duplicates.append((*key, repr(value)))
        previous[key] = repr(value)
    return duplicates


@on_postgresql
def test_overlapped_and_serial_store_same_rows(
    transactional_db, tmp_path, monkeypatch, overlapped_batches, writes_held
):
    (tmp_path / "overlapped").mkdir()
    overlapped_counts = import_all(tmp_path / "overlapped")
    overlapped_rows = stored_rows()
    overlapped_batch_count = len(overlapped_batches)
    delete_imported_rows()
    monkeypatch.setattr(runner.FileImporter, "match_during_writes", False)

    (tmp_path / "serial").mkdir()
    serial_counts = import_all(tmp_path / "serial")

    assert overlapped_batch_count > 10
    assert len(overlapped_batches) == overlapped_batch_count
    assert overlapped_counts == serial_counts
    serial_rows = stored_rows()
    assert len(overlapped_rows["accounts"]) > 300
    assert overlapped_rows["accounts"] == serial_rows["accounts"]
    assert overlapped_rows["observations"] == serial_rows["observations"]
    assert overlapped_rows["identifiers"] == serial_rows["identifiers"]
    assert overlapped_rows["leads"] == serial_rows["leads"]


@on_postgresql
def test_company_in_consecutive_batches_merges(
    transactional_db, write_csv, overlapped_batches, writes_held, caplog
):
    header = ["Company", "Website", "# Employees", "Industry", "Company Country"]
    rows = [
        ["Anvil Peak", "anvilpeak.example", "", "", "US"],
        ["Blue Harbor", "", "", "", "US"],
        # Second batch: the same companies by domain and by name and country.
        ["Anvil Peak", "https://www.anvilpeak.example/", "75", "Banking", "US"],
        ["Blue Harbor", "blueharbor.example", "", "", "US"],
        # Third batch: by the domain that the second batch gave Blue Harbor.
        ["Blue Harbor", "blueharbor.example", "", "Software", "US"],
        ["Anvil Peak", "anvilpeak.example", "75", "Banking", "US"],
    ]

    run = accounts_import(write_csv(header, rows), batch_size=2)

    assert overlapped_batches == [2, 2]
    # A batch matched without the pending one would repeat its domains and be matched again.
    assert "conflicted" not in caplog.text
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.created, run.updated, run.merged) == (2, 0, 4)
    assert Account.objects.count() == 2
    anvil = Account.objects.get(domain="anvilpeak.example")
    assert anvil.employee_count == 75
    assert anvil.industry_raw == "Banking"
    harbor = Account.objects.get(domain="blueharbor.example")
    assert harbor.industry_raw == "Software"
    assert duplicate_observations() == []


@on_postgresql
def test_lead_in_consecutive_batches_stored_once(
    transactional_db, write_csv, overlapped_batches, writes_held, caplog
):
    header = ["First Name", "Last Name", "Title", "Company", "Email", "Website"]
    # Without an e-mail address no unique constraint stops a second copy of the lead.
    grace = ["Grace", "Hopper", "Admiral", "Blue Harbor", "", "blueharbor.example"]

    run = accounts_import(write_csv(header, [grace, grace, grace]), batch_size=1)

    assert overlapped_batches == [1, 1]
    assert "conflicted" not in caplog.text
    assert (run.created, run.merged) == (1, 2)
    assert Lead.objects.count() == 1
    assert duplicate_observations() == []


@on_postgresql
def test_conflict_rematches_the_next_batch(
    transactional_db, write_csv, monkeypatch, caplog, writes_held
):
    rows = company_rows(6) + [["Company 5", "company5.example"], ["Company 6", "company6.example"]]
    path = write_csv(["Company", "Website"], rows)
    execute = runner.FileImporter._execute
    calls = []

    def conflict_once(importer, prepared):
        calls.append(len(prepared.states))
        if len(calls) == 2:
            raise IntegrityError("duplicate key value violates unique constraint")
        execute(importer, prepared)

    monkeypatch.setattr(runner.FileImporter, "_execute", conflict_once)

    run = accounts_import(path, batch_size=3)

    # The second batch is written again, and the third, matched against the second's
    # failed write, is matched again too before its write.
    assert calls == [3, 3, 3, 2]
    assert "conflicted with a concurrent write; matching it again" in caplog.text
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.rows_read, run.created, run.merged) == (8, 7, 1)
    assert Account.objects.count() == 7
    assert duplicate_observations() == []


@on_postgresql
def test_value_again_in_next_batch_is_latest(
    transactional_db, write_csv, overlapped_batches, writes_held
):
    header = ["Company", "Website", "# Employees"]
    rows = [["Winter Co", "winter.example", count] for count in ("100", "120", "100")]

    accounts_import(write_csv(header, rows), batch_size=1)

    counts = list(
        Observation.objects.filter(field="employees")
        .order_by("observed_at", "id")
        .values_list("value__count", flat=True)
    )
    assert overlapped_batches == [1, 1]
    assert counts == [100, 120, 100]


@pytest.mark.django_db
def test_no_overlap_inside_a_transaction(write_csv, overlapped_batches):
    run = accounts_import(write_csv(["Company", "Website"], company_rows(7)), batch_size=2)

    assert run.created == 7
    assert overlapped_batches == []


def pending_outcome(account_id: int | None) -> RowOutcome:
    parser = make_parser(["Company", "Website"])
    row = parser.parse(2, ["Anvil Peak", "anvilpeak.example"])
    record = AccountRecord(account_id, "Anvil Peak", "anvil peak", domain="anvilpeak.example")
    state = AccountState(account=record, identifiers={"crm": {"42"}}, is_new=True)
    return RowOutcome(row, state, "created")


@pytest.mark.django_db
def test_pending_carry_copies_state():
    outcome = pending_outcome(7)
    pending = PendingBatch([outcome])

    carried = pending.carry(7)
    carried.account.description = "Changed"
    carried.identifiers["crm"].add("43")

    assert carried.account is not outcome.state.account
    assert outcome.state.account.description == ""
    assert outcome.state.identifiers == {"crm": {"42"}}
    assert carried.is_new is False
    assert carried.touched_earlier is True
    assert carried.new_identifiers == []


@pytest.mark.django_db
def test_pending_candidates_by_each_key():
    pending = PendingBatch([pending_outcome(7)])

    assert pending.candidate_ids({"crm": {"42"}}, set(), set()) == {7}
    assert pending.candidate_ids({}, {"anvilpeak.example"}, set()) == {7}
    assert pending.candidate_ids({}, set(), {("anvil peak", "")}) == {7}
    assert pending.candidate_ids({}, set(), {("anvil peak", "US")}) == set()
    assert pending.candidate_ids({"crm": {"41"}}, {"other.example"}, set()) == set()


@pytest.mark.django_db
def test_pending_batch_rejects_unsaved_account():
    with pytest.raises(ValueError, match="line 2 has no primary key"):
        PendingBatch([pending_outcome(None)])
