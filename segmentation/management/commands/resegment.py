"""Score every account against a framework version and print a summary."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError

from accounts.importing.errors import WriterAlreadyRunning
from accounts.importing.serial import (
    SEGMENTATION,
    LockHolder,
    running_writer_check,
    writer_lock_or_reject,
)
from accounts.models import Account
from segmentation.engine import FrameworkError
from segmentation.models import Framework, FrameworkStatus, SegmentationRun
from segmentation.preview import (
    CHANGE_COUNTING_RULE,
    DEFAULT_TOP_MOVERS,
    TIER_LABELS,
    TIER_ORDER,
    ImpactPreview,
    PreviewSettings,
    explanation_text,
    framework_impact_preview,
    framework_preview_settings,
)
from segmentation.selectors import NoActiveFrameworkError, framework_get_active
from segmentation.services import (
    SegmentationSummary,
    accounts_segment,
    framework_not_approved_message,
    segmentation_run_plan,
)

# Seconds between progress checks while Celery workers score a run.
POLL_INTERVAL = 1.0
# Seconds without progress after which the command stops waiting for the workers.
DEFAULT_IDLE_SECONDS = 300


class Command(BaseCommand):
    help = (
        "Score every account against the approved framework (or --framework VERSION) and "
        "store changed results. Runs on Celery workers when CELERY_BROKER_URL is set, "
        "otherwise in this process. --dry-run always runs in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--framework",
            type=int,
            metavar="VERSION",
            help="Framework version number to score with (default: the approved version).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=(
                "Score and print the impact preview without writing results or a run: "
                "warnings, settings changed against the active version, what would change "
                "by kind, the tier matrix, route moves, tags gained and lost, and the "
                "accounts that move most (--verbosity 2 also lists their unchanged reasons)."
            ),
        )
        parser.add_argument(
            "--top",
            type=int,
            default=DEFAULT_TOP_MOVERS,
            metavar="N",
            help=f"Accounts that move most to list with --dry-run (default {DEFAULT_TOP_MOVERS}).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            metavar="N",
            help=(
                "Accounts read and written per batch (default: the "
                f"ICP_SEGMENTATION_BATCH_SIZE setting, {settings.ICP_SEGMENTATION_BATCH_SIZE})."
            ),
        )

        parser.add_argument(
            "--import-run",
            type=int,
            metavar="ID",
            help=(
                "Finish the scoring of the accounts of import ID, when the process that scored "
                "them stopped, and score no other account."
            ),
        )
        parser.add_argument(
            "--resume",
            type=int,
            metavar="RUN_ID",
            help=(
                "Finish segmentation run RUN_ID, when the worker or process that scored it "
                "stopped: its unfinished chunks are scored again, each after its last "
                "committed batch, on the Celery workers or else in this process."
            ),
        )
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=DEFAULT_IDLE_SECONDS,
            metavar="SECONDS",
            help=(
                "With Celery workers: stop waiting when the run makes no progress for this "
                f"long (default {DEFAULT_IDLE_SECONDS}). The run itself goes on."
            ),
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        self.idle_timeout = options["idle_timeout"]
        if self.idle_timeout <= 0:
            raise CommandError(
                f"Invalid --idle-timeout {self.idle_timeout:g}: use a positive number of seconds."
            )
        if options["import_run"] is not None:
            self._import_scoring_finish(options["import_run"])
            return
        if options["resume"] is not None:
            self._resume(options["resume"])
            return
        framework = self._framework(options["framework"], dry_run=options["dry_run"])
        batch_size = options["batch_size"]
        if batch_size is not None and batch_size < 1:
            raise CommandError(f"Invalid --batch-size {batch_size}: use a positive number.")
        if options["top"] < 0:
            raise CommandError(
                f"Invalid --top {options['top']}: use 0 or more accounts to list, or leave it "
                f"out for {DEFAULT_TOP_MOVERS}."
            )

        total = Account.objects.count()
        mode = "dry run" if options["dry_run"] else "writing changed results"
        self.stdout.write(
            f"Scoring {total:,} accounts with framework v{framework.version} "
            f"({framework.name}), {mode}."
        )
        try:
            if options["dry_run"]:
                self._print_settings(framework_preview_settings(framework))
                preview = framework_impact_preview(
                    framework, top=options["top"], batch_size=batch_size
                )
                self._print_summary(preview.summary)
                self._print_preview(preview)
                return
            if settings.CELERY_BROKER_URL:
                # The workers' tasks wait for a running import, which would look like
                # workers that make no progress.
                running_writer_check("this re-scoring")
                summary = self._run_on_workers(framework, batch_size)
            else:
                with writer_lock_or_reject(LockHolder(SEGMENTATION), "this re-scoring"):
                    summary = accounts_segment(
                        framework=framework,
                        dry_run=options["dry_run"],
                        batch_size=batch_size,
                        on_batch=lambda running: self._progress(running, total),
                    )
        except (FrameworkError, WriterAlreadyRunning) as error:
            raise CommandError(str(error)) from error
        self._print_summary(summary)

    def _import_scoring_finish(self, import_run_id: int) -> None:
        """Finish an import's scoring in this process, as the import page's button does."""
        from accounts.models import ImportRun
        from accounts.services import import_run_scoring_state
        from accounts.tasks import accounts_import_task

        import_run = ImportRun.objects.filter(pk=import_run_id).first()
        if import_run is None:
            raise CommandError(
                f"Import run {import_run_id} was not found: see the ids on the Imports page."
            )
        state = import_run_scoring_state(import_run)
        if state not in ("interrupted", "failed"):
            raise CommandError(
                f"The scoring of import run {import_run_id} is {state or 'not needed'}, so "
                "there is nothing to finish."
            )
        try:
            # The task would wait for the running job instead.
            running_writer_check(f"finishing the scoring of import run {import_run_id}")
        except WriterAlreadyRunning as error:
            raise CommandError(str(error)) from error
        # The task takes the import's lock and finishes the scoring of a finished run.
        accounts_import_task.apply(args=[import_run_id], throw=True)
        import_run.refresh_from_db()
        scoring_run = import_run.segmentation_run
        state = import_run_scoring_state(import_run)
        if state != "succeeded":
            raise CommandError(
                f"The scoring of import run {import_run_id} did not finish ({state}): "
                f"{import_run.error or scoring_run.error}"
            )
        self.stdout.write(
            f"Scored the {scoring_run.total:,} accounts of import run {import_run_id} in "
            f"segmentation run {scoring_run.pk}: {scoring_run.moved:,} moved, "
            f"{scoring_run.unchanged:,} unchanged, {scoring_run.failed:,} failed."
        )

    def _resume(self, run_id: int) -> None:
        """Score the unfinished chunks of a run whose worker or process stopped.

        The operator knows the run's process is gone, so a run that has not stalled yet is
        resumed too. A worker that is still alive doubles nothing: of two tasks on one
        chunk, the first to commit a batch goes on and the other stops.
        """
        from segmentation.runs import SegmentationRunNotResumable, segmentation_run_resume
        from segmentation.tasks import (
            segmentation_run_chunk_task,
            segmentation_run_chunks_dispatch,
        )

        run = SegmentationRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(
                f"Segmentation run {run_id} was not found: see the ids in the admin under "
                "Segmentation > Segmentation runs."
            )
        try:
            run, keys = segmentation_run_resume(run, user_id=None, force=True)
        except SegmentationRunNotResumable as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Resuming run {run.pk}: {len(keys)} unfinished chunks, {run.processed:,} of "
            f"{run.total:,} accounts already scored."
        )
        if settings.CELERY_BROKER_URL:
            try:
                segmentation_run_chunks_dispatch(run, keys)
            except OperationalError as error:
                raise CommandError(
                    f"Could not queue the chunks of run {run.pk} ({error}): start the Celery "
                    "broker, or unset CELERY_BROKER_URL to score in this process."
                ) from error
            summary = self._wait(run)
        else:
            for key in keys:
                segmentation_run_chunk_task(run.pk, key).apply(throw=True)
                run.refresh_from_db()
                self.stdout.write(f"  {run.processed:,} of {run.total:,} scored")
            summary = self._wait(run)
        self._print_summary(summary)

    def _framework(self, version: int | None, *, dry_run: bool) -> Framework:
        if version is None:
            try:
                return framework_get_active()
            except NoActiveFrameworkError as error:
                raise CommandError(str(error)) from error
        framework = Framework.objects.filter(version=version).first()
        if framework is None:
            versions = Framework.objects.order_by("version").values_list("version", flat=True)
            known = ", ".join(str(number) for number in versions)
            raise CommandError(
                f"Framework version {version} not found: use one of {known or 'none yet'}."
            )
        if framework.status != FrameworkStatus.APPROVED and not dry_run:
            raise CommandError(framework_not_approved_message(framework, framework.status))
        return framework

    def _progress(self, summary: SegmentationSummary, total: int) -> None:
        self.stdout.write(
            f"  {summary.total:,} of {total:,} scored: {summary.moved:,} moved, "
            f"{summary.unchanged:,} unchanged, {summary.failed:,} failed"
        )

    def _run_on_workers(self, framework: Framework, batch_size: int | None) -> SegmentationSummary:
        from segmentation.tasks import segmentation_run_dispatch

        run, ranges = segmentation_run_plan(framework=framework, batch_size=batch_size)
        try:
            segmentation_run_dispatch(run, ranges)
        except OperationalError as error:
            raise CommandError(
                f"Could not queue the tasks of run {run.pk} ({error}): start the Celery broker, "
                "or unset CELERY_BROKER_URL to score in this process."
            ) from error
        self.stdout.write(
            f"Queued run {run.pk} as {len(ranges)} Celery tasks. Waiting for the workers "
            "(Ctrl+C stops waiting, not the run)."
        )
        try:
            return self._wait(run)
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped waiting. Run {run.pk} goes on in the Celery workers. See its progress "
                "in the admin under Segmentation > Segmentation runs."
            ) from None

    def _wait(self, run: SegmentationRun) -> SegmentationSummary:
        processed = -1
        last_progress = time.monotonic()
        while True:
            run.refresh_from_db()
            if run.processed != processed:
                processed = run.processed
                last_progress = time.monotonic()
                self.stdout.write(
                    f"  {run.processed:,} of {run.total:,} scored: {run.moved:,} moved, "
                    f"{run.unchanged:,} unchanged, {run.failed:,} failed"
                )
            if run.status == SegmentationRun.Status.FAILED:
                raise CommandError(f"Run {run.pk} failed: {run.error}")
            if run.status == SegmentationRun.Status.SUCCEEDED:
                break
            if time.monotonic() - last_progress > self.idle_timeout:
                raise CommandError(
                    f"Run {run.pk} made no progress for {self.idle_timeout:g} s: check that a "
                    "Celery worker is running (celery -A icp_portal worker). The run stays "
                    "queued; see it in the admin under Segmentation > Segmentation runs."
                )
            time.sleep(POLL_INTERVAL)
        return SegmentationSummary(
            total=run.processed,
            moved=run.moved,
            unchanged=run.unchanged,
            failed=run.failed,
            recorded=run.summary.get("recorded", 0),
            tiers=run.summary.get("tiers", {}),
            run_id=run.pk,
        )

    def _print_summary(self, summary: SegmentationSummary) -> None:
        prefix = "Dry run, nothing written. " if summary.dry_run else ""
        appended = "would be appended" if summary.dry_run else "appended"
        run_text = f" Run {summary.run_id}." if summary.run_id else ""
        self.stdout.write(
            f"{prefix}Total {summary.total:,}: {summary.moved:,} moved, "
            f"{summary.unchanged:,} unchanged, {summary.failed:,} failed. "
            f"{summary.recorded:,} score records {appended}.{run_text}"
        )
        counts = summary.tier_counts()
        tiers = ", ".join(f"{tier} {counts.get(tier, 0):,}" for tier in TIER_ORDER)
        self.stdout.write(f"Tiers: {tiers}")

    def _print_settings(self, preview_settings: PreviewSettings) -> None:
        """Print the warnings and the settings diff that the preview page shows."""
        warnings = [preview_settings.outdated] if preview_settings.outdated else []
        warnings += preview_settings.placement_warnings
        if preview_settings.override_rewrites is not None:
            warnings.append(preview_settings.override_rewrites.summary())
        for warning in warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        active = preview_settings.active_framework
        if active is None:
            return
        framework = preview_settings.framework
        changes = preview_settings.setting_changes
        self.stdout.write("")
        self.stdout.write(
            f"Settings changed against the active v{active.version} ({len(changes)}):"
        )
        for change in changes:
            self.stdout.write(f"  {change.section}, {change.item}: {change.old} -> {change.new}")
        if not changes:
            self.stdout.write(f"  v{framework.version} has the same settings as v{active.version}.")
        self.stdout.write("")

    def _print_preview(self, preview: ImpactPreview) -> None:
        self._print_changes(preview)
        labels = [TIER_LABELS[tier] for tier in TIER_ORDER]
        self.stdout.write("")
        after = "approval"
        if preview.framework.status == FrameworkStatus.APPROVED:
            # The approved version needs no approval, so its dry run shows a new scoring.
            after = "scoring again"
        self.stdout.write(f"Tier moves (rows: tier now, columns: tier after {after}):")
        self.stdout.write(f"  {'':<10}" + "".join(f"{label:>10}" for label in labels))
        for label, counts in preview.tier_matrix():
            self.stdout.write(f"  {label:<10}" + "".join(f"{count:>10,}" for count in counts))
        self.stdout.write("")
        self._print_routes(preview)
        self.stdout.write("")
        changes = preview.tag_changes()
        self.stdout.write(
            f"Tags gained and lost ({len(changes)} tags), in member lists, which leave out "
            "accounts that need enrichment:"
        )
        for tag, gained, lost in changes:
            self.stdout.write(f"  +{gained:<7,} -{lost:<7,} {tag}")
        if not changes:
            self.stdout.write("  No tag gains or loses a member.")
        self.stdout.write("")
        self._print_movers(preview)

    def _print_changes(self, preview: ImpactPreview) -> None:
        rows = preview.change_rows()
        width = max(len(row.kind.label) for row in rows)
        self.stdout.write("")
        self.stdout.write(f"Would change {preview.summary.moved:,} accounts:")
        for row in rows:
            self.stdout.write(
                f"  {row.kind.label:<{width}} {row.accounts:>9,}   "
                f"({row.accounts_in_total:,} with this change in total)"
            )
            if row.note:
                self.stdout.write(f"      {row.note}")
        self.stdout.write(f"  {CHANGE_COUNTING_RULE}")

    def _print_routes(self, preview: ImpactPreview) -> None:
        moves = preview.route_moves()
        self.stdout.write(f"Route moves ({len(moves)}):")
        for old_route, new_route, count in moves:
            self.stdout.write(f"  {count:>9,}  {old_route} -> {new_route}")
        if not moves:
            self.stdout.write("  No account changes route.")
        tier_routes = preview.tier_routes()
        if tier_routes:
            self.stdout.write("Accounts that change tier, by route after approval:")
        for row in tier_routes:
            noun = "account" if row.accounts == 1 else "accounts"
            self.stdout.write(f"  To {row.tier_label}: {row.accounts:,} {noun}")
            for label, count in row.routes:
                self.stdout.write(f"    {count:>9,}  {label}")

    def _print_movers(self, preview: ImpactPreview) -> None:
        list_unchanged = self.verbosity >= 2
        self.stdout.write(f"Accounts that move most ({len(preview.movers)}):")
        for mover in preview.movers:
            kind = mover.change_kind
            score = _from_to(mover.old_score, mover.new_score)
            if mover.old_score != mover.new_score:
                score += f" ({mover.delta:+d})"
            tier = _from_to(mover.old_tier or "none", mover.new_tier or "none")
            tag = _from_to(repr(mover.old_tag or "none"), repr(mover.new_tag or "none"))
            kind_text = f" [{kind.short_label}]" if kind else ""
            self.stdout.write(
                f"  {mover.name} (id {mover.account_id}): score {score}, tier {tier}, "
                f"tag {tag}{kind_text}"
            )
            for pair in mover.changed_pairs:
                self.stdout.write(f"      now:   {explanation_text(pair.old)}")
                self.stdout.write(f"      after: {explanation_text(pair.new)}")
            if not mover.changed_pairs:
                self.stdout.write(f"      {mover.same_reasons_text}")
            unchanged = mover.unchanged_items
            if list_unchanged:
                for item in unchanged:
                    self.stdout.write(f"      same:  {explanation_text(item)}")
            elif unchanged:
                self.stdout.write(
                    f"      {len(unchanged)} unchanged reasons (--verbosity 2 lists them)"
                )


def _from_to(old: object, new: object) -> str:
    return f"{old} (same)" if old == new else f"{old} -> {new}"
