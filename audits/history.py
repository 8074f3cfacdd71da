"""The change channel recorded on every history row: page, admin, API, import or task.

django-simple-history records who changed a row and when. This module adds through what:
the middleware sets the channel per request, and imports and Celery tasks set it with
``change_channel``. Code that sets no channel, such as a shell session, records "shell".
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


@receiver(pre_create_historical_record)
def record_change_channel(sender, history_instance, **kwargs) -> None:
    history_instance.history_channel = current_channel()
