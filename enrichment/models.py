"""Where each account value came from."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from audits.history import Channel, current_channel


class Observation(models.Model):
    """One value for one account field, as one source reported it.

    ``source`` names the provider or dataset family (two exports of one provider are
    one source); ``source_detail`` names the file or request it came from.
    """

    # Indexed by observation_account_source_idx in Meta, which leads with the account.
    # Without a database constraint, because an import appends about seven observations
    # per account and checking each took about a third of the database's import work.
    # Django still deletes an account's observations with it.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="observations",
        db_index=False,
        db_constraint=False,
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
        db_index=False,
    )
    # Without an index or a database constraint, for the reasons given for ``account``.
    # Deleting a run leaves its id here, so read import_run_id rather than the run.
    import_run = models.ForeignKey(
        "accounts.ImportRun",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="Import that wrote the value; empty for other sources and older imports.",
    )
    line = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Line of the imported file's row that gave the value.",
    )

    class Meta:
        ordering = ["account", "field", "-observed_at", "-id"]
        indexes = [
            # The account page reads each field's newest observation per source by these
            # columns (accounts.selectors.observation_summary). The index also serves
            # lookups by account and field.
            models.Index(
                fields=["account", "field", "source", "observed_at"],
                name="observation_account_source_idx",
            ),
            # Imports and providers leave entered_by empty, so only the observations that
            # a person entered are indexed, for the admin's filter and for SET_NULL when
            # a user is deleted.
            models.Index(
                fields=["entered_by"],
                condition=Q(entered_by__isnull=False),
                name="observation_entered_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}.{self.field} = {self.value!r} ({self.source})"


class FieldResolution(models.Model):
    """A person's decision on the value of one verified field of one account.

    The newest resolution of an account's field wins over every observation, so later
    imports and provider runs do not change the value. ``value`` has the shape of the
    field's observations, such as ``{"industry_id": 3, "label": "SaaS"}`` for industry.
    """

    class Field(models.TextChoices):
        INDUSTRY = "industry", "Industry"
        COMPANY_SIZE = "company_size", "Company size"
        REVENUE = "revenue", "Revenue"
        COUNTRY = "country", "Country"

    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="field_resolutions",
    )
    field = models.CharField(max_length=20, choices=Field.choices)
    value = models.JSONField()
    observation = models.ForeignKey(
        Observation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The observation whose value was chosen, when one was.",
    )
    previous_status = models.CharField(max_length=20, blank=True, default="")
    reason = models.TextField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField()
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        blank=True,
        default=current_channel,
        help_text="Page, admin, API, import, task or shell. Empty for resolutions recorded "
        "before the channel was stored.",
    )

    class Meta:
        ordering = ["-resolved_at", "-id"]
        indexes = [
            models.Index(fields=["account", "field"], name="resolution_account_field_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}.{self.field} = {self.value!r}"


class EnrichmentRun(models.Model):
    """One lookup of a set of accounts in one provider, with its progress and counts.

    ``processed`` counts accounts with a final result, ``looked_up`` those the provider
    returned a result for (found or not found), and ``errors`` those whose lookup failed.
    ``not_reached`` counts failed accounts that the run never requested, after a rate
    limit or the eager time budget: they are in neither ``processed`` nor ``errors``.
    ``verified`` and ``conflicts`` count the run's found accounts whose verification
    status is verified or conflicting afterwards. ``error_details`` lists the first
    failures, and every failure is also kept on its EnrichmentRunItem.

    ``heartbeat_at`` is when the run last made progress, and ``generation`` counts its
    resumes. A process that works on a run keeps the generation it started with, and
    writes nothing once a resume has changed it, so resuming a stalled run whose old
    process is still alive neither loses nor doubles results. ``queued_tasks`` counts
    the current generation's Celery tasks that wait in the broker's queue, which
    separates a run waiting for a worker from a stalled one. ``started_tasks`` keeps the
    ids of the started tasks until they end, so a task that the broker hands out again
    after its worker died is counted as waiting while it is back in the queue.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", "One account"
        SELECTION = "selection", "Selected accounts"
        ALL = "all", "All accounts with a domain"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=50)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    scope_detail = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The domain of a one-account run.",
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    looked_up = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    not_reached = models.PositiveIntegerField(
        default=0,
        help_text="Accounts that the run stopped before requesting, so resuming it looks them up.",
    )
    error_details = models.JSONField(default=list, blank=True)
    error = models.TextField(
        blank=True,
        default="",
        help_text="Why the run stopped, such as a provider that is not configured.",
    )
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
    heartbeat_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the run last made progress: it was created, started or resumed, "
        "began an account's lookup or saved results.",
    )
    generation = models.PositiveIntegerField(
        default=0,
        help_text="How many times the run was resumed. Tasks of an older generation stop "
        "without writing.",
    )
    queued_tasks = models.PositiveIntegerField(
        default=0,
        help_text="Tasks of the current generation that were sent to the broker and that no "
        "worker has started yet. Always 0 without a broker.",
    )
    started_tasks = models.JSONField(
        default=list,
        blank=True,
        help_text="Celery task ids of the current generation that a worker started and has "
        "not finished. The id of a task whose worker died stays, so the broker's second "
        "delivery of that task is known as such.",
    )
    lock_waiters = models.PositiveIntegerField(
        default=0,
        help_text="Tasks or commands of the current generation that wait for another "
        "import, re-scoring or enrichment run to release the one-at-a-time lock (SQLite).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Enrichment run {self.pk} with {self.provider} ({self.status})"

    @property
    def is_idle(self) -> bool:
        """True when the run is pending or running without progress for a while.

        The while is ENRICHMENT_STALLED_AFTER_SECONDS. An idle run either waits for a
        worker or has stalled, and may be resumed.
        """
        from .services import enrichment_run_stalled_before

        return (
            self.status in (self.Status.PENDING, self.Status.RUNNING)
            and self.heartbeat_at < enrichment_run_stalled_before()
        )

    @property
    def waiting_tasks(self) -> int:
        """The number of the run's tasks that wait in the broker's queue for a worker.

        These are the tasks counted in ``queued_tasks``, and for an idle run also the
        started tasks that the broker put back into its queue after their worker died.
        Only the latter need a read of the broker.
        """
        from .services import enrichment_run_redelivered_tasks

        count = self.queued_tasks
        if self.started_tasks and self.is_idle:
            count += enrichment_run_redelivered_tasks(self)
        return count

    @property
    def is_waiting_for_worker(self) -> bool:
        """True when the run is idle because its queued tasks wait for a free worker.

        The tasks wait behind other runs' tasks, for a retry that a rate limit delayed,
        for a worker to be started, or in the queue a second time after their worker
        died. Resuming does not make them run sooner.
        """
        return self.is_idle and self.waiting_tasks > 0

    @property
    def is_unclaimed(self) -> bool:
        """True when no worker has taken any task of the run's current generation.

        The first task marks the run running, so a pending run waiting for a worker has
        not been picked up at all, most likely because no worker runs.
        """
        return self.status == self.Status.PENDING and self.is_waiting_for_worker

    @property
    def lock_wait_holder(self) -> Any:
        """The job whose one-at-a-time lock an idle run waits for, or None.

        A LockHolder of another import, re-scoring or enrichment run that holds the lock
        and has not stalled itself (see enrichment_run_lock_wait_holder).
        """
        from .services import enrichment_run_lock_wait_holder

        if not self.lock_waiters or not self.is_idle:
            return None
        return enrichment_run_lock_wait_holder(self)

    @property
    def is_waiting_for_lock(self) -> bool:
        """True when the run is idle because it waits for another job's one-at-a-time lock."""
        return self.lock_wait_holder is not None

    @property
    def is_stalled(self) -> bool:
        """True when the run is idle, none of its tasks waits in the queue, and it does
        not wait for the one-at-a-time lock of a live job.

        A worker took its tasks and then stopped making progress, so the process has
        most likely died, and resuming the run looks its remaining accounts up.
        """
        return self.is_idle and self.waiting_tasks == 0 and self.lock_wait_holder is None


class EnrichmentRunItem(models.Model):
    """The state of one account in an enrichment run, so a run can resume where it stopped.

    ``pending`` items are looked up by the next call, ``done`` items are skipped, and
    ``failed`` items are looked up again only when the run is resumed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(EnrichmentRun, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    looked_up = models.BooleanField(default=False)
    found = models.BooleanField(default=False)
    changed = models.BooleanField(default=False)
    verified = models.BooleanField(default=False)
    conflicting = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_kind = models.CharField(
        max_length=50,
        blank=True,
        default="",
        help_text="Class name of the last error, such as ProviderUnavailable.",
    )
    error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="enrichment_item_unique"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="enrichment_item_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id}, account {self.account_id}: {self.status}"
