"""Celery tasks of the governance app."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from .history import Channel, change_channel
from .periods import parse_month, previous_month
from .services import monthly_audit_run

logger = logging.getLogger(__name__)


@shared_task
def monthly_audit_run_task(month: str | None = None, triggered_by_id: int | None = None) -> int:
    """Audit ``month`` (YYYY-MM), by default the previous month in the team's time zone.

    Returns the AuditRun id. The beat schedule calls it without arguments at 03:00 on the
    first day of each month.
    """
    audited = parse_month(month) if month else previous_month()
    user = None
    if triggered_by_id is not None:
        user = get_user_model().objects.filter(pk=triggered_by_id).first()
    with change_channel(Channel.TASK):
        run = monthly_audit_run(month=audited, triggered_by=user)
    return run.pk
