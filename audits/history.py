"""The change channel recorded on every history row: page, admin, API, import or task.

django-simple-history records who changed a row and when. This module adds through what:
the middleware sets the channel per request, and imports and Celery tasks set it with
``change_channel``. Code that sets no channel, such as a shell session, records "shell".
Bulk history writes of django-simple-history record the current channel too.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record


class Channel(models.TextChoices):
    PAGE = "page", "Page"
    ADMIN = "admin", "Admin"
    API = "api", "API"
    IMPORT = "import", "Import"
    TASK = "task", "Task"
    SHELL = "shell", "Shell or script"


_current_channel: contextvars.ContextVar[str] = contextvars.ContextVar(
    "icp_change_channel", default=Channel.SHELL
)


def current_channel() -> str:
    return _current_channel.get()


@contextmanager
def change_channel(channel: str) -> Iterator[None]:
    """Record ``channel`` on history rows written inside the block."""
    token = _current_channel.set(channel)
    try:
        yield
    finally:
        _current_channel.reset(token)


class ChannelHistoricalModel(models.Model):
    """Abstract base for history tables: adds the channel of the change."""

    history_channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        default=Channel.SHELL,
    )

    class Meta:
        abstract = True

    def __init__(self, *args, **kwargs) -> None:
        # bulk_create_with_history and bulk_update_with_history build history rows from
        # keyword arguments and send no pre_create_historical_record signal, so a row
        # without an explicit channel takes the current one here. Rows loaded from the
        # database arrive as positional values and keep their stored channel.
        if not args and "history_channel" not in kwargs:
            kwargs["history_channel"] = current_channel()
        super().__init__(*args, **kwargs)


@receiver(pre_create_historical_record)
def record_change_channel(sender, history_instance, **kwargs) -> None:
    history_instance.history_channel = current_channel()
