"""Run every benchmark of this folder and print their JSON lines.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench \\
        .venv/bin/python benchmarks/run_all.py --small

The database named in DATABASE_URL is created when missing and migrated. Its name must
contain "bench", because the benchmarks replace every account. With --small each
benchmark runs its small version (10,000 accounts, short runs), which checks that the
benchmarks work and takes a few minutes. The small figures are not comparable with the
targets, which apply to 1,000,000 accounts. Without --small each benchmark runs at full
size, which takes about half an hour.

import_accounts.py and resegment.py run first when they exist. The exit status is 1 when
a benchmark failed to run; a figure that misses its target does not change it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent

# (script, arguments with --small, arguments without).
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("import_accounts.py", ["--rows", "1000"], ["--rows", "100000"]),
    ("resegment.py", ["--accounts", "10000"], ["--accounts", "100000", "--repeat", "3"]),
    ("list_page.py", ["--small"], []),
    ("api_pull.py", ["--small"], []),
    ("csv_stream.py", ["--small"], []),
    ("load_test.py", ["--small"], []),
    ("enrich_rate.py", ["--small"], []),
]
# Maximum time of one benchmark in seconds, so a hung server cannot stall the run.
SMALL_TIMEOUT = 600
FULL_TIMEOUT = 3600


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when missing and apply the migrations."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"database {name!r} is not a benchmark database: use a name that contains 'bench'."
        )
    admin = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            sys.stderr.write(f"created database {name}" + "\n")
    admin.close()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=PROJECT_DIR,
        env=os.environ,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--small", action="store_true", help="Run the small version of each.")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "DATABASE_URL is missing or not PostgreSQL: set it, for example to "
            "postgres://postgres@127.0.0.1:5432/icp_bench"
        )
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DEBUG", "false")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: install it with `apt-get install -y wrk`.")
    ensure_database(url)

    failed = []
    for script, small_arguments, full_arguments in BENCHMARKS:
        path = BENCH_DIR / script
        arguments = small_arguments if args.small else full_arguments
        if not path.exists():
            sys.stderr.write(f"skipped {script}: not present" + "\n")
            continue
        sys.stderr.write(f"running {script} {' '.join(arguments)}" + "\n")
        started = time.monotonic()
        try:
            completed = subprocess.run(
                [sys.executable, str(path), *arguments],
                cwd=PROJECT_DIR,
                env=os.environ,
                timeout=SMALL_TIMEOUT if args.small else FULL_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"{script} timed out" + "\n")
            failed.append(script)
            continue
        sys.stderr.write(
            f"{script} finished in {time.monotonic() - started:.0f} s "
            f"with exit status {completed.returncode}\n"
        )
        if completed.returncode != 0:
            failed.append(script)
    if failed:
        sys.stderr.write(f"failed: {', '.join(failed)}" + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
