"""Benchmark streaming a 100,000-account segment as CSV through the REST API.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python benchmarks/csv_stream.py --accounts 1000000 --repeat 3

With 1,000,000 synthetic accounts the tag "Segment 0" contains 100,000 of them. The script
starts gunicorn on 127.0.0.1 with DEBUG off and downloads
``/api/v1/segments/tags/Segment%200/members/?format=csv`` with a Marketing read token,
reading the body as it arrives. It records the client's time to the last byte, the rows
received and each gunicorn worker's resident memory (VmRSS) and peak (VmHWM) before
and after. Flat memory means the peak of the worker that served the download grows by
less than --memory-target MB.

It prints one JSON line for the median download time and one for the largest growth
of a worker's peak memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from urllib.parse import quote

import requests
from api_pull import (
    CSV_TAG,
    GunicornServer,
    dataset_ensure,
    emit,
    load_average,
    marketing_token,
    setup_django,
)


def download(url: str, token: str) -> tuple[float, int, int]:
    """Stream ``url`` and return the seconds to the last byte, the bytes and the data rows."""
    started = time.perf_counter()
    size = 0
    lines = 0
    with requests.get(
        url, headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=120
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    # The first line is the header. Text cells may contain line breaks, which the
    # synthetic accounts do not have.
    return elapsed, size, lines - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="Synthetic accounts.")
    parser.add_argument("--repeat", type=int, default=3, help="Downloads; the median is kept.")
    parser.add_argument(
        "--memory-target", type=float, default=50, help="Allowed growth of a worker's peak, MB."
    )
    parser.add_argument("--small", action="store_true", help="10,000 accounts, 2 downloads.")
    args = parser.parse_args()
    if args.small:
        args.accounts, args.repeat = 10_000, 2
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is missing: set it to a PostgreSQL database named *bench*.")

    setup_django()
    dataset_ensure(args.accounts)
    token = marketing_token()
    path = f"/api/v1/segments/tags/{quote(CSV_TAG)}/members/?format=csv"
    runs = []
    with GunicornServer(workers=2) as server:
        # A first JSON request loads the code paths so the memory baseline includes them.
        requests.get(
            server.url + path.replace("format=csv", "page_size=1"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).raise_for_status()
        for _ in range(args.repeat):
            before = server.workers_memory()
            seconds, size, rows = download(server.url + path, token)
            after = server.workers_memory()
            growth = max(
                after[pid]["peak_mb"] - before[pid]["peak_mb"] for pid in after if pid in before
            )
            runs.append(
                {
                    "seconds": round(seconds, 3),
                    "bytes": size,
                    "rows": rows,
                    "peak_growth_mb": round(growth, 1),
                    "workers_before": before,
                    "workers_after": after,
                    "load_average": load_average(),
                }
            )
    seconds = round(statistics.median(run["seconds"] for run in runs), 3)
    emit(
        "csv_stream_seconds",
        seconds,
        "s",
        3,
        accounts=args.accounts,
        rows=runs[0]["rows"],
        bytes=runs[0]["bytes"],
        path=path,
        runs=runs,
    )
    emit(
        "csv_stream_peak_growth",
        max(run["peak_growth_mb"] for run in runs),
        "MB",
        args.memory_target,
        accounts=args.accounts,
        rows=runs[0]["rows"],
        worker_peak_after_mb=max(
            memory["peak_mb"] for run in runs for memory in run["workers_after"].values()
        ),
    )


if __name__ == "__main__":
    main()
