"""Celery tasks of the accounts app."""

import logging

from celery import shared_task

from accounts.models import ImportRun
from accounts.services import accounts_import

logger = logging.getLogger(__name__)


@shared_task
def accounts_import_task(import_run_id: int) -> int:
    """Run a pending ImportRun created by import_run_create; return its id.

    A run that is no longer pending (a redelivered task) is left as it is.
    """
    import_run = ImportRun.objects.filter(pk=import_run_id).first()
    if import_run is None:
        logger.warning("import run %s was not found; nothing imported", import_run_id)
        return import_run_id
    if import_run.status != ImportRun.Status.PENDING:
        logger.info(
            "import run %s is %s, not pending; nothing imported", import_run_id, import_run.status
        )
        return import_run_id
    accounts_import(import_run=import_run)
    return import_run_id
