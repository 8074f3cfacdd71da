"""Benchmark enrichment against a local fake provider: rate limit kept, rate-bound speed.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench_api SECRET_KEY=bench \\
        .venv/bin/python benchmarks/enrich_rate.py --enrich 10000 --rate 2000

The script starts the fake provider server of tests/enrichment/fake_server.py on
127.0.0.1, which returns a company for Clearbit's ``/v2/companies/find``. It creates an
enrichment run over the first --enrich accounts and starts --workers processes. Each
one calls ``accounts_enrich`` on its share of the run, in chunks of --chunk accounts,
with Clearbit's ``rate_limit_per_minute`` set to --rate and the Redis rate limiter on
--redis-url, as Celery workers would. Accounts left pending by a rate-limit wait are
retried after the wait the service returns.

The server records each request's arrival time. The script checks that no 60-second
window, sliding from any request, holds more than --rate requests, and compares the
run's length with its floor: a run of N requests at a limit of L per minute cannot end
sooner than floor((N - 1) / L) minutes after its first request.

It prints one JSON line for the most requests in a window and one for the run's length.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from api_pull import PROJECT_DIR, dataset_ensure, emit, load_average, setup_django

WINDOW_SECONDS = 60.0
RATE_LIMIT_KEY = "clearbit"
FIND_PATH = "/v2/companies/find"
# Redis database of the benchmark's rate-limit key, apart from the broker's and the tests'.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
# Accepted slack on the run's length over its floor: the last requests of each window
# wait for the database work of the accounts before them.
DURATION_SLACK = 1.25


def provider_settings(base_url: str, rate: int) -> dict:
    return {
        "clearbit": {
            "api_key": "bench-key",
            "base_url": base_url,
            "rate_limit_per_minute": rate,
            # Longer than one window, so a worker waits for a slot instead of giving up.
            "max_rate_limit_wait_seconds": WINDOW_SECONDS * 2,
            "timeout": [2, 5],
        }
    }


def configure(base_url: str, rate: int, redis_url: str) -> None:
    from django.conf import settings

    settings.ENRICHMENT_PROVIDERS = provider_settings(base_url, rate)
    settings.ENRICHMENT_RATE_LIMIT_REDIS_URL = redis_url
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    settings.ENRICHMENT_CACHE_SECONDS = 0


def run_worker(args: argparse.Namespace) -> None:
    """Enrich this worker's share of the run's accounts and print a JSON summary."""
    setup_django()
    configure(args.base_url, args.rate, args.redis_url)
    from enrichment.models import EnrichmentRun
    from enrichment.services import accounts_enrich, enrichment_run_pending_ids

    run = EnrichmentRun.objects.get(pk=args.run)
    ids = enrichment_run_pending_ids(run)[args.worker_index :: args.worker_count]
    looked_up = errors = waits = 0
    pending = list(ids)
    deadline = time.monotonic() + args.timeout
    while pending and time.monotonic() < deadline:
        chunk, pending = pending[: args.chunk], pending[args.chunk :]
        batch = accounts_enrich(
            provider="clearbit", account_ids=chunk, run=run, final_attempt=False
        )
        looked_up += batch.looked_up
        errors += batch.errors
        if batch.retry_ids:
            waits += 1
            pending = batch.retry_ids + pending
            time.sleep(batch.retry_after or 1)
    summary = {
        "worker": args.worker_index,
        "accounts": len(ids),
        "looked_up": looked_up,
        "errors": errors,
        "rate_limit_waits": waits,
        "left": len(pending),
    }
    sys.stdout.write(json.dumps(summary) + "\n")


def max_in_window(times: list[float], window: float) -> int:
    """Return the most arrivals in any half-open interval [t, t + window) starting at one."""
    ordered = sorted(times)
    return max(
        (
            bisect.bisect_left(ordered, start + window) - index
            for index, start in enumerate(ordered)
        ),
        default=0,
    )


def reset_limiter(redis_url: str) -> None:
    import redis

    from enrichment.providers.ratelimit import RedisRateLimiter

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    client.delete(RedisRateLimiter.key_prefix + RATE_LIMIT_KEY)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="Synthetic accounts.")
    parser.add_argument("--enrich", type=int, default=10_000, help="Accounts to enrich.")
    parser.add_argument("--rate", type=int, default=2000, help="Provider limit per minute.")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes.")
    parser.add_argument("--chunk", type=int, default=50, help="Accounts per accounts_enrich call.")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis of the limiter.")
    parser.add_argument(
        "--timeout", type=float, default=900, help="Maximum length of the run in seconds."
    )
    parser.add_argument("--small", action="store_true", help="10,000 accounts, 150 at 100/min.")
    parser.add_argument("--worker", dest="run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-count", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run is not None:
        run_worker(args)
        return
    if args.small:
        args.accounts, args.enrich, args.rate = 10_000, 150, 100
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is missing: set it to a PostgreSQL database named *bench*.")

    setup_django()
    sys.path.insert(0, str(PROJECT_DIR))
    from accounts.models import Account
    from tests.enrichment.fake_server import FakeResponse, FakeServer
    from tests.enrichment.payloads import CLEARBIT_COMPANY

    dataset_ensure(args.accounts)
    reset_limiter(args.redis_url)
    ids = list(Account.objects.order_by("id").values_list("id", flat=True)[: args.enrich])

    with FakeServer() as server:
        server.route("GET", FIND_PATH, FakeResponse(json=CLEARBIT_COMPANY))
        configure(server.url, args.rate, args.redis_url)
        from enrichment.services import enrichment_run_create

        run = enrichment_run_create(provider="clearbit", account_ids=ids)
        started = time.monotonic()
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--worker",
                    str(run.pk),
                    "--worker-index",
                    str(index),
                    "--worker-count",
                    str(args.workers),
                    "--base-url",
                    server.url,
                    "--rate",
                    str(args.rate),
                    "--redis-url",
                    args.redis_url,
                    "--chunk",
                    str(args.chunk),
                    "--timeout",
                    str(args.timeout),
                ],
                cwd=PROJECT_DIR,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(args.workers)
        ]
        summaries = []
        for worker in workers:
            output, _ = worker.communicate(timeout=args.timeout + 120)
            lines = [line for line in output.splitlines() if line.startswith("{")]
            summaries.append(json.loads(lines[-1]) if lines else {"exit": worker.returncode})
        elapsed = time.monotonic() - started
        arrivals = server.timestamps(FIND_PATH)

    count = len(arrivals)
    span = max(arrivals) - min(arrivals) if arrivals else 0.0
    floor = ((count - 1) // args.rate) * WINDOW_SECONDS if count else 0.0
    common = {
        "accounts_enriched": args.enrich,
        "requests": count,
        "rate_limit_per_minute": args.rate,
        "workers": args.workers,
        "workers_summary": summaries,
    }
    emit(
        "enrich_max_requests_per_window",
        max_in_window(arrivals, WINDOW_SECONDS),
        "requests per 60 s",
        args.rate,
        **common,
    )
    emit(
        "enrich_duration",
        round(span, 1),
        "s",
        round(floor * DURATION_SLACK + 10, 1),
        floor_s=floor,
        wall_clock_s=round(elapsed, 1),
        load_average_after_run=load_average(),
        **common,
    )


if __name__ == "__main__":
    main()
