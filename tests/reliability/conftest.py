"""Real Celery workers on Redis and PostgreSQL for the failure tests.

Workers run ``worker.py`` in a subprocess on a queue of their own, against the test
database, with the broker on Redis database 13 (``ICP_RELIABILITY_BROKER_URL`` overrides
it). Tests that need them are skipped on SQLite, because a second process cannot see the
test's rows there, and when Redis does not respond.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from .data import reload_migration_data

ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
BROKER_URL = os.environ.get("ICP_RELIABILITY_BROKER_URL", "redis://127.0.0.1:6379/13")
# A local port where nothing listens, to play a Redis server that is down.
CLOSED_BROKER_URL = "redis://127.0.0.1:6390/0"
# Upper bound for a worker to finish what a test gave it. The tests wait for a state and
# stop as soon as it is reached, so this only limits a hung run.
WAIT_SECONDS = float(os.environ.get("ICP_RELIABILITY_WAIT_SECONDS", "180"))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash test passwords with MD5: the default PBKDF2 costs most of each test's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def migration_data(transactional_db):
    """Load the role groups, industries and approved framework that migrations create."""
    reload_migration_data()


def redis_error(url: str) -> str | None:
    """Return why the Redis server at ``url`` cannot be used, or None when it responds to PING."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        return str(error)
    return None


def test_database_url() -> str:
    """Return a URL of the database this test process uses, for a worker subprocess."""
    settings = connection.settings_dict
    credentials = settings["USER"] or ""
    if settings.get("PASSWORD"):
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or "5432"
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture
def services_required(migration_data):
    """Skip unless the test database is PostgreSQL and the Redis broker responds."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: a worker process cannot see the rows of an SQLite test "
            "database. Set DATABASE_URL to a PostgreSQL server."
        )
    problem = redis_error(BROKER_URL)
    if problem:
        pytest.skip(f"needs the Redis broker at {BROKER_URL}, which did not respond: {problem}")


class Workers:
    """Start worker subprocesses on one queue and stop them all at the end of the test."""

    def __init__(self, log_folder: Path) -> None:
        self.queue = f"reliability-{uuid.uuid4().hex[:12]}"
        self.log_folder = log_folder
        self.processes: list[subprocess.Popen] = []

    def start(self, *, die_in: str = "", visibility_timeout: int | None = None, **env: str):
        """Start a worker; ``die_in`` is ICP_TEST_DIE_IN of worker.py."""
        number = len(self.processes) + 1
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "reliability-test-secret",
            "ICP_TEST_DIE_IN": die_in,
            **env,
        }
        environment.pop("CELERY_RESULT_BACKEND", None)
        if visibility_timeout is not None:
            environment["ICP_TEST_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        log = (self.log_folder / f"worker-{number}.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname=reliability-{number}-{uuid.uuid4().hex[:8]}@localhost",
                "-Q",
                self.queue,
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def log(self, process: subprocess.Popen) -> str:
        number = self.processes.index(process) + 1
        return (self.log_folder / f"worker-{number}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=20)


@pytest.fixture
def workers(services_required, tmp_path):
    import redis

    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()
    client = redis.Redis.from_url(BROKER_URL)
    queue = pool.queue
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    # Drop this test's unacknowledged messages so that no later worker restores them.
    for tag, payload in client.hgetall("unacked").items():
        if pool.queue.encode() in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def send_task(workers) -> Callable[..., None]:
    """Return a function that queues a task by name for the test's workers."""
    from celery import Celery

    # Not the current app: shared tasks of later tests in this process must keep using the
    # portal's app, which runs them eagerly.
    sender = Celery("reliability-sender", broker=BROKER_URL, set_as_current=False)

    def send(name: str, *args) -> None:
        sender.send_task(name, args=list(args), queue=workers.queue)

    yield send
    sender.close()


def wait_until(
    condition: Callable[[], bool], description: str, *, process=None, workers=None
) -> None:
    """Poll ``condition`` until it holds, or fail after WAIT_SECONDS with the worker's log."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    log = workers.log(process) if workers and process else ""
    pytest.fail(f"timed out after {WAIT_SECONDS:.0f} s waiting until {description}\n{log[-4000:]}")
