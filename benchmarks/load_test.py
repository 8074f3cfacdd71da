"""Load-test the account list page and the segment API with 20 concurrent clients.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python benchmarks/load_test.py --accounts 1000000 --seconds 60

The script starts gunicorn on 127.0.0.1 with DEBUG off and runs ``wrk`` twice, one run
after the other, each with --connections clients for --seconds:

- list page: ``/accounts/`` as a signed-in Sales Ops user, cycling through filter
  combinations, page sizes and pages;
- segment API: ``/api/v1/segments/routes/Outbound/members/`` with a Marketing read
  token, each client following the ``next`` links.

An error is a socket error, a timeout (10 s) or a response with a status of 400 or more.
It prints one JSON line per target with the error count and the p95 latency.
"""

from __future__ import annotations

import argparse
import os

from api_pull import (
    ROUTE_OUTBOUND,
    GunicornServer,
    dataset_ensure,
    emit,
    load_average,
    marketing_token,
    session_cookie,
    setup_django,
    wrk_run,
)

LIST_FILTERS = (
    "tier=high&geography=EMEA",
    "tier=medium",
    "geography=APAC&ordering=-score",
    "route=Nurture&tier=low",
    "",
)


def list_paths() -> list[str]:
    paths = []
    for filters in LIST_FILTERS:
        for page_size, page in ((25, 1), (50, 3), (100, 10)):
            query = "&".join(
                part for part in (filters, f"page_size={page_size}&page={page}") if part
            )
            paths.append(f"/accounts/?{query}")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="Synthetic accounts.")
    parser.add_argument("--seconds", type=int, default=60, help="Length of each wrk run in s.")
    parser.add_argument("--connections", type=int, default=20, help="Concurrent clients.")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes.")
    parser.add_argument("--small", action="store_true", help="10,000 accounts, 10 s per run.")
    args = parser.parse_args()
    if args.small:
        args.accounts, args.seconds = 10_000, 10
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is missing: set it to a PostgreSQL database named *bench*.")

    setup_django()
    from accounts import roles

    dataset_ensure(args.accounts)
    token = marketing_token()
    cookie = session_cookie("bench-salesops", roles.SALES_OPS)
    paths = list_paths()
    api_path = f"/api/v1/segments/routes/{ROUTE_OUTBOUND}/members/?page_size=100"

    with GunicornServer(workers=args.workers, timeout=30) as server:
        list_run = wrk_run(
            server.url,
            paths[0],
            connections=args.connections,
            seconds=args.seconds,
            header=("Cookie", cookie),
            paths=paths,
        )
        list_load = load_average()
        api_run = wrk_run(
            server.url,
            api_path,
            connections=args.connections,
            seconds=args.seconds,
            header=("Authorization", f"Bearer {token}"),
            follow_next=True,
        )
        api_load = load_average()

    common = {
        "accounts": args.accounts,
        "connections": args.connections,
        "seconds": args.seconds,
        "gunicorn_workers": args.workers,
    }
    for figure, run, load, target_path in (
        ("load_list_page_errors", list_run, list_load, "/accounts/ (15 URLs)"),
        ("load_segment_api_errors", api_run, api_load, api_path),
    ):
        emit(
            figure,
            run["errors"],
            "errors",
            0,
            path=target_path,
            p95_ms=run["p95_ms"],
            p50_ms=run["p50_ms"],
            requests=run["requests"],
            requests_per_s=run["requests_per_s"],
            load_average_after_run=load,
            wrk=run,
            **common,
        )


if __name__ == "__main__":
    main()
