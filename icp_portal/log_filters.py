"""Logging filters referenced by ``LOGGING`` in the settings."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class PermissionDeniedTracebackFilter(logging.Filter):
    """Drop the traceback from records of a PermissionDenied, keeping their one line.

    Django's ``response_for_exception`` (Django 5.2) logs every 403 of a page to
    ``django.request`` at WARNING with the exception's traceback. A denied request is an
    expected outcome, not a fault, so its path in one line is enough.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and isinstance(exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
