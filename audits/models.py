"""Governance records: manager reviews, monthly audit findings, severity rules and training."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts import roles
from accounts.models import AccountRecord

from .history import ChannelHistoricalModel
from .periods import month_period


class ReviewSession(models.Model):
    """A manager's review of a fixed sample of accounts that reps segmented in a period.

    The sample is drawn once, when the session is created, and stored as ReviewItems, so
    reopening the session shows the same accounts in the same order.
    """

    DEFAULT_SAMPLE_SIZE = 20
    MAX_SAMPLE_SIZE = 200

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_sessions",
    )
    reps = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    period_start = models.DateField(help_text="First day of accounts segmented, inclusive.")
    period_end = models.DateField(help_text="Last day of accounts segmented, inclusive.")
    sample_size = models.PositiveSmallIntegerField(default=DEFAULT_SAMPLE_SIZE)
    seed = models.BigIntegerField(help_text="Random seed the sample was drawn with.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Review {self.pk} by {self.manager} ({self.period_start} to {self.period_end})"


class ReviewItem(AccountRecord):
    """One sampled account of a review session and the manager's decision on it."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Not reviewed yet"
        CONFIRMED = "confirmed", "Confirmed"
        CORRECTED = "corrected", "Corrected"

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(help_text="Order in the session, from 1.")
    # Kept when the account is deleted, because a decision counts in the rep's accuracy.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        help_text=(
            "Account owner when the sample was drawn, credited with a decision only on a tag "
            "this rep set or a confirmation of an account without a tag, since a "
            "confirmation or correction counts for whoever set the tag."
        ),
    )
    sampled_tag = models.CharField(max_length=200, blank=True, default="")
    sampled_tier = models.CharField(max_length=10, blank=True, default="")
    decision = models.CharField(
        max_length=20,
        choices=Decision.choices,
        default=Decision.PENDING,
    )
    override = models.ForeignKey(
        "accounts.SegmentOverride",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="reviewitem_unique_position"
            ),
            models.UniqueConstraint(
                fields=["session", "account"], name="reviewitem_unique_account"
            ),
        ]
        indexes = [
            models.Index(fields=["decision", "decided_at"], name="reviewitem_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"Item {self.position} of review {self.session_id}: account {self.account_id}"


class Severity(models.TextChoices):
    MINOR = "minor", "Minor"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Consequence(models.TextChoices):
    NONE = "none", "None"
    RETRAINING = "retraining", "Retraining"
    COACHING = "coaching", "Coaching"
    FORMAL_WARNING = "formal_warning", "Formal warning"
    ESCALATION = "escalation", "Escalation"


class ViolationKind(models.TextChoices):
    INCOMPLETE_DATA = "incomplete_data", "Incomplete data"
    UNVERIFIED_DATA = "unverified_data", "Unverified data"
    MISCLASSIFICATION = "misclassification", "Misclassification"
    SKIPPED_STEP = "skipped_step", "Skipped step"


class SeverityRule(models.Model):
    """The severity and default consequence of one audit rule, maintained by Sales Ops."""

    rule_code = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=30, choices=ViolationKind.choices)
    description = models.CharField(max_length=255)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    default_consequence = models.CharField(
        max_length=20,
        choices=Consequence.choices,
        default=Consequence.NONE,
        help_text="Consequence that new findings of this rule start with.",
    )

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["kind", "rule_code"]

    def __str__(self) -> str:
        return f"{self.rule_code} ({self.get_severity_display()})"


class AuditRun(models.Model):
    """The monthly CRM audit of one calendar month in the team's time zone.

    Each month has one run. Running the audit again for the month updates this run.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    month = models.DateField(unique=True, help_text="First day of the audited month.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_checked = models.PositiveIntegerField(default=0)
    violations_found = models.PositiveIntegerField(default=0)
    violations_created = models.PositiveIntegerField(default=0)
    violations_removed = models.PositiveIntegerField(
        default=0,
        help_text="Open findings of an earlier run of the month that no longer apply.",
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Findings per kind.")
    error = models.TextField(blank=True, default="")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Audit of {self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def read_before_month_end(self) -> bool:
        """Whether the run read the accounts before its month ended, so saw part of it.

        Pages and commands reject a month that has not ended, but a run stored before
        that rule, or started from a shell, may have.
        """
        return self.started_at < month_period(self.month).end


class Violation(AccountRecord):
    """One finding of a monthly audit on one account."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    audit_run = models.ForeignKey(AuditRun, on_delete=models.CASCADE, related_name="violations")
    # Kept when the account is deleted, so a month's audit report does not change.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="violations",
    )
    kind = models.CharField(max_length=30, choices=ViolationKind.choices)
    rule_code = models.CharField(max_length=60)
    detail = models.CharField(max_length=500)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "User the finding counts against, as its rule defines: whoever set the tag or "
            "the account owner, and for a review correction whoever set the corrected tag, "
            "or nobody when the framework computed that tag."
        ),
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    consequence = models.CharField(
        max_length=20,
        choices=Consequence.choices,
        default=Consequence.NONE,
    )
    consequence_notes = models.TextField(blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["audit_run", "kind", "rule_code", "account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["audit_run", "account", "rule_code"],
                name="violation_unique_finding",
            ),
        ]
        indexes = [
            models.Index(fields=["audit_run", "responsible"], name="violation_run_user_idx"),
            models.Index(fields=["audit_run", "kind", "severity"], name="violation_run_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} on account {self.account_id} ({self.get_status_display()})"


# Roles that tag and work accounts, and so must be trained on the ICP framework.
TRAINED_ROLES = (roles.SDR, roles.AE)
# The earliest completion date of a training. ICP training on a B2B sales team's framework
# before 2000 is implausible, so an earlier date is a mistyped year (1900 as a placeholder,
# 0024 from typing "24"). A floor at the first framework version of this portal would
# reject trainings that a team held before it moved its framework here.
TRAINING_DATE_MIN = date(2000, 1, 1)


class TrainingRecord(models.Model):
    """A completed ICP training session of one user of a trained role (SDR or AE)."""

    class Kind(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        REFRESHER = "refresher", "Refresher"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="training_records",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    completed_on = models.DateField()
    notes = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["-completed_on", "-id"]
        indexes = [
            models.Index(fields=["user", "kind", "completed_on"], name="training_user_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user} on {self.completed_on}"

    def clean(self) -> None:
        errors = {}
        date_error = self._completed_on_error()
        if date_error:
            errors["completed_on"] = date_error
        trainee_error = self._trainee_error()
        if trainee_error:
            errors["user"] = trainee_error
        if errors:
            raise ValidationError(errors)
        # A form saved twice (a double click, the back button) would count one training twice.
        same = TrainingRecord.objects.filter(
            user_id=self.user_id, kind=self.kind, completed_on=self.completed_on
        ).exclude(pk=self.pk)
        if self.user_id is not None and self.completed_on and same.exists():
            raise ValidationError(
                f"The {self.get_kind_display().lower()} training of {self._user_name()} on "
                f"{self.completed_on:%Y-%m-%d} is already recorded, so it would count twice: "
                "edit that record instead of adding another."
            )

    def _user_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def _completed_on_error(self) -> str:
        if not self.completed_on:
            return ""
        today = timezone.localdate()
        # isoformat() pads the year to four digits, where strftime("%Y") prints "24".
        if self.completed_on > today:
            return (
                f"{self.completed_on.isoformat()} is in the future: record a training once it "
                f"has taken place (today is {today.isoformat()})."
            )
        if self.completed_on < TRAINING_DATE_MIN:
            return (
                f"{self.completed_on.isoformat()} is before {TRAINING_DATE_MIN.isoformat()}, "
                "the earliest completion date accepted: check the year, such as "
                f"{today.isoformat()}."
            )
        return ""

    def _trainee_error(self) -> str:
        """Return why the user may not be trained, or "" when they may.

        Only the user of a new record, or a changed user, is checked, so the records of a
        rep who left or changed role stay editable.
        """
        if self.user_id is None:
            return ""
        if self.pk is not None:
            saved_user_id = (
                TrainingRecord.objects.filter(pk=self.pk).values_list("user_id", flat=True).first()
            )
            if saved_user_id == self.user_id:
                return ""
        username = self.user.get_username()
        full_name = self.user.get_full_name()
        name = f"{full_name} ({username})" if full_name else username
        if not self.user.is_active:
            return (
                f"{name} is inactive, and the monthly report tracks the training of active "
                "users only: reactivate the user first, or choose an active SDR or AE."
            )
        if not self.user.groups.filter(name__in=TRAINED_ROLES).exists():
            return (
                f"{name} is neither an SDR nor an AE, the roles that ICP training is for: "
                "add the user to the SDR or AE group first, or choose another user."
            )
        return ""
