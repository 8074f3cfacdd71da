"""Benchmark importing a company export against django-import-export and database floors.

Usage::

    createdb -h 127.0.0.1 -U postgres icp_bench_import
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_import SECRET_KEY=bench
    .venv/bin/python manage.py migrate
    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/import_accounts.py --rows 100000 --repeat 3

The script writes an Apollo-layout CSV file of --rows generated companies
(``accounts.sample_data``, about 3 % repeated companies) with about 1 % bad rows mixed
in: blank rows, rows without name and website, names longer than the column and
employee counts that cannot be read. It then measures, each run in a fresh child process
on emptied account, identifier, observation and lead tables:

- ours: ``accounts_import`` of the file without the verification and scoring that
  follow an import. Reading, normalizing, matching, writing accounts, identifiers and
  observations, and the rejected-rows report are all timed. --match-after-writes turns
  off matching a batch while the previous one is written, to measure what that saves.
- import_export: django-import-export 4 with ``AccountResource`` below in bulk mode,
  reading the same file into a tablib Dataset first.
- bulk_create_upsert (floor): Django's ``bulk_create`` with ``update_conflicts`` of the
  account rows that ours stored, from model instances built in the timed part.
- copy_upsert (floor): COPY of the same account rows into a temporary table and one
  ``INSERT … ON CONFLICT (domain) WHERE domain <> '' DO UPDATE``.
- copy_all (floor): COPY of the account rows and the observation rows that ours stored,
  straight into their tables. This is the database's share of ours.

The floors get their rows from the first run of ours and skip parsing and matching, so
they only bound what the database can take. Rates are rows of the file per second for
every variant, so they compare directly. The script refuses a database whose name lacks
"bench", because it empties the account tables. It prints one JSON line per figure with
the median of --repeat runs. Each line also lists every run: its seconds, the child's CPU
seconds (all threads), the database backend's CPU seconds when the server runs on this
machine, the child's peak resident memory (VmHWM) and the load average.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import (
    PROJECT_DIR,
    check_bench_database,
    emit,
    load_average,
    machine,
    median,
    peak_rss_mb,
    setup_django,
    timed,
)

VARIANTS = ("ours", "import_export", "bulk_create_upsert", "copy_upsert", "copy_all")
FLOORS = ("bulk_create_upsert", "copy_upsert", "copy_all")

ROWS_TARGET = 20_000
RATIO_TARGET = 7.0

# Share of generated rows replaced by a bad row, and the kinds of bad rows in turn.
BAD_ROW_SHARE = 0.01
UNREADABLE_EMPLOYEES = ("lots", "a few dozen", "50-10", "99999999999", "~?")

# Rows per bulk statement of the import-export reference and the bulk_create floor.
REFERENCE_BATCH_SIZE = 1000

ACCOUNT_TABLES = (
    "accounts_account",
    "accounts_accountidentifier",
    "enrichment_observation",
    "accounts_lead",
)


def write_export(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write the benchmark file and return how many bad rows of each kind it has."""
    from accounts.sample_data import APOLLO_COLUMNS, generate_companies

    rng = random.Random(seed)
    bad_rows = {"blank": 0, "no_name_no_website": 0, "name_too_long": 0, "bad_employees": 0}
    kinds = list(bad_rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(APOLLO_COLUMNS)
        for company in generate_companies(rows, seed=seed):
            cells = [company[column] for column in APOLLO_COLUMNS]
            if rng.random() < BAD_ROW_SHARE:
                kind = kinds[sum(bad_rows.values()) % len(kinds)]
                bad_rows[kind] += 1
                if kind == "blank":
                    cells = [""] * len(cells)
                elif kind == "no_name_no_website":
                    cells[0] = cells[1] = ""
                elif kind == "name_too_long":
                    cells[0] = "Overlong Company Name " * 15
                else:
                    cells[2] = rng.choice(UNREADABLE_EMPLOYEES)
            writer.writerow(cells)
    return bad_rows


def empty_tables() -> None:
    """Empty the tables an import writes and checkpoint, so each run starts alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(ACCOUNT_TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("CHECKPOINT")


def save_floor_rows(folder: Path) -> None:
    """Save the accounts and observations of the last run of ours for the floors."""
    from django.db import connection

    from accounts.importing.matching import IMPORT_FIELDS
    from accounts.models import Account

    with connection.cursor() as cursor:
        for table in ("accounts_account", "enrichment_observation"):
            with (folder / f"{table}.copy").open("w", encoding="utf-8") as handle:
                cursor.cursor.copy_expert(f"COPY {table} TO STDOUT", handle)
    accounts = list(Account.objects.values("id", *IMPORT_FIELDS, "created_at", "updated_at"))
    with (folder / "accounts.pickle").open("wb") as handle:
        pickle.dump(accounts, handle)


def table_count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


class PhaseTimesHandler(logging.Handler):
    """Keeps the phase times that the importer logs at the end of a run."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        times = getattr(record, "import_phase_times", None)
        if times:
            self.times = {name: round(value, 2) for name, value in times.items()}


def run_ours(path: Path, batch_size: int | None, match_after_writes: bool) -> dict[str, Any]:
    from accounts.importing.runner import FileImporter
    from accounts.services import accounts_import

    if match_after_writes:
        FileImporter.match_during_writes = False
    handler = PhaseTimesHandler()
    runner_logger = logging.getLogger("accounts.importing.runner")
    runner_logger.addHandler(handler)
    runner_logger.setLevel(logging.INFO)
    options = {} if batch_size is None else {"batch_size": batch_size}
    with timed() as timing:
        run = accounts_import(path, verify_and_segment=False, **options)
    return {
        "timing": timing,
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "merged": run.merged,
        "rejected": run.rejected,
        "skipped_blank": run.skipped_blank,
        "flagged": run.flagged,
        "phase_seconds": handler.times,
        "accounts": table_count("accounts_account"),
        "observations": table_count("enrichment_observation"),
    }


def account_resource_class() -> type:
    """Return the django-import-export resource of the reference import.

    It maps the Apollo columns to Account fields one to one. The domain, the import id,
    and the name key are added as columns before the import, and countries become ISO
    codes, because the table requires them. Rows without a name, with a name longer than
    the column, or whose domain an earlier row had are skipped, because a bulk insert of
    such a row would fail its whole batch.
    """
    from import_export import fields, resources, widgets

    from accounts.models import Account
    from accounts.normalizers import (
        UnparsedValue,
        company_name_key,
        normalize_country,
        normalize_domain,
    )

    name_length = Account._meta.get_field("name").max_length

    class CountryWidget(widgets.CharWidget):
        def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
            try:
                return normalize_country(value) or ""
            except UnparsedValue:
                return ""

    class CommaListWidget(widgets.Widget):
        def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[str]:
            return [item.strip() for item in (value or "").split(",") if item.strip()]

    def domain_of(website: str) -> str:
        try:
            return normalize_domain(website) or ""
        except UnparsedValue:
            return ""

    class AccountResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="Company")
        website = fields.Field(attribute="website", column_name="Website")
        employee_raw = fields.Field(attribute="employee_raw", column_name="# Employees")
        industry_raw = fields.Field(attribute="industry_raw", column_name="Industry")
        city = fields.Field(attribute="city", column_name="Company City")
        region = fields.Field(attribute="region", column_name="Company State")
        country = fields.Field(
            attribute="country", column_name="Company Country", widget=CountryWidget()
        )
        revenue_raw = fields.Field(attribute="revenue_raw", column_name="Annual Revenue")
        technologies = fields.Field(
            attribute="technologies", column_name="Technologies", widget=CommaListWidget()
        )
        domain = fields.Field(attribute="domain", column_name="domain")
        name_key = fields.Field(attribute="name_key", column_name="name_key")

        class Meta:
            model = Account
            fields = (
                "name",
                "website",
                "employee_raw",
                "industry_raw",
                "city",
                "region",
                "country",
                "revenue_raw",
                "technologies",
                "domain",
                "name_key",
            )
            import_id_fields = ("domain",)
            use_bulk = True
            batch_size = REFERENCE_BATCH_SIZE
            skip_diff = True
            use_transactions = True

        def before_import(self, dataset: Any, **kwargs: Any) -> None:
            self.seen_domains: set[str] = set()
            dataset.append_col([domain_of(website) for website in dataset["Website"]], "domain")
            dataset.append_col(
                [company_name_key(name.strip()) for name in dataset["Company"]], "name_key"
            )

        def get_instance(self, instance_loader: Any, row: Any) -> Any:
            # Rows without a domain are new accounts, not updates of one another.
            if not row["domain"]:
                return None
            return super().get_instance(instance_loader, row)

        def skip_row(self, instance: Any, original: Any, row: Any, *args: Any) -> bool:
            name = (row["Company"] or "").strip()
            if not name or len(name) > name_length:
                return True
            domain = row["domain"]
            if domain and domain in self.seen_domains:
                return True
            self.seen_domains.add(domain)
            return False

        def before_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
            instance.name = instance.name.strip()
            instance.source = "apollo"

    return AccountResource


def run_import_export(path: Path) -> dict[str, Any]:
    import tablib

    resource = account_resource_class()()
    with timed() as timing:
        dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
        result = resource.import_data(dataset)
    return {
        "timing": timing,
        "totals": dict(result.totals),
        "base_errors": len(result.base_errors),
        "row_errors": len(result.row_errors()),
        "accounts": table_count("accounts_account"),
    }


def run_bulk_create_upsert(folder: Path) -> dict[str, Any]:
    from django.db import transaction

    from accounts.importing.matching import IMPORT_FIELDS
    from accounts.models import Account

    with (folder / "accounts.pickle").open("rb") as handle:
        rows = pickle.load(handle)
    with timed() as timing, transaction.atomic():
        # The unique index on domain is partial (domain <> ''), and Django cannot name a
        # partial index in ON CONFLICT, so the upsert is on the primary key.
        Account.objects.bulk_create(
            [Account(**values) for values in rows],
            batch_size=REFERENCE_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=list(IMPORT_FIELDS),
        )
    return {"timing": timing, "accounts": table_count("accounts_account")}


def run_copy_upsert(folder: Path) -> dict[str, Any]:
    from django.db import connection, transaction

    from accounts.importing.matching import IMPORT_FIELDS
    from accounts.models import Account

    columns = [Account._meta.get_field(name).column for name in IMPORT_FIELDS]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)
    with timed() as timing, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE staged_accounts ON COMMIT DROP AS "
            "SELECT * FROM accounts_account WITH NO DATA"
        )
        with (folder / "accounts_account.copy").open(encoding="utf-8") as handle:
            cursor.cursor.copy_expert("COPY staged_accounts FROM STDIN", handle, size=1 << 20)
        cursor.execute(
            "INSERT INTO accounts_account SELECT * FROM staged_accounts "
            f"ON CONFLICT (domain) WHERE domain <> '' DO UPDATE SET {updates}, "
            "updated_at = EXCLUDED.updated_at"
        )
    return {"timing": timing, "accounts": table_count("accounts_account")}


def run_copy_all(folder: Path) -> dict[str, Any]:
    from django.db import connection, transaction

    with timed() as timing, transaction.atomic(), connection.cursor() as cursor:
        for table in ("accounts_account", "enrichment_observation"):
            with (folder / f"{table}.copy").open(encoding="utf-8") as handle:
                cursor.cursor.copy_expert(f"COPY {table} FROM STDIN", handle, size=1 << 20)
    return {
        "timing": timing,
        "accounts": table_count("accounts_account"),
        "observations": table_count("enrichment_observation"),
    }


def run_child(args: argparse.Namespace) -> None:
    """Measure one variant once and print its result as one JSON line."""
    setup_django()
    check_bench_database()
    path = Path(args.file)
    folder = path.parent
    if args.child == "ours":
        result = run_ours(path, args.batch_size, args.match_after_writes)
    elif args.child == "import_export":
        result = run_import_export(path)
    elif args.child == "bulk_create_upsert":
        result = run_bulk_create_upsert(folder)
    elif args.child == "copy_upsert":
        result = run_copy_upsert(folder)
    else:
        result = run_copy_all(folder)
    timing = result.pop("timing")
    result.update(
        variant=args.child,
        seconds=round(timing.seconds, 3),
        cpu_seconds=round(timing.cpu_seconds, 2),
        server_cpu_seconds=(
            None if timing.server_cpu_seconds is None else round(timing.server_cpu_seconds, 2)
        ),
        peak_rss_mb=peak_rss_mb(),
        load_average=load_average(),
    )
    sys.stdout.write(json.dumps(result, default=str) + "\n")


def child(args: argparse.Namespace, variant: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", variant]
    command += ["--file", str(path)]
    if args.batch_size is not None:
        command += ["--batch-size", str(args.batch_size)]
    if args.match_after_writes:
        command.append("--match-after-writes")
    environment = {**os.environ, "ICP_VAR_DIR": str(path.parent / "var")}
    completed = subprocess.run(
        command, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"the {variant} run failed with exit status {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def summarize(variant: str, runs: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    seconds = median([run["seconds"] for run in runs])
    return {
        "variant": variant,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Rows in the generated file.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs of each variant.")
    parser.add_argument("--seed", type=int, default=2026, help="Seed of the generated rows.")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="Records per batch of ours (default: the importer's IMPORT_BATCH_SIZE).",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"Comma-separated variants to run, from: {', '.join(VARIANTS)}.",
    )
    parser.add_argument(
        "--match-after-writes",
        action="store_true",
        help="Make ours match each batch after the previous batch's write has finished, "
        "instead of on a second connection during it.",
    )
    parser.add_argument("--keep-files", action="store_true", help="Keep the generated files.")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return

    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(
            f"--variants: unknown variant {unknown[0]!r}. Use one or more of "
            f"{', '.join(VARIANTS)}, separated by commas."
        )
    if "import_export" in variants and importlib.util.find_spec("import_export") is None:
        sys.stderr.write(
            "skipped import_export: django-import-export is not installed. Install it with "
            "`.venv/bin/pip install -r benchmarks/requirements.txt`.\n"
        )
        variants.remove("import_export")
    if any(name in FLOORS for name in variants) and "ours" not in variants:
        raise SystemExit("the floor variants need the rows of ours: add ours to --variants.")

    setup_django()
    check_bench_database()
    folder = Path(tempfile.mkdtemp(prefix="icp-import-bench-"))
    try:
        path = folder / f"apollo-{args.rows}.csv"
        bad_rows = write_export(path, args.rows, args.seed)
        sys.stderr.write(f"wrote {path} ({path.stat().st_size:,} bytes), bad rows {bad_rows}\n")
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for repeat in range(args.repeat):
            for variant in variants:
                empty_tables()
                run = child(args, variant, path)
                results[variant].append(run)
                sys.stderr.write(f"run {repeat + 1} {variant}: {json.dumps(run)}\n")
                if variant == "ours" and repeat == 0:
                    save_floor_rows(folder)
        empty_tables()
        report(args, variants, results, bad_rows)
    finally:
        if args.keep_files:
            sys.stderr.write(f"kept the files in {folder}\n")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def report(
    args: argparse.Namespace,
    variants: list[str],
    results: dict[str, list[dict[str, Any]]],
    bad_rows: dict[str, int],
) -> None:
    summaries = {name: summarize(name, results[name], args.rows) for name in variants}
    common = {"rows": args.rows, "repeat": args.repeat, "bad_rows": bad_rows}
    for name, summary in summaries.items():
        if name == "ours":
            continue
        emit(
            f"import_{name}_rows_per_second",
            summary["rows_per_second"],
            "rows/s",
            **common,
            median_seconds=summary["seconds"],
            runs=summary["runs"],
        )
    if "ours" not in summaries:
        return
    ours = summaries["ours"]
    emit(
        "import_rows_per_second",
        ours["rows_per_second"],
        "rows/s",
        ROWS_TARGET,
        higher_is_better=True,
        **common,
        median_seconds=ours["seconds"],
        peak_rss_mb=max(run["peak_rss_mb"] for run in ours["runs"]),
        runs=ours["runs"],
    )
    if "import_export" in summaries:
        reference = summaries["import_export"]
        emit(
            "import_speedup_over_import_export",
            round(reference["seconds"] / ours["seconds"], 2),
            "times",
            RATIO_TARGET,
            higher_is_better=True,
            **common,
            ours_seconds=ours["seconds"],
            import_export_seconds=reference["seconds"],
        )
    sys.stderr.write(f"machine: {json.dumps(machine())}\n")


if __name__ == "__main__":
    main()
