"""Shared harness of the benchmarks: Django setup, timing, memory, machine and JSON output.

A benchmark script imports this module from its own folder (``from common import …``),
calls setup_django() before it imports models, and prints each figure with emit(), one
JSON line per figure with the machine and the load average.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Settings for a benchmark process unless the environment sets them.
BENCH_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
    "SECRET_KEY": "bench",
    "DEBUG": "false",
}


def setup_django() -> None:
    """Set up Django against DATABASE_URL, with the project folder on the import path."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    for name, value in BENCH_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()


def database_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])


def check_bench_database() -> None:
    """Raise SystemExit unless DATABASE_URL is PostgreSQL and its name contains "bench"."""
    from django.db import connection

    name = database_name()
    if connection.vendor != "postgresql":
        raise SystemExit(
            f"database {name!r} is {connection.vendor}, not PostgreSQL: set DATABASE_URL, "
            "for example to postgres://postgres@127.0.0.1:5432/icp_bench_import"
        )
    if "bench" not in name:
        raise SystemExit(
            f"database {name!r} is not a benchmark database: the benchmarks replace every "
            "account, so point DATABASE_URL at a database whose name contains 'bench'."
        )


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


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


def backend_cpu_seconds(pid: int) -> float | None:
    """Return the CPU seconds a local process (a PostgreSQL backend) has used, or None.

    None means the process is not on this machine or /proc cannot be read.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # Fields after the command name; utime and stime are the 14th and 15th fields.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    """Wall and CPU seconds of one measured call.

    ``cpu_seconds`` counts every thread of this process. ``server_cpu_seconds`` is the
    CPU time of the database backend of Django's default connection, when it runs on this
    machine.
    """

    seconds: float
    cpu_seconds: float
    server_cpu_seconds: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@contextmanager
def timed(*, with_server: bool = True) -> Iterator[Timing]:
    """Measure the block's wall time, this process's CPU time and the database server's.

    The Timing is filled in when the block ends.
    """
    backend_pid = _backend_pid() if with_server else None
    server_before = backend_cpu_seconds(backend_pid) if backend_pid else None
    timing = Timing(seconds=0.0, cpu_seconds=0.0)
    cpu_started = time.process_time()
    started = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - started
        timing.cpu_seconds = time.process_time() - cpu_started
        if backend_pid and server_before is not None:
            server_after = backend_cpu_seconds(backend_pid)
            if server_after is not None:
                timing.server_cpu_seconds = server_after - server_before


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def time_call(function: Callable[[], Any], *, repeat: int = 1) -> list[float]:
    """Call ``function`` ``repeat`` times and return each call's wall seconds."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, Any]:
    """Describe the machine: CPU model, cores, memory, Python and the database server."""
    description: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "system": platform.system(),
    }
    try:
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                description["postgresql"] = cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - a description without the server version still helps
        pass
    return description


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def emit(
    figure: str,
    value: float | None,
    unit: str,
    target: float | None = None,
    *,
    higher_is_better: bool = False,
    **details: Any,
) -> dict[str, Any]:
    """Print one JSON line for a figure and return it.

    The figure passes when ``value`` is at most ``target``, or at least ``target`` with
    ``higher_is_better``. Without a target, ``pass`` is None.
    """
    if target is None or value is None:
        passed = None if target is None else False
    elif higher_is_better:
        passed = value >= target
    else:
        passed = value <= target
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
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()
    return line
