"""The ICP framework, the industry taxonomy and the history of segmentation results."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from accounts.normalizers import industry_key
from audits.history import ChannelHistoricalModel

from .fields import ExplanationField


class Industry(models.Model):
    """A canonical industry of the taxonomy, such as SaaS or FinTech.

    Its name's lookup key (``industry_key``) differs from the names and synonyms of every
    other industry. ``clean`` and ``save`` raise ValidationError otherwise, and the
    database rejects two names that differ only in case.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "industries"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="industry_name_lower_unique",
                violation_error_message="Another industry has this name, ignoring case.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Save, raising ValidationError when another industry has the name or a synonym of it.

        Paths that skip ``full_clean``, such as services and scripts, are checked here.
        """
        from .taxonomy import industry_name_conflict

        conflict = industry_name_conflict(self.name or "", industry_pk=self.pk)
        if conflict is not None:
            raise ValidationError({"name": conflict})
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from .engine import caseless_key
        from .selectors import industry_criteria_locked, industry_locked_message
        from .taxonomy import industry_name_conflict

        if self.name:
            conflict = industry_name_conflict(self.name, industry_pk=self.pk)
            if conflict is not None:
                raise ValidationError({"name": conflict})
        if self.pk is None:
            return
        old_name = Industry.objects.filter(pk=self.pk).values_list("name", flat=True).first()
        # Criteria match industry names ignoring case and Unicode normalization, so a
        # change of either alone is safe.
        if old_name is None or caseless_key(old_name) == caseless_key(self.name or ""):
            return
        criteria = industry_criteria_locked(old_name, industry_pk=self.pk)
        if criteria:
            raise ValidationError(
                {
                    "name": industry_locked_message(
                        old_name,
                        criteria,
                        f"renamed to {self.name!r}",
                        f"Keep the name and add {self.name!r} as a synonym of {old_name!r} "
                        "instead, so accounts with either spelling map to it. To score with "
                        "a new industry, add it and name it in a new draft.",
                    )
                }
            )


class IndustrySynonym(models.Model):
    """A source's industry label that maps to a canonical industry.

    ``key`` is the label after ``accounts.normalizers.industry_key``, so lookups ignore
    case, punctuation and spacing. It differs from every other synonym's key and from
    the names of the other industries. ``clean`` and ``save`` raise ValidationError
    otherwise.
    """

    class Vocabulary(models.TextChoices):
        GICS = "gics", "GICS"
        FORTUNE = "fortune", "Fortune"
        YC = "yc", "Y Combinator"
        LINKEDIN = "linkedin", "LinkedIn"
        APOLLO = "apollo", "Apollo"
        OTHER = "other", "Other"

    industry = models.ForeignKey(Industry, on_delete=models.CASCADE, related_name="synonyms")
    value = models.CharField(max_length=255)
    key = models.CharField(max_length=255, unique=True)
    vocabulary = models.CharField(
        max_length=20,
        choices=Vocabulary.choices,
        default=Vocabulary.OTHER,
    )

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["industry__name", "value"]

    def __str__(self) -> str:
        return f"{self.value} → {self.industry}"

    def save(self, *args, **kwargs) -> None:
        """Derive ``key`` from ``value`` and save.

        Raises ValidationError when another synonym or another industry's name has the
        key, so paths that skip ``full_clean``, such as services, are checked too. A
        synonym with the key of its own industry's name is saved: it is redundant but maps
        to the same industry, and the loaded taxonomy has such rows for the vocabularies
        that use the canonical name.
        """
        from .taxonomy import synonym_value_conflict

        self.key = industry_key(self.value or "")
        conflict = synonym_value_conflict(
            self.value or "",
            industry=self.industry,
            synonym_pk=self.pk,
            reject_own_name=False,
        )
        if conflict is not None:
            raise ValidationError({"value": conflict})
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from .taxonomy import synonym_value_conflict

        if not self.value:
            return
        try:
            industry = self.industry
        except IndustrySynonym.industry.RelatedObjectDoesNotExist:
            # clean_fields reports the missing industry.
            return
        self.key = industry_key(self.value)
        conflict = synonym_value_conflict(
            self.value,
            industry=industry,
            synonym_pk=self.pk,
            reject_own_name=self._value_is_new(),
        )
        if conflict is not None:
            raise ValidationError({"value": conflict})

    def _value_is_new(self) -> bool:
        """Return True for an unsaved synonym or one whose value's key changed."""
        if self.pk is None:
            return True
        stored_key = IndustrySynonym.objects.filter(pk=self.pk).values_list("key", flat=True)
        return stored_key.first() != self.key


# Largest weight of a criterion.
MAX_WEIGHT = 1000


class FrameworkStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved (active)"
    RETIRED = "retired", "Retired"


# Versions in these states are never edited in place: changes go into a new draft copy.
# A submitted version is read-only too, so that approval applies exactly the settings
# that Sales Leadership previewed. Sales Ops return it to draft to change it.
LOCKED_STATUSES = frozenset(
    {FrameworkStatus.SUBMITTED, FrameworkStatus.APPROVED, FrameworkStatus.RETIRED}
)
# Versions not approved yet: they have an impact preview and their settings are checked.
UNAPPROVED_STATUSES = frozenset({FrameworkStatus.DRAFT, FrameworkStatus.SUBMITTED})
# Versions that scored accounts, so accounts can carry their tags, bands and routes.
SCORED_STATUSES = frozenset({FrameworkStatus.APPROVED, FrameworkStatus.RETIRED})


class Framework(models.Model):
    """One version of the Ideal Customer Profile definition.

    At most one version is approved (active) at a time. An approved version is never
    edited in place: changes go into a new draft copy.
    """

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20,
        choices=FrameworkStatus.choices,
        default=FrameworkStatus.DRAFT,
    )
    summary = models.TextField("summary of changes", blank=True, default="")
    tag_template = models.CharField(
        max_length=200,
        default="{industry} – {size_band} – {geography}",
        help_text="Placeholders: {industry}, {size_band}, {geography}, {country}, {tier}.",
    )
    high_tier_min_score = models.PositiveSmallIntegerField(
        default=70,
        help_text="Minimum score for the High tier, from 1 to 100, above the Medium cut-off.",
    )
    medium_tier_min_score = models.PositiveSmallIntegerField(
        default=40,
        help_text="Minimum score for the Medium tier, from 1 to 99, below the High cut-off.",
    )
    high_tier_route = models.CharField(max_length=50, default="Outbound")
    medium_tier_route = models.CharField(max_length=50, blank=True, default="")
    low_tier_route = models.CharField(max_length=50, default="Nurture")
    unmapped_geography_label = models.CharField(
        max_length=50,
        default="Rest of World",
        help_text="Geography for a known country that the map does not list.",
    )

    based_on = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="approved"),
                name="framework_single_active",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name} ({self.get_status_display()})"

    @property
    def from_initial_setup(self) -> bool:
        """Whether this is version 1 as migration 0003 creates it, with no submitter or approver."""
        return (
            self.version == 1
            and self.based_on_id is None
            and self.submitted_by_id is None
            and self.approved_by_id is None
        )

    @property
    def is_locked(self) -> bool:
        """Whether the version is submitted, approved or retired, and so read-only."""
        return self.status in LOCKED_STATUSES

    def clean(self) -> None:
        from .validation import ROUTE_FIELDS, framework_errors

        # Weights are checked against the cut-offs by framework_check() on submit and
        # approval, and by the admin's criteria formset, which validates the unsaved criteria.
        errors = framework_errors(
            high_tier_min_score=self.high_tier_min_score,
            medium_tier_min_score=self.medium_tier_min_score,
            tag_template=self.tag_template,
            routes={field: getattr(self, field) for field in ROUTE_FIELDS},
            unmapped_geography_label=self.unmapped_geography_label,
        )
        if errors:
            raise ValidationError(errors)


class Dimension(models.TextChoices):
    INDUSTRY = "industry", "Industry"
    GEOGRAPHY = "geography", "Geography"
    COMPANY_SIZE = "company_size", "Company size"
    REVENUE = "revenue", "Revenue"
    TECHNOLOGY = "technology", "Technology stack"
    BUYING_SIGNALS = "buying_signals", "Buying signals"


class Criterion(models.Model):
    """One scoring rule of a framework on one dimension.

    ``values`` holds industry names, geography labels or country codes, size band names,
    technologies or buying signals, depending on the dimension. Revenue and company size
    may use ``min_value``/``max_value`` instead (US dollars or employees).
    """

    class Operator(models.TextChoices):
        IN = "in", "is one of"
        NOT_IN = "not_in", "is none of"
        RANGE = "range", "is within the range"
        ANY_OF = "any_of", "includes any of"
        ALL_OF = "all_of", "includes all of"

    class Unknown(models.TextChoices):
        NEUTRAL = "neutral", "Leave out of the score"
        HALF = "half", "Half the points"
        NO_POINTS = "no_points", "No points"

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="criteria")
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    label = models.CharField(max_length=100, blank=True, default="")
    operator = models.CharField(max_length=10, choices=Operator.choices, default=Operator.IN)
    values = models.JSONField(default=list, blank=True)
    min_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    # Scores are shares of the maximum, so only the ratio of weights matters, and a cap
    # catches a mistyped weight.
    weight = models.PositiveSmallIntegerField(
        default=10,
        validators=[
            MaxValueValidator(
                MAX_WEIGHT,
                message="A weight is at most %(limit_value)s points: weights count only "
                "relative to each other, so scale them all down.",
            )
        ],
        help_text=f"Points for a match, from 0 to {MAX_WEIGHT}.",
    )
    is_must_have = models.BooleanField(
        default=False,
        help_text="A known value that does not match caps the account at the Low tier.",
    )
    is_disqualifier = models.BooleanField(
        default=False,
        help_text="A match sets the score to 0 and the tier to Low.",
    )
    unknown_policy = models.CharField(
        max_length=10,
        choices=Unknown.choices,
        default=Unknown.NEUTRAL,
        help_text="How an account with no value for this dimension is scored.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["framework", "position", "id"]
        verbose_name_plural = "criteria"

    def __str__(self) -> str:
        return self.label or f"{self.get_dimension_display()} {self.get_operator_display()}"

    def clean(self) -> None:
        from .validation import criterion_errors

        if self.framework_id is None:
            return
        # Size band and geography names are checked on submit and approval, and by the admin's
        # criteria formset against the bands and map posted in the same form.
        errors = criterion_errors(self, framework=self.framework, check_names=False)
        if errors:
            raise ValidationError(errors)


class SizeBand(models.Model):
    """A company-size band of a framework, by employees and/or revenue.

    Bands are checked in ``position`` order; an account belongs to the first band whose
    bounds contain its employee count, or its revenue when the head count is unknown.
    """

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="size_bands")
    name = models.CharField(max_length=50)
    min_employees = models.PositiveIntegerField(null=True, blank=True)
    max_employees = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Inclusive; empty for no upper bound.",
    )
    min_revenue_usd = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    max_revenue_usd = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Exclusive; empty for no upper bound.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["framework", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "name"], name="sizeband_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .validation import size_band_range_errors

        # Overlaps with other bands are checked on submit and approval, and by the admin's size
        # band formset against the unsaved bands posted in the same form.
        errors = size_band_range_errors(self)
        if errors:
            raise ValidationError(errors)


class GeographyMapping(models.Model):
    """Maps a country to the geography of a framework, with the label tags use."""

    framework = models.ForeignKey(
        Framework,
        on_delete=models.CASCADE,
        related_name="geography_mappings",
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    region = models.CharField(max_length=50, help_text="For example North America or EMEA.")
    label = models.CharField(
        max_length=50,
        help_text="Text used in tags, for example US or APAC.",
    )

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["framework", "region", "country"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "country"],
                name="geographymapping_unique_country",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} → {self.label}"


class SegmentationRun(models.Model):
    """A recorded scoring pass over some or all accounts, with its progress and outcome."""

    class Kind(models.TextChoices):
        FULL = "full", "All accounts"
        ACCOUNTS = "accounts", "Selected accounts"
        APPROVAL = "approval", "Framework approval"
        QUARTERLY = "quarterly", "Quarterly"
        IMPORT = "import", "Imported accounts"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="runs")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.FULL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} of v{self.framework.version} ({self.status})"


class SegmentationRunAccount(models.Model):
    """An account chosen for a run over selected accounts, so that resuming it scores them all.

    The run's page names only ``summary["account_ids"]``, the lowest ids, and reads no
    row of this table. The account column has no foreign key constraint and rows stay
    when their account is deleted, as accounts.ImportRunAccount does, so deleting
    accounts scans no index of this table. Scoring skips ids that no account has.
    """

    run = models.ForeignKey(
        SegmentationRun, on_delete=models.CASCADE, related_name="account_links", db_index=False
    )
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        constraints = [
            # Also the index that reads a run's accounts.
            models.UniqueConstraint(
                fields=["run", "account"], name="segmentationrunaccount_run_account_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"Segmentation run {self.run_id} → account {self.account_id}"


class SegmentationRunResume(models.Model):
    """A person's or an operator's resume of a stalled run, kept for the audit trail.

    ``chunks`` are the keys of the unfinished chunks that were queued again, and
    ``last_progress_at`` is when the run last made progress before the resume.
    """

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="resumes")
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when an operator resumed the run with manage.py resegment --resume.",
    )
    generation = models.PositiveIntegerField(
        help_text="How many times the run has been resumed, this resume included."
    )
    chunks = models.JSONField(default=list, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[ChannelHistoricalModel])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Resume {self.generation} of segmentation run {self.run_id}"


class ScoreRecord(models.Model):
    """One segmentation result for one account, kept as history and never overwritten.

    ``tier``, ``tag`` and ``route`` are what the account showed after this result, so a
    person's override wins over the framework. ``score`` and ``explanation`` are always
    the framework's, and the explanation names any override that was kept.
    """

    # Django enforces CASCADE, PROTECT and SET_NULL itself, so the database keeps no
    # foreign key constraints for these three fields. PostgreSQL checked each constraint
    # for every appended row at commit, which slowed re-segmentation's bulk writes.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="score_records",
        # The (account, -created_at) index below serves lookups by account.
        db_index=False,
        db_constraint=False,
    )
    framework = models.ForeignKey(
        Framework,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # Nothing reads records by run, so the column has no index. Deleting a run (no page
    # offers it) then scans the table to clear the column.
    run = models.ForeignKey(
        SegmentationRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="score_records",
        db_constraint=False,
        db_index=False,
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    tier = models.CharField(max_length=10, blank=True, default="")
    tag = models.CharField(max_length=200, blank=True, default="")
    route = models.CharField(max_length=50, blank=True, default="")
    size_band = models.CharField(max_length=50, blank=True, default="")
    geography = models.CharField(max_length=50, blank=True, default="")
    needs_enrichment = models.BooleanField(default=False)
    missing_fields = models.JSONField(default=list, blank=True)
    explanation = ExplanationField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="scorerecord_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} v{self.framework_id}: {self.tier} {self.score}"


class ExplanationItem(models.Model):
    """One explanation item shared by score records, named by a key computed from its text.

    Items are written by bulk re-segmentation and never change, because a different text
    has a different key (``segmentation.explanations``).
    """

    key = models.BigIntegerField(primary_key=True)
    text = models.TextField()

    def __str__(self) -> str:
        return f"Explanation item {self.key}"


class RevisionQuerySet(models.QuerySet):
    """Revisions are append-only, so bulk updates and deletes raise."""

    def update(self, **kwargs):
        raise TypeError("Framework revisions are append-only and cannot be updated.")

    def delete(self):
        raise TypeError("Framework revisions are append-only and cannot be deleted.")


class FrameworkRevision(models.Model):
    """An entry of the revision register: one submission, approval or retirement."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        RETURNED = "returned", "Returned to draft"
        APPROVED = "approved", "Approved"
        RETIRED = "retired", "Retired"

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=20, choices=Action.choices)
    summary = models.TextField("summary of changes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who submitted the version.",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who approved the version, or approved the one that retired it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["framework", "created_at"], name="revision_framework_idx"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.get_action_display()} on {self.created_at:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise TypeError(f"Framework revision {self.pk} is append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"Framework revision {self.pk} is append-only and cannot be deleted.")
