"""Benchmark pulling a route segment page by page through the REST API.

Usage::

    createdb -h 127.0.0.1 -U postgres icp_bench_api
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python benchmarks/api_pull.py --accounts 1000000 --repeat 3

The script fills the database with N synthetic accounts (see ``dataset_ensure``) unless it
already contains exactly that many, creates a Marketing user with a read token, starts
gunicorn on 127.0.0.1 with DEBUG off, and runs ``wrk`` against
``/api/v1/segments/routes/Outbound/members/``. Each connection follows the ``next`` links
and starts again at the first page when the segment ends. It prints one JSON line with
the median p95 latency per page of 100 over --repeat runs.

This module also contains the helpers that the other benchmarks of this folder import:
the synthetic dataset, the bench users and tokens, the gunicorn server and wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(PROJECT_DIR))

# Settings that every benchmark process and server uses. The user throttle is raised
# because a load test sends more than the production rate of 1200 requests per minute
# from one token, and a 429 would count as an error.
BENCH_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
    "SECRET_KEY": "bench",
    "DEBUG": "false",
    "API_THROTTLE_USER": "1000000/minute",
    "API_THROTTLE_CSV_EXPORT": "1000/minute",
}
BENCH_PASSWORD = "bench-pass-2026"
# Share of accounts in each synthetic route; the rest have no route, like a medium tier
# whose framework leaves the route empty.
ROUTE_OUTBOUND = "Outbound"
# Accounts per synthetic tag: "Segment 0" … "Segment 9" each hold a tenth of the accounts.
TAG_COUNT = 10
CSV_TAG = "Segment 0"

WRK_SCRIPT = r"""
local first = os.getenv("BENCH_FIRST_PATH")
local extra = os.getenv("BENCH_PATHS")
local paths = {}
if extra and extra ~= "" then
  for p in string.gmatch(extra, "[^|]+") do table.insert(paths, p) end
end
local follow = os.getenv("BENCH_FOLLOW") == "1"
local header_name = os.getenv("BENCH_HEADER_NAME")
local header_value = os.getenv("BENCH_HEADER_VALUE")
local nextpath = first
local counter = 0

init = function(args)
  if header_name and header_name ~= "" then
    wrk.headers[header_name] = header_value
  end
end

request = function()
  if not follow and #paths > 0 then
    counter = counter + 1
    return wrk.format("GET", paths[(counter % #paths) + 1])
  end
  return wrk.format("GET", nextpath)
end

response = function(status, headers, body)
  if not follow then return end
  if status ~= 200 then nextpath = first; return end
  local link = string.match(body, '"next":"(.-)"')
  if link then
    nextpath = string.gsub(link, "^https?://[^/]+", "")
  else
    nextpath = first
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_ms":%.2f,"p95_ms":%.2f,' ..
    '"p99_ms":%.2f,"max_ms":%.2f}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def setup_django() -> None:
    for name, value in BENCH_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Describe the machine a figure was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.system(),
    }


def emit(figure: str, value: float | None, unit: str, target: float, **details: Any) -> dict:
    """Print one JSON line for a figure; it passes when ``value`` is at most ``target``."""
    passed = value is not None and value <= target
    line = {
        "figure": figure,
        "value": value,
        "unit": unit,
        "target": target,
        "pass": passed,
        **details,
        "machine": machine(),
        "load_average": load_average(),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return line


def database_name() -> str:
    from django.db import connection

    return connection.settings_dict["NAME"]


def check_bench_database() -> None:
    """Raise SystemExit unless the database's name contains "bench"."""
    name = str(database_name())
    if "bench" not in name:
        raise SystemExit(
            f"database {name!r} is not a benchmark database: the benchmarks replace every "
            "account, so point DATABASE_URL at a database whose name contains 'bench'."
        )


def dataset_segment() -> None:
    """Give every account a deterministic score, tier, route, geography and tag in SQL.

    Scoring a million accounts through the segmentation engine takes minutes, and these
    benchmarks read segments, so the values are spread by the account id: about 30% of
    accounts are high tier on the Outbound route, 30% medium with no route, 40% low on
    the Nurture route, and each tag "Segment 0" … "Segment 9" contains a tenth of them.
    """
    from django.db import connection

    from accounts.models import Account

    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET
                score = (id * 7919) %% 101,
                tier = CASE WHEN (id * 7919) %% 101 >= 70 THEN 'high'
                            WHEN (id * 7919) %% 101 >= 40 THEN 'medium' ELSE 'low' END,
                route = CASE WHEN (id * 7919) %% 101 >= 70 THEN %s
                             WHEN (id * 7919) %% 101 >= 40 THEN '' ELSE 'Nurture' END,
                geography = CASE WHEN country IN ('US', 'CA', 'MX') THEN 'North America'
                                 WHEN country IN ('SG', 'AU', 'JP', 'IN') THEN 'APAC'
                                 WHEN country = '' THEN '' ELSE 'EMEA' END,
                tag = 'Segment ' || (id %% {TAG_COUNT}),
                scored_at = now()
            """,
            [ROUTE_OUTBOUND],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def dataset_ensure(count: int, seed: int = 1) -> None:
    """Fill the database with ``count`` synthetic, segmented accounts unless it has them.

    Accounts come from the COPY-based generator of benchmarks/resegment.py. A database
    that already contains exactly ``count`` accounts segmented this way is kept.
    """
    from accounts.models import Account

    check_bench_database()
    current = Account.objects.count()
    segmented = Account.objects.filter(route=ROUTE_OUTBOUND, tag=CSV_TAG).exists()
    if current == count and segmented:
        return
    from resegment import create_accounts

    started = time.perf_counter()
    sys.stderr.write(f"creating {count} synthetic accounts in {database_name()}" + "\n")
    create_accounts(count, seed)
    dataset_segment()
    sys.stderr.write(f"created in {time.perf_counter() - started:.1f} s" + "\n")


def bench_user(username: str, role: str) -> Any:
    """Return an active user with ``role`` and the bench password, creating it if needed."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_active = True
    user.set_password(BENCH_PASSWORD)
    user.save()
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


def marketing_token() -> str:
    """Return the key of a new read token of the Marketing bench user."""
    from accounts import roles
    from integrations.services.tokens import api_token_create

    user = bench_user("bench-marketing", roles.MARKETING)
    _, key = api_token_create(user=user, name="benchmark", scopes=["read"])
    return key


def session_cookie(username: str, role: str) -> str:
    """Return a ``Cookie`` header value of a signed-in session of a bench user."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(bench_user(username, role))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_memory_mb(pid: int) -> dict[str, float]:
    """Return the current (VmRSS) and peak (VmHWM) resident memory of a process in MB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_mb": values.get("VmHWM", 0.0)}


class GunicornServer:
    """Gunicorn serving the portal on 127.0.0.1 with DEBUG off, stopped on exit."""

    def __init__(self, workers: int = 2, threads: int = 1, timeout: int = 120) -> None:
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).with_name("gunicorn")),
            "icp_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            str(self.timeout),
            "--log-level",
            "warning",
        ]

    def start(self) -> GunicornServer:
        environment = {**os.environ, **BENCH_ENVIRONMENT}
        self.process = subprocess.Popen(
            self.command(),
            cwd=PROJECT_DIR,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}: {self.output()}"
                )
            if len(self.worker_pids()) == self.workers and self._responds():
                return self
            time.sleep(0.3)
        output = self.output()
        self.stop()
        raise RuntimeError(f"gunicorn did not respond on {self.url} within 60 s: {output}")

    def _responds(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/api/v1/", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", errors="replace")[-4000:]

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def workers_memory(self) -> dict[int, dict[str, float]]:
        return {pid: process_memory_mb(pid) for pid in self.worker_pids()}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def wrk_script():
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        yield script.name


def wrk_run(
    base_url: str,
    first_path: str,
    *,
    connections: int,
    seconds: int,
    header: tuple[str, str] | None = None,
    follow_next: bool = False,
    paths: list[str] | None = None,
) -> dict[str, Any]:
    """Run wrk for ``seconds`` and return its request count, errors and latency percentiles.

    With ``follow_next`` each thread follows the ``next`` links of the JSON pages. With
    ``paths`` the requests cycle through those paths. Errors count socket errors,
    timeouts and responses with a status of 400 or more.
    """
    threads = min(connections, os.cpu_count() or 1)
    environment = {
        **os.environ,
        "BENCH_FIRST_PATH": first_path,
        "BENCH_PATHS": "|".join(paths or []),
        "BENCH_FOLLOW": "1" if follow_next else "0",
        "BENCH_HEADER_NAME": header[0] if header else "",
        "BENCH_HEADER_VALUE": header[1] if header else "",
    }
    with wrk_script() as script:
        command = [
            "wrk",
            "--threads",
            str(threads),
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--script",
            script,
            base_url + first_path,
        ]
        completed = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=seconds + 60
        )
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            result = json.loads(line.removeprefix("WRK_JSON "))
            result["errors"] = (
                sum(
                    result[name]
                    for name in ("connect_errors", "read_errors", "write_errors", "status_errors")
                )
                + result["timeouts"]
            )
            result["requests_per_s"] = round(result["requests"] / result["duration_s"], 1)
            return result
    raise RuntimeError(f"wrk printed no result (exit {completed.returncode}): {completed.stderr}")


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="Synthetic accounts.")
    parser.add_argument("--seconds", type=int, default=20, help="Length of one wrk run in s.")
    parser.add_argument("--repeat", type=int, default=3, help="wrk runs; the median is kept.")
    parser.add_argument(
        "--connections", type=int, default=1, help="Clients pulling at the same time."
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument("--small", action="store_true", help="10,000 accounts, 2 runs of 5 s.")
    args = parser.parse_args()
    if args.small:
        args.accounts, args.seconds, args.repeat = 10_000, 5, 2
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is missing: set it to a PostgreSQL database named *bench*.")

    setup_django()
    dataset_ensure(args.accounts)
    token = marketing_token()
    path = f"/api/v1/segments/routes/{ROUTE_OUTBOUND}/members/?page_size=100"
    runs = []
    with GunicornServer(workers=args.workers) as server:
        # One short run first, so connections and caches are warm for the measured runs.
        wrk_run(
            server.url,
            path,
            connections=1,
            seconds=2,
            header=("Authorization", f"Bearer {token}"),
            follow_next=True,
        )
        for _ in range(args.repeat):
            runs.append(
                wrk_run(
                    server.url,
                    path,
                    connections=args.connections,
                    seconds=args.seconds,
                    header=("Authorization", f"Bearer {token}"),
                    follow_next=True,
                )
            )
            runs[-1]["load_average"] = load_average()
    emit(
        "api_pull_p95",
        median_of(runs, "p95_ms"),
        "ms",
        30,
        accounts=args.accounts,
        page_size=100,
        path=path,
        connections=args.connections,
        gunicorn_workers=args.workers,
        median_p50_ms=median_of(runs, "p50_ms"),
        median_requests_per_s=median_of(runs, "requests_per_s"),
        errors=sum(run["errors"] for run in runs),
        runs=runs,
    )


if __name__ == "__main__":
    main()
