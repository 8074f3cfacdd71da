"""Benchmark the account list page (/accounts/) with two filters, in process.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python benchmarks/list_page.py --accounts 1000000 --repeat 7

The Django test client requests ``/accounts/?tier=high&geography=EMEA`` as a signed-in
Sales Ops user, so the time is the server's own: middleware, queries and template, with
no network. At page sizes 25 and 100 it times page 1, the deepest page reached through
the Next link of the page before it (an ``after`` cursor, as a user paging reaches it)
and the deepest page by its number alone (``page=100``, skipped with OFFSET, as a typed
URL or the Last link reaches it). Each URL is requested --repeat times after one warm-up
request. CaptureQueriesContext counts the queries of each page size. A query count that
grows with the page size means a query per row.

It prints one JSON line for the median server time of the slowest page reached through
links, and one for the query counts. The numbered deep pages are in ``pages`` of the
first line.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import time

from api_pull import dataset_ensure, emit, load_average, setup_django

FILTERS = "tier=high&geography=EMEA"
PAGE_SIZES = (25, 100)
# Page 1 and a page deep in the results, where OFFSET makes the database skip rows. The
# list counts at most 10,000 matches (selectors.LIST_COUNT_CAP), so page 100 at 100 per
# page is the deepest page there is, and a larger number shows that page.
PAGES = (1, 100)


def next_link(client, url: str) -> str:
    """Return the URL of the Next link on the page at ``url``."""
    response = client.get(url)
    match = re.search(r'href="(\?[^"]*)" rel="next"', response.content.decode())
    if match is None:
        raise RuntimeError(f"GET {url} has no Next link, expected one")
    return "/accounts/" + html.unescape(match.group(1))


def timed_get(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} returned {response.status_code}, expected 200")
    return elapsed_ms, len(response.content)


def query_count(client, url: str) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured), [query["sql"] for query in captured.captured_queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="Synthetic accounts.")
    parser.add_argument("--repeat", type=int, default=7, help="Requests per page; median kept.")
    parser.add_argument("--small", action="store_true", help="10,000 accounts, 3 requests.")
    parser.add_argument(
        "--show-queries", action="store_true", help="Print the SQL of each page size."
    )
    parser.add_argument(
        "--filters",
        default=FILTERS,
        help="Query string of the filters, such as tier=high&tag_contains=segment. "
        f"Default: {FILTERS}.",
    )
    args = parser.parse_args()
    filters = args.filters
    if args.small:
        args.accounts, args.repeat = 10_000, 3
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is missing: set it to a PostgreSQL database named *bench*.")

    setup_django()
    from api_pull import bench_user
    from django.test import Client

    from accounts import roles

    dataset_ensure(args.accounts)
    client = Client()
    client.force_login(bench_user("bench-salesops", roles.SALES_OPS))

    timings = {}
    linked = []
    for page_size in PAGE_SIZES:
        deepest = max(PAGES)
        urls = [f"/accounts/?{filters}&page_size={page_size}&page={page}" for page in PAGES]
        through_link = next_link(
            client, f"/accounts/?{filters}&page_size={page_size}&page={deepest - 1}"
        )
        urls.insert(1, through_link)
        for url in urls:
            timed_get(client, url)
            samples = [timed_get(client, url)[0] for _ in range(args.repeat)]
            timings[url] = {
                "median_ms": round(statistics.median(samples), 1),
                "min_ms": round(min(samples), 1),
                "max_ms": round(max(samples), 1),
                "load_average": load_average(),
            }
        linked += [timings[urls[0]], timings[through_link]]
    slowest = max(linked, key=lambda timing: timing["median_ms"])
    emit(
        "list_page_server_time",
        slowest["median_ms"],
        "ms",
        150,
        accounts=args.accounts,
        filters=filters,
        repeat=args.repeat,
        pages=timings,
    )

    counts = {}
    for page_size in PAGE_SIZES:
        url = f"/accounts/?{filters}&page_size={page_size}"
        counts[page_size], queries = query_count(client, url)
        if args.show_queries:
            sys.stderr.write(f"-- page_size={page_size}: {counts[page_size]} queries\n")
            for sql in queries:
                sys.stderr.write(sql + "\n")
    growth = counts[PAGE_SIZES[-1]] - counts[PAGE_SIZES[0]]
    emit(
        "list_page_query_growth",
        growth,
        "queries",
        0,
        accounts=args.accounts,
        query_counts={str(size): count for size, count in counts.items()},
    )


if __name__ == "__main__":
    main()
