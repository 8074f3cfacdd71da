"""Where each account value came from."""

from django.conf import settings
from django.db import models


class Observation(models.Model):
    """One value for one account field, as one source reported it.

    ``source`` names the provider or dataset family (two exports of one provider are
    one source); ``source_detail`` names the file or request it came from.
    """

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="observations",
    )
    field = models.CharField(max_length=50)
    value = models.JSONField(null=True, blank=True)
    raw_value = models.TextField(blank=True, default="")
    source = models.CharField(max_length=50)
    source_detail = models.CharField(max_length=255, blank=True, default="")
    observed_at = models.DateTimeField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set when a person entered or accepted the value.",
    )

    class Meta:
        ordering = ["account", "field", "-observed_at", "-id"]
        indexes = [
            models.Index(fields=["account", "field"], name="observation_account_field_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}.{self.field} = {self.value!r} ({self.source})"
