"""The ICP framework, the industry taxonomy and the history of segmentation results."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Industry(models.Model):
    """A canonical industry of the taxonomy, such as SaaS or FinTech."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "industries"

    def __str__(self) -> str:
        return self.name


class IndustrySynonym(models.Model):
    """A source's industry label that maps to a canonical industry.

    ``key`` is the label after ``accounts.normalizers.industry_key``, so lookups ignore
    case, punctuation and spacing.
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

    class Meta:
        ordering = ["industry__name", "value"]

    def __str__(self) -> str:
        return f"{self.value} → {self.industry}"


class FrameworkStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved (active)"
    RETIRED = "retired", "Retired"


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
        help_text="Minimum score (0–100) for the High tier.",
    )
    medium_tier_min_score = models.PositiveSmallIntegerField(
        default=40,
        help_text="Minimum score (0–100) for the Medium tier.",
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
    weight = models.PositiveSmallIntegerField(default=10, help_text="Points for a match.")
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

    class Meta:
        ordering = ["framework", "position", "id"]
        verbose_name_plural = "criteria"

    def __str__(self) -> str:
        return self.label or f"{self.get_dimension_display()} {self.get_operator_display()}"


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

    class Meta:
        ordering = ["framework", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "name"], name="sizeband_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


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


class ScoreRecord(models.Model):
    """One segmentation result for one account, kept as history and never overwritten."""

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="score_records",
    )
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(
        SegmentationRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="score_records",
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    tier = models.CharField(max_length=10, blank=True, default="")
    tag = models.CharField(max_length=200, blank=True, default="")
    route = models.CharField(max_length=50, blank=True, default="")
    size_band = models.CharField(max_length=50, blank=True, default="")
    geography = models.CharField(max_length=50, blank=True, default="")
    needs_enrichment = models.BooleanField(default=False)
    missing_fields = models.JSONField(default=list, blank=True)
    explanation = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="scorerecord_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} v{self.framework_id}: {self.tier} {self.score}"
