"""Run a Celery worker of the portal that can kill itself with SIGKILL at a chosen point.

The reliability tests start this script as a subprocess instead of ``celery worker`` so
that the worker dies at the same place on every run, not after a guessed delay:

- ``ICP_TEST_DIE_IN=segmentation:N`` kills the worker when it is about to write the Nth
  batch of score results, inside that batch's open transaction.
- ``ICP_TEST_DIE_IN=import:N`` does the same for the Nth batch of imported rows, which the
  importer may write from a background thread: the whole process dies either way.
- ``ICP_TEST_IMPORT_BATCH_SIZE`` sets the rows per import batch (default: the importer's).
- ``ICP_TEST_VISIBILITY_TIMEOUT`` sets the seconds after which Redis hands an unacknowledged
  task to another worker (Celery's default is one hour).

Every other argument goes to ``celery worker``.
"""

import functools
import os
import signal
import sys


def die_on_call(function, call_number: int):
    """Wrap ``function`` so that its ``call_number``-th call kills this process first."""
    calls = 0

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == call_number:
            sys.stderr.write(f"worker.py: SIGKILL at call {calls} of {function.__name__}\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, **kwargs)

    return wrapper


def install_hooks() -> None:
    import accounts.importing.batches
    import accounts.services
    import accounts.tasks
    import segmentation.services
    from icp_portal.celery import app

    die_in = os.environ.get("ICP_TEST_DIE_IN", "")
    if die_in:
        where, _, number = die_in.partition(":")
        if where == "segmentation":
            target, name = segmentation.services, "results_write"
        elif where == "import":
            target, name = accounts.importing.batches.PreparedBatch, "execute"
        else:
            raise SystemExit(
                f"ICP_TEST_DIE_IN={die_in!r} is invalid: use segmentation:N or import:N"
            )
        setattr(target, name, die_on_call(getattr(target, name), int(number)))

    batch_size = os.environ.get("ICP_TEST_IMPORT_BATCH_SIZE")
    if batch_size:
        accounts.tasks.accounts_import = functools.partial(
            accounts.services.accounts_import, batch_size=int(batch_size)
        )

    visibility = os.environ.get("ICP_TEST_VISIBILITY_TIMEOUT")
    if visibility:
        app.conf.broker_transport_options = {"visibility_timeout": int(visibility)}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icp_portal.settings")
    import django

    django.setup()
    install_hooks()
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", "-A", "icp_portal", "worker", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
