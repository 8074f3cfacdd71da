"""Outgoing webhook requests: URL checks against private addresses, and the POST itself.

A subscriber URL is checked when it is subscribed and again before each delivery, since
its DNS records may change. The connection also checks the address it actually reached,
so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
reach a private address either.
"""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings

from enrichment.website import AddressPolicy, guarded_adapter, rejected_address_clause

logger = logging.getLogger(__name__)

USER_AGENT = "ICP-Portal-Webhooks/1.0"
RESPONSE_EXCERPT_CHARS = 500
_RESPONSE_READ_BYTES = 4096


class DisallowedWebhookURL(ValueError):
    """A webhook URL with a scheme or address that the portal does not send to."""


def address_policy() -> AddressPolicy:
    """Return the address rule of ``settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES``."""
    return AddressPolicy(
        allow_private=bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False))
    )


def webhook_url_check(url: str) -> None:
    """Raise DisallowedWebhookURL unless ``url`` is http(s) and its host resolves only to
    public addresses (or any address when WEBHOOK_ALLOW_PRIVATE_ADDRESSES is True).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DisallowedWebhookURL(
            f"The URL {url!r} uses the scheme {scheme or 'none'!r}: use an http:// or https:// URL."
        )

    host = parts.hostname or ""
    if not host:
        raise DisallowedWebhookURL(f"The URL {url!r} has no host name: add one.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise DisallowedWebhookURL(f"The URL {url!r} has an invalid port ({error}).") from error

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DisallowedWebhookURL(
            f"The host {host} of {url!r} could not be resolved ({error}): check the URL."
        ) from error

    policy = address_policy()
    for address in sorted({str(info[4][0]) for info in infos}):
        reason = policy.rejection_reason(address)
        if reason:
            clause = rejected_address_clause(host, address, reason, verb="resolves to")
            raise DisallowedWebhookURL(
                f"The URL {url!r} was rejected because {clause}. Webhooks go to public "
                "addresses only. WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True lifts this for local "
                "development and tests."
            )


class _DisallowedPeer(requests.ConnectionError):
    """The connection reached an address that the policy rejects."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        clause = rejected_address_clause(host, address, reason, verb="connected to")
        super().__init__(f"The connection was rejected because {clause}.")


def webhook_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST ``body`` to ``url`` without following redirects; return the status and an excerpt.

    Raises DisallowedWebhookURL for a rejected URL or address and requests.RequestException
    for timeouts and connection errors.
    """
    webhook_url_check(url)
    policy = address_policy()
    with requests.Session() as session:
        adapter = guarded_adapter(policy, _DisallowedPeer)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            response = session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except _DisallowedPeer as error:
            raise DisallowedWebhookURL(str(error)) from error
        except requests.ConnectionError as error:
            # urllib3 wraps an exception raised while connecting, so look for ours inside.
            cause: BaseException | None = error
            while cause is not None:
                if isinstance(cause, _DisallowedPeer):
                    raise DisallowedWebhookURL(str(cause)) from error
                cause = cause.__cause__ or cause.__context__
            raise
        with response:
            raw = response.raw.read(_RESPONSE_READ_BYTES, decode_content=True) or b""
        excerpt = raw.decode(response.encoding or "utf-8", errors="replace")
        return response.status_code, excerpt[:RESPONSE_EXCERPT_CHARS]
