"""Accounts (companies), the people at them, and the identifiers that join sources."""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.text_limits import CharacterLengthValidator, stored_length
from audits.history import Channel, ChannelHistoricalModel, current_channel
from enrichment import verification


def validate_not_in_future(value: date) -> None:
    """Reject a date after tomorrow, because the event has not happened yet.

    Tomorrow is allowed, because a news item dated in a time zone ahead of the team's can
    carry tomorrow's date.
    """
    if value > timezone.localdate() + timedelta(days=1):
        raise ValidationError(
            f"{value:%Y-%m-%d} is in the future: enter the date the event happened, today "
            "or earlier.",
            code="future_date",
        )


# A note's date before this is a mistyped year, such as 0026 from typing "26" into a date
# input, rather than a real event.
NOTE_DATE_MIN = date(1900, 1, 1)

# User-perceived characters of a SegmentOverride's reason.
MAX_REASON_LENGTH = 500

# Key of an Account.review_flags entry that stores the id of the import that raised it.
# Flags that imports raised before they stored it have no such key.
REVIEW_FLAG_IMPORT_KEY = "import_run"
# Key of an Account.review_flags entry that an import raised because two rows of its file
# disagree on the account's value. It stores the two lines, earlier first.
REVIEW_FLAG_LINES_KEY = "lines"


def validate_not_before_1900(value: date) -> None:
    """Reject a date before 1900, which is a mistyped year rather than a real event."""
    if value < NOTE_DATE_MIN:
        raise ValidationError(
            # isoformat() pads the year to four digits, where strftime("%Y") prints "26".
            f"{value.isoformat()} is before {NOTE_DATE_MIN.year}: check the year, such as "
            f"{timezone.localdate().isoformat()}.",
            code="date_too_early",
        )


class Tier(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class VerificationStatus(models.TextChoices):
    VERIFIED = "verified", "Verified"
    # Not every mandatory field is verified. Account.verification_summary() separates a
    # partly verified account from one that no second source confirmed at all.
    UNVERIFIED = "unverified", "Not fully verified"
    CONFLICTING = "conflicting", "Conflicting sources"


class AccountRecord(models.Model):
    """A record about an account that stays when the account is deleted.

    Concrete models add ``account``, a nullable foreign key with SET_NULL. When the account
    is deleted, ``deleted_account_name`` keeps its name (audits.signals fills it in).
    """

    deleted_account_name = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Name of the account when it was deleted.",
    )

    class Meta:
        abstract = True

    @property
    def account_label(self) -> str:
        """Return the account's name, or its name at deletion marked as deleted."""
        if self.account_id is not None:
            return self.account.name
        return f"{self.deleted_account_name or 'Unknown account'} (deleted)"


class Account(models.Model):
    """A company the sales team researches, segments and scores.

    The normalized ``domain`` is the identity key when present. Imported values keep their
    raw text next to the normalized value, so nothing a source said is lost. The fields
    from ``size_band`` down are the latest segmentation result; every result is also kept
    in ``segmentation.ScoreRecord`` as history.
    """

    name = models.CharField(max_length=255)
    # Indexed by account_name_key_idx in Meta: db_index would add a second, LIKE-only
    # index on PostgreSQL that no query uses.
    name_key = models.CharField(
        max_length=255,
        help_text="Normalized name used to match duplicates across sources.",
    )
    domain = models.CharField(max_length=253, blank=True, default="")
    website = models.CharField(max_length=500, blank=True, default="")

    industry_raw = models.CharField(max_length=255, blank=True, default="")
    industry = models.ForeignKey(
        "segmentation.Industry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )

    employee_count = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Best single estimate of the head count; empty when unknown.",
    )
    employee_min = models.PositiveIntegerField(null=True, blank=True)
    employee_max = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Empty for an open range such as 10,001+.",
    )
    employee_raw = models.CharField(max_length=100, blank=True, default="")
    employee_approximate = models.BooleanField(default=False)

    annual_revenue_usd = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Annual revenue converted to US dollars.",
    )
    revenue_amount = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Annual revenue in its original currency.",
    )
    revenue_currency = models.CharField(max_length=3, blank=True, default="")
    revenue_raw = models.CharField(max_length=100, blank=True, default="")

    country = models.CharField(
        max_length=2,
        blank=True,
        default="",
        help_text="ISO 3166-1 alpha-2 code.",
    )
    region = models.CharField("state or region", max_length=100, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")

    technologies = models.JSONField(default=list, blank=True)
    buying_signals = models.JSONField(
        default=list,
        blank=True,
        help_text="Intent and trigger events such as hiring or recent funding.",
    )
    description = models.TextField(blank=True, default="")

    # Indexed by account_owner_idx in Meta, which leaves out the unowned accounts.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        db_index=False,
    )
    source = models.CharField(
        max_length=50,
        blank=True,
        default="",
        help_text="Source of the first import, such as fortune500 or hubspot.",
    )
    review_flags = models.JSONField(
        default=list,
        blank=True,
        help_text="Values that could not be interpreted and need a person's review.",
    )
    reviewed_flags = models.JSONField(
        default=list,
        blank=True,
        help_text="Review flags that a person marked reviewed, each with reviewed_by (user "
        "id) and reviewed_at. Imports do not raise a flag of the same field and value again.",
    )

    # Cross-source verification of the mandatory fields, kept up to date by the enrichment
    # app from the account's observations.
    verification_status = models.CharField(
        max_length=20,
        choices=VerificationStatus.choices,
        default=VerificationStatus.UNVERIFIED,
    )
    field_status = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per field: status (verified, single_source, conflicting, missing, accepted), "
        "the sources that agree and each source's value.",
    )

    # Latest segmentation result.
    size_band = models.CharField(max_length=50, blank=True, default="")
    geography = models.CharField(max_length=50, blank=True, default="")
    tag = models.CharField(max_length=200, blank=True, default="")
    tier = models.CharField(max_length=10, choices=Tier.choices, blank=True, default="")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    route = models.CharField(
        max_length=50,
        blank=True,
        default="",
        help_text="List the tier routes the account to, such as Outbound or Nurture.",
    )
    needs_enrichment = models.BooleanField(default=False)
    missing_fields = models.JSONField(default=list, blank=True)
    # No index and no database constraint, because re-segmentation writes this column with
    # every new result and no query filters by it. Django applies SET_NULL itself.
    framework = models.ForeignKey(
        "segmentation.Framework",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="Framework version of the latest score.",
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    tag_override = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Tag set by a person; re-segmentation keeps it until it is cleared.",
    )
    tier_override = models.CharField(max_length=10, choices=Tier.choices, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=~Q(domain=""),
                name="account_unique_domain",
            ),
        ]
        # Every index costs each import and re-segmentation an entry per written row, so
        # only indexes that a query needs are kept. tier, size_band and geography have few
        # values, and each value matches a large share of the accounts. The list finds a
        # page of such a filter by walking the name order, and the dashboards count them
        # with one scan of the table.
        indexes = [
            # The list filtered by country, in its default order.
            models.Index(fields=["country", "name", "id"], name="account_country_name_id_idx"),
            # Only accounts that need enrichment are indexed: the filter's other value
            # matches most accounts, and re-segmentation skips the index for them.
            models.Index(
                fields=["needs_enrichment"],
                condition=Q(needs_enrichment=True),
                name="account_needs_enrichment_idx",
            ),
            # The list and the API sort by score, highest first and empty scores last, with
            # the ascending key (-COALESCE(score, -1), id) of
            # accounts.api.pagination.SCORE_DESCENDING_KEY, so that keyset pages are ranges.
            models.Index(
                Coalesce(F("score"), Value(-1), output_field=models.IntegerField()) * Value(-1),
                F("id"),
                name="account_score_key_idx",
            ),
            models.Index(fields=["name", "id"], name="account_name_id_idx"),
            # A segment's members in the API's default order, highest score first with
            # empty scores last: the ascending key (-COALESCE(score, -1), id) of
            # accounts.api.pagination.SCORE_DESCENDING_KEY, which must stay identical, so
            # that every cursor page is one index range.
            models.Index(
                F("route"),
                Coalesce(F("score"), Value(-1), output_field=models.IntegerField()) * Value(-1),
                F("id"),
                name="account_route_score_idx",
            ),
            models.Index(
                F("tag"),
                Coalesce(F("score"), Value(-1), output_field=models.IntegerField()) * Value(-1),
                F("id"),
                name="account_tag_score_idx",
            ),
            # The queue's and the list's conflict filter. The other statuses match most
            # accounts, and imports store every account as unverified.
            models.Index(
                fields=["verification_status"],
                condition=Q(verification_status=VerificationStatus.CONFLICTING),
                name="account_conflicting_idx",
            ),
            # The queue and the owner filter. Imported accounts have no owner, so leaving
            # them out keeps imports from adding an entry per row.
            models.Index(
                fields=["owner"], condition=Q(owner__isnull=False), name="account_owner_idx"
            ),
            models.Index(fields=["name_key"], name="account_name_key_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:account-detail", args=[self.pk])

    def verification_summary(self) -> str:
        """Return the verification status with the count of mandatory fields verified.

        Such as "Partly verified (2 of 3 fields)": the status ``unverified`` covers every
        account with at least one mandatory field that no second source confirmed.
        """
        if self.verification_status != VerificationStatus.UNVERIFIED:
            return self.get_verification_status_display()
        verified = len(verification.verified_mandatory_fields(self.field_status or {}))
        total = len(verification.MANDATORY_FIELDS)
        if verified == 0:
            return f"Not yet verified (0 of {total} fields)"
        return f"Partly verified ({verified} of {total} fields)"

    def verification_detail(self) -> str:
        """Return which mandatory fields are verified and which are not, as one sentence each."""
        verified = verification.verified_mandatory_fields(self.field_status or {})
        others = [name for name in verification.MANDATORY_FIELDS if name not in verified]
        parts = []
        if verified:
            labels = ", ".join(verification.FIELD_LABELS[name] for name in verified)
            parts.append(f"Verified: {labels}.")
        if others:
            labels = ", ".join(verification.FIELD_LABELS[name] for name in others)
            parts.append(f"Not verified: {labels}.")
        return " ".join(parts)


class AccountIdentifier(models.Model):
    """An identifier a source gives a company, such as an SEC CIK or a stock ticker.

    Files without a website still match an existing account through these.
    """

    class Kind(models.TextChoices):
        CIK = "cik", "SEC CIK"
        TICKER = "ticker", "Stock ticker"
        YC = "yc", "Y Combinator id"
        LINKEDIN = "linkedin", "LinkedIn company URL"
        CRM = "crm", "CRM record id"
        PROFILE = "profile", "Public profile slug"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=255)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identifier_unique_kind_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class Lead(models.Model):
    """A person at an account. Every field but the account is optional."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="leads")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    linkedin_url = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=50, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=~Q(email=""),
                name="lead_unique_account_email",
            ),
        ]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.email or f"Lead {self.pk}"


class ImportRun(models.Model):
    """One import of a CSV or JSON file, with its counts and the rejected-rows report."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # Statuses after which the importer writes nothing more for the run.
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    source = models.CharField(max_length=50)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    is_dry_run = models.BooleanField(default=False)
    encoding = models.CharField(max_length=30, blank=True, default="")
    encoding_warning = models.TextField(
        blank=True,
        default="",
        help_text="The lines with bytes that are not valid in the file's encoding, if any.",
    )
    delimiter = models.CharField(max_length=5, blank=True, default="")
    column_mapping = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Rows in the file when known in advance, for the progress bar.",
    )
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(
        default=0,
        help_text="Rows that matched an account from before the run and stored nothing new on it.",
    )
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped_blank = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(
        default=0,
        help_text="Rows imported with values kept raw for review.",
    )
    rows_not_reached = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Rows after the cancel that were not read, so not imported. Empty unless "
        "the run was cancelled, or when the rest of the file could not be counted.",
    )
    report_path = models.CharField(max_length=500, blank=True, default="")
    error = models.TextField(blank=True, default="")
    file_sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="SHA-256 of the file's bytes, to find imports of the same content.",
    )
    allow_same_file = models.BooleanField(
        default=False,
        help_text=(
            "Import content that was already imported under another source name, so its "
            "values count as a second source."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    new_accounts_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Owner given to the accounts that the run creates; empty leaves them unowned.",
    )
    segmentation_run = models.ForeignKey(
        "segmentation.SegmentationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "The scoring of the run's accounts, created when the import finishes and before "
            "scoring starts, so a scoring that stopped part-way stays visible."
        ),
    )
    upload_token = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Token of the import wizard's upload that the run imports, empty for "
        "imports started otherwise. One upload becomes at most one run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two requests that start one upload at once would otherwise create two runs.
            models.UniqueConstraint(
                fields=["upload_token"],
                condition=~models.Q(upload_token=""),
                name="importrun_upload_token_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.file_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def imported(self) -> int:
        """Rows that created, updated or merged into an account, or matched one unchanged."""
        return self.created + self.updated + self.unchanged + self.merged


class ImportCancelRequest(models.Model):
    """A user's request to stop a pending or running import.

    It is a row of its own rather than fields of ImportRun because a dry run updates its
    ImportRun inside one long transaction, and an update of that row would wait for the
    dry run to end. The importer looks for this row between batches.
    """

    import_run = models.OneToOneField(
        ImportRun, on_delete=models.CASCADE, related_name="cancel_request"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Cancel request for import {self.import_run_id}"


class ImportRunAccount(models.Model):
    """An account that an import run created or updated, for the account list's import filter.

    The account column has no foreign key constraint and rows stay when their account is
    deleted, as enrichment.Observation does. So deleting accounts scans no index of this
    table, and the account list's filter skips ids that no account has.
    """

    import_run = models.ForeignKey(
        ImportRun, on_delete=models.CASCADE, related_name="account_links", db_index=False
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        constraints = [
            # Also the index of the filter, which looks up a run's accounts.
            models.UniqueConstraint(
                fields=["import_run", "account"], name="importrunaccount_run_account_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"Import {self.import_run_id} → account {self.account_id}"


class ResearchNote(models.Model):
    """A short research finding about an account: funding news, a hire, an expansion."""

    class Kind(models.TextChoices):
        FUNDING = "funding", "Funding"
        HIRE = "hire", "Hire"
        EXPANSION = "expansion", "Expansion"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        PROPOSED = "proposed", "Proposed by enrichment"
        DISMISSED = "dismissed", "Dismissed"

    MAX_TEXT_LENGTH = 500

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PUBLISHED)
    text = models.CharField(
        # The validator counts user-perceived characters, and the column has room for the
        # code points of MAX_TEXT_LENGTH emoji sequences.
        max_length=stored_length(MAX_TEXT_LENGTH),
        validators=[CharacterLengthValidator(MAX_TEXT_LENGTH)],
        help_text="Keep it short: at most 500 characters.",
    )
    source_url = models.URLField(max_length=500, blank=True, default="")
    happened_on = models.DateField(
        null=True,
        blank=True,
        validators=[validate_not_before_1900, validate_not_in_future],
        help_text="When the event happened, if known.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="research_notes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="researchnote_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class UserProfile(models.Model):
    """Team membership of a user: their manager sees and reviews their accounts."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team_profiles",
    )

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class SegmentOverride(AccountRecord):
    """A person's change to an account's tag or tier, with the reason.

    SDRs tag by hand, AEs refine the fit after discovery, and managers correct tags in
    review. A manager's correction counts against ``rep``, the account owner at the time.
    When an approved framework version changes the tag template, the approval rewrites
    each person's tag in it as a template rewrite. That row has no ``user``, because no
    person made it, and ``rewrite_of`` points to the change that set the tag.
    """

    class Kind(models.TextChoices):
        MANUAL_TAG = "manual_tag", "Manual tag"
        FIT_VALIDATION = "fit_validation", "Fit validated in discovery"
        REVIEW_CORRECTION = "review_correction", "Corrected in manager review"
        REVIEW_CONFIRMATION = "review_confirmation", "Confirmed in manager review"
        TEMPLATE_REWRITE = "template_rewrite", "Rewritten in a new tag template"

    # The kinds that a person records. Forms and the API accept only these.
    PERSON_KINDS = (
        Kind.MANUAL_TAG,
        Kind.FIT_VALIDATION,
        Kind.REVIEW_CORRECTION,
        Kind.REVIEW_CONFIRMATION,
    )

    # Kept when the account is deleted, because corrections count in the reps' accuracy.
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="overrides"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    old_tag = models.CharField(max_length=200, blank=True, default="")
    new_tag = models.CharField(max_length=200, blank=True, default="")
    old_tier = models.CharField(max_length=10, blank=True, default="")
    new_tier = models.CharField(max_length=10, blank=True, default="")
    reason = models.CharField(
        # As ResearchNote.text: the limit counts characters, the column code points.
        max_length=stored_length(MAX_REASON_LENGTH),
        validators=[CharacterLengthValidator(MAX_REASON_LENGTH)],
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="segment_overrides",
        help_text="Who made the change. Empty for a template rewrite, which no person made.",
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Account owner when the change was made.",
    )
    rewrite_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rewrites",
        help_text="For a template rewrite: the person's change that set the rewritten tag.",
    )
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        blank=True,
        default=current_channel,
        help_text="Page, admin, API, import, task or shell. Empty for changes recorded "
        "before the channel was stored.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="override_account_idx"),
            models.Index(fields=["kind", "created_at"], name="override_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.account_id}: {self.old_tag} → {self.new_tag}"


class ImportMapping(models.Model):
    """A column mapping saved in the import wizard, offered again for files with the same columns.

    ``mapping`` is ``{"columns": {"column name": "import field", ...}, "source": "hubspot",
    "currency": "USD", "revenue_multiplier": 1}``. Columns mapped to no field are left out.
    """

    name = models.CharField(max_length=100)
    header_signature = models.CharField(
        max_length=64,
        db_index=True,
        help_text="SHA-256 of the file's column names, compared case-insensitively.",
    )
    mapping = models.JSONField(default=dict)
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
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["header_signature", "name"], name="import_mapping_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
