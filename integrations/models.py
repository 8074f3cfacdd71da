"""API tokens, saved segments and webhook subscriptions for the tools that use the REST API."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiToken(models.Model):
    """A personal API key of one user, limited to its scopes.

    ``read`` allows GET requests. ``segments`` also allows creating, changing and deleting
    the user's own saved segments, and ``write`` allows every change that the role allows,
    saved segments included.

    Only the SHA-256 digest of the key is stored. The key itself is shown once, when the
    token is created. ``key_prefix`` (the first characters of the key) identifies a token
    in lists without revealing it.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        SEGMENTS = "segments", "Segments"
        WRITE = "write", "Write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        max_length=100, help_text="What the token is for, such as HubSpot sync."
    )
    key_prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(
        default=list, help_text='["read"], ["read", "segments"] or ["read", "write"].'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Empty for a token that does not expire.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…) of {self.user}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class SavedSegment(models.Model):
    """A named account filter, such as "FinTech in EMEA, High tier", that tools can pull.

    ``filters`` contains parameters of ``AccountFilterSet`` (the account list's filters), for
    example ``{"tier": "high", "geography": "EMEA"}``. A shared segment is visible to every
    user who may read accounts; only its owner changes it.
    """

    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_segments",
    )
    is_shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedsegment_unique_name"),
        ]
        indexes = [models.Index(fields=["is_shared"], name="savedsegment_shared_idx")]

    def __str__(self) -> str:
        return self.name


class WebhookEvent(models.TextChoices):
    TIER_CHANGED = "account.tier_changed", "An account's tier changed"
    TAG_CHANGED = "account.tag_changed", "An account's tag changed"


class WebhookSubscription(models.Model):
    """A URL that receives a signed POST when an account's tier or tag changes.

    ``secret`` keys the HMAC-SHA256 signature of each delivery. It is stored in clear text
    because the portal signs with it, and it is shown once, when the subscription is created.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, editable=False)
    events = models.JSONField(
        default=list,
        help_text="Event types to send: account.tier_changed and/or account.tag_changed.",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"


class WebhookDelivery(models.Model):
    """One event sent, or still to be sent, to one subscription, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed after the last retry"

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=50, default="account.segment_changed")
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="HTTP status of the last attempt; empty when no response arrived.",
    )
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(
        blank=True,
        default="",
        help_text="Why the last attempt failed, such as a timeout or a rejected address.",
    )
    next_retry_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"],
                name="webhookdelivery_unique_event",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_retry_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_due_idx",
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhookdelivery_sub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.subscription_id} ({self.status})"


class WebhookCursor(models.Model):
    """The id of the last ScoreRecord that the webhook dispatcher has scanned."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"
