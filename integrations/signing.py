"""Webhook signatures: HMAC-SHA256 of the timestamp and the raw request body.

The ``X-ICP-Signature`` header reads ``t=<unix seconds>,v1=<hex digest>``. The digest is
HMAC-SHA256, keyed with the subscription's secret, of ``<t>.`` followed by the raw body
bytes. Including the timestamp lets receivers reject replays of old deliveries.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-ICP-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature_compute(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the value of the ``X-ICP-Signature`` header for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature_compute(secret, timestamp, body)}"


def signature_verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Return True when ``header`` signs ``body`` with ``secret`` within the time tolerance."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = signature_compute(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
