"""Benchmark a full resegmentation against the database's own floor.

Usage::

    createdb -h 127.0.0.1 -U postgres icp_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench SECRET_KEY=bench \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench SECRET_KEY=bench \\
        .venv/bin/python benchmarks/resegment.py --accounts 100000 --repeat 3

The script replaces every account in the database with N synthetic ones (seeded random
values), so it refuses a database whose name lacks "bench" unless --any-database is
given. It then measures, each in a fresh child process so peak memory is per phase:

- floor: the database alone. A server-side cursor reads the columns segmentation reads, a
  trivial score is computed in Python, and N (id, score) rows are copied back into a
  temporary table. On SQLite the copy is an executemany insert.
- segment: ``accounts_segment`` over all N accounts after clearing their results, so
  every account is written and gets a ScoreRecord (a new framework version's first run).
- unchanged: ``accounts_segment`` again, when every result is unchanged and nothing is
  written (a rerun).

With --workers N, the segment and unchanged phases plan a run and split its chunk tasks
over N processes, as N Celery workers would. Their time then spans from the first worker
starting to score to the last one finishing, without Django's start-up.

It prints one JSON line with the median seconds of --repeat runs per phase, accounts per
second, the ratio of segment to floor and each phase's peak resident memory. The line also
gives the CPU model and the 1-minute load average before and after the measured phases,
because other processes on a shared machine slow every phase.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Share of synthetic accounts in the target industries. The rest spread over the others.
TARGET_SHARE = 0.35
COUNTRIES = ["US"] * 30 + ["CA", "GB", "DE", "FR", "NL", "SG", "AU", "JP", "IN", "BR", "MX"] * 5
TECHNOLOGIES = ["AWS", "Microsoft Azure", "Google Cloud", "Python", "Java", "Salesforce", "PHP"]
SIGNALS = ["hiring", "recent funding", "leadership change", "expansion"]


def setup_django() -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icp_portal.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    Linux's VmHWM starts afresh when a process starts a new program, unlike ru_maxrss,
    which a child inherits from the parent that forked it.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 1)


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def synthetic_values(rng: random.Random, industry_ids: list[int], target_ids: list[int]) -> dict:
    """Return the scoring inputs of one synthetic account, with realistic gaps."""
    if rng.random() < 0.08:
        industry_id = None
    elif rng.random() < TARGET_SHARE:
        industry_id = rng.choice(target_ids)
    else:
        industry_id = rng.choice(industry_ids)
    employee_count = employee_min = employee_max = None
    roll = rng.random()
    if roll < 0.6:
        employee_count = int(10 ** rng.uniform(0.5, 5))
    elif roll < 0.85:
        employee_min, employee_max = rng.choice(
            [(11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000)]
        )
    revenue = None
    if rng.random() < 0.4:
        revenue = Decimal(int(10 ** rng.uniform(5, 10.5)))
    return {
        "industry_id": industry_id,
        "employee_count": employee_count,
        "employee_min": employee_min,
        "employee_max": employee_max,
        "annual_revenue_usd": revenue,
        "country": "" if rng.random() < 0.07 else rng.choice(COUNTRIES),
        "technologies": rng.sample(TECHNOLOGIES, rng.randint(0, 3)),
        "buying_signals": rng.sample(SIGNALS, rng.randint(0, 1)),
    }


def copy_value(field, value) -> str:
    """Format a value for PostgreSQL's COPY text format."""
    from django.db import models

    if value is None:
        return r"\N"
    if isinstance(field, models.JSONField):
        value = json.dumps(value)
    elif isinstance(field, models.BooleanField):
        return "t" if value else "f"
    elif isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def create_accounts(count: int, seed: int) -> None:
    """Replace all accounts with ``count`` synthetic ones, by COPY on PostgreSQL."""
    from django.db import connection

    from accounts.models import Account
    from segmentation.models import Industry

    delete_results()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {Account._meta.db_table} CASCADE")
        else:
            Account.objects.all().delete()

    rng = random.Random(seed)
    industries = dict(Industry.objects.values_list("name", "id"))
    target_ids = [industries[name] for name in ("SaaS", "FinTech", "HealthTech")]
    industry_ids = list(industries.values())
    now = datetime.now(UTC)
    fields = [field for field in Account._meta.concrete_fields if not field.primary_key]

    def account_values(number: int) -> dict:
        values = {field.attname: field.get_default() for field in fields}
        values.update(synthetic_values(rng, industry_ids, target_ids))
        values.update(
            name=f"Company {number}",
            name_key=f"company {number}",
            domain=f"company{number}.example",
            created_at=now,
            updated_at=now,
        )
        return values

    chunk = 50_000
    for start in range(0, count, chunk):
        rows = [account_values(number) for number in range(start, min(start + chunk, count))]
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for values in rows:
                line = "\t".join(copy_value(field, values[field.attname]) for field in fields)
                buffer.write(line + "\n")
            buffer.seek(0)
            columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY {Account._meta.db_table} ({columns}) FROM STDIN", buffer)
        else:
            Account.objects.bulk_create((Account(**values) for values in rows), batch_size=1000)
    vacuum()


def vacuum() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def delete_results() -> None:
    """Delete every ScoreRecord and run in SQL, without loading them as Django does.

    On PostgreSQL the TRUNCATE cascades to the tables that refer to runs, such as import
    runs, which a benchmark database does not need.
    """
    from django.db import connection

    from segmentation.models import ScoreRecord, SegmentationRun

    tables = [ScoreRecord._meta.db_table, SegmentationRun._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def clear_results() -> None:
    """Reset every account to unscored so the next run writes all of them."""
    from accounts.models import Account

    delete_results()
    Account.objects.update(
        score=None,
        tier="",
        tag="",
        route="",
        size_band="",
        geography="",
        needs_enrichment=False,
        missing_fields=[],
        framework=None,
        scored_at=None,
    )
    vacuum()


def measure_floor() -> float:
    """Read the scoring columns, score trivially and write N results back, all in SQL."""
    from django.db import connection, transaction

    from accounts.models import Account
    from segmentation.services import SELECT_FIELDS

    columns = ", ".join(
        connection.ops.quote_name(Account._meta.get_field(name.removesuffix("_id")).column)
        for name in SELECT_FIELDS
    )
    table = Account._meta.db_table
    started = time.perf_counter()
    with transaction.atomic():
        scores = []
        if connection.vendor == "postgresql":
            with connection.connection.cursor(name="floor") as cursor:
                cursor.itersize = 5000
                cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id")
                for row in cursor:
                    scores.append(f"{row[0]}\t{(row[1] or 0) % 101}\n")
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMPORARY TABLE floor_result (id bigint, score smallint)")
                cursor.copy_expert("COPY floor_result FROM STDIN", io.StringIO("".join(scores)))
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id")
                for row in cursor:
                    scores.append((row[0], (row[1] or 0) % 101))
                cursor.execute("CREATE TEMPORARY TABLE floor_result (id bigint, score smallint)")
                cursor.executemany("INSERT INTO floor_result VALUES (%s, %s)", scores)
        transaction.set_rollback(True)
    return time.perf_counter() - started


def measure_segment(batch_size: int | None) -> tuple[float, dict]:
    from segmentation.services import accounts_segment

    started = time.perf_counter()
    summary = accounts_segment(batch_size=batch_size)
    elapsed = time.perf_counter() - started
    return elapsed, {"moved": summary.moved, "unchanged": summary.unchanged}


def score_chunks(run_id: int, worker: int, workers: int) -> dict:
    """Run this worker's share of a planned run's chunk tasks, as one Celery worker would."""
    from segmentation.models import SegmentationRun
    from segmentation.tasks import accounts_segment_task

    keys = sorted(SegmentationRun.objects.get(pk=run_id).summary["chunks"])
    ranges = sorted(tuple(int(part) for part in key.split("-")) for key in keys)
    started = time.time()
    for first_id, last_id in ranges[worker::workers]:
        accounts_segment_task(run_id, first_id, last_id)
    return {"started": started, "finished": time.time()}


def run_phase(args: argparse.Namespace) -> None:
    """Run one measured phase in this (child) process and print its JSON result."""
    setup_django()
    import logging

    logging.getLogger("segmentation").setLevel(logging.WARNING)
    if args.phase == "floor":
        result = {"seconds": measure_floor()}
    elif args.phase == "chunks":
        result = score_chunks(args.run_id, args.worker, args.workers)
    else:
        seconds, counts = measure_segment(args.batch_size)
        result = {"seconds": seconds, **counts}
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(json.dumps(result) + "\n")


def child_command(args: argparse.Namespace, phase: str, *extra: str) -> list[str]:
    command = [sys.executable, __file__, "--phase", phase, "--accounts", str(args.accounts)]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    return command + list(extra)


def child(args: argparse.Namespace, phase: str) -> dict:
    """Measure a phase in one child process, or in --workers children running chunk tasks."""
    if phase == "floor" or args.workers == 1:
        command = child_command(args, phase)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])

    from segmentation.models import SegmentationRun
    from segmentation.services import segmentation_run_plan

    run, _ranges = segmentation_run_plan(batch_size=args.batch_size)
    processes = [
        subprocess.Popen(
            child_command(
                args, "chunks", "--run-id", str(run.pk), "--worker", str(worker),
                "--workers", str(args.workers),
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in range(args.workers)
    ]  # fmt: skip
    results = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"worker failed with exit code {process.returncode}")
        results.append(json.loads(output.strip().splitlines()[-1]))
    run = SegmentationRun.objects.get(pk=run.pk)
    # Workers start Django at different times, so the span runs from the first worker's
    # start of scoring to the last one's end, as with Celery workers already running.
    return {
        "seconds": max(r["finished"] for r in results) - min(r["started"] for r in results),
        "moved": run.moved,
        "unchanged": run.unchanged,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--accounts", type=int, default=100_000, help="Number of synthetic accounts to create."
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Runs per measured phase. The report gives the median.",
    )
    parser.add_argument("--seed", type=int, default=2026, help="Random seed for the data.")
    parser.add_argument(
        "--batch-size", type=int, help="Accounts per batch (default: ICP_SEGMENTATION_BATCH_SIZE)."
    )
    parser.add_argument(
        "--any-database",
        action="store_true",
        help="Allow a database whose name lacks 'bench'; all its accounts are replaced.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Processes scoring chunk tasks in parallel, as Celery workers would (default 1).",
    )
    parser.add_argument(
        "--phase", choices=["floor", "segment", "unchanged", "chunks"], help=argparse.SUPPRESS
    )
    parser.add_argument("--run-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return

    setup_django()
    import logging

    from django.conf import settings
    from django.db import connection

    logging.getLogger("segmentation").setLevel(logging.WARNING)

    database = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in Path(database).name and not args.any_database:
        parser.error(
            f"database {database!r} is not a benchmark database: every account in it would "
            "be replaced. Use a database named like icp_bench, or pass --any-database."
        )
    started = time.perf_counter()
    create_accounts(args.accounts, args.seed)
    setup_seconds = time.perf_counter() - started
    connection.close()

    phases: dict[str, list[dict]] = {"floor": [], "segment": [], "unchanged": []}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        for phase in phases:
            if phase == "segment":
                clear_results()
            phases[phase].append(child(args, phase))
            connection.close()

    def median(phase: str) -> float:
        return statistics.median(result["seconds"] for result in phases[phase])

    floor, segment, unchanged = median("floor"), median("segment"), median("unchanged")
    report = {
        "accounts": args.accounts,
        "database": connection.vendor,
        "batch_size": args.batch_size or settings.ICP_SEGMENTATION_BATCH_SIZE,
        "workers": args.workers,
        "repeat": args.repeat,
        "setup_seconds": round(setup_seconds, 2),
        "floor_seconds": round(floor, 3),
        "segment_seconds": round(segment, 3),
        "segment_accounts_per_second": round(args.accounts / segment),
        "segment_ratio_to_floor": round(segment / floor, 2),
        "unchanged_seconds": round(unchanged, 3),
        "unchanged_accounts_per_second": round(args.accounts / unchanged),
        "unchanged_ratio_to_floor": round(unchanged / floor, 2),
        "peak_rss_mb": {
            phase: max(r["peak_rss_mb"] for r in runs) for phase, runs in phases.items()
        },
        "segment_moved": phases["segment"][0]["moved"],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
