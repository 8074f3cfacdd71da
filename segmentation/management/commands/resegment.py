"""Score every account against a framework version and print a summary."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError

from accounts.models import Account
from segmentation.engine import FrameworkError
from segmentation.models import Framework, FrameworkStatus, SegmentationRun
from segmentation.preview import (
    DEFAULT_TOP_MOVERS,
    TIER_LABELS,
    TIER_ORDER,
    ImpactPreview,
    PreviewSettings,
    framework_impact_preview,
    framework_preview_settings,
)
from segmentation.selectors import NoActiveFrameworkError, framework_get_active
from segmentation.services import (
    SegmentationSummary,
    accounts_segment,
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
                "warnings, settings changed against the active version, the tier matrix, "
                "tags gained and lost, and the accounts that move most."
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
        framework = self._framework(options["framework"], dry_run=options["dry_run"])
        batch_size = options["batch_size"]
        if batch_size is not None and batch_size < 1:
            raise CommandError(f"Invalid --batch-size {batch_size}: use a positive number.")
        if options["top"] < 0:
            raise CommandError(
                f"Invalid --top {options['top']}: use 0 or more accounts to list, or leave it "
                f"out for {DEFAULT_TOP_MOVERS}."
            )
        self.idle_timeout = options["idle_timeout"]
        if self.idle_timeout <= 0:
            raise CommandError(
                f"Invalid --idle-timeout {self.idle_timeout:g}: use a positive number of seconds."
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
                summary = self._run_on_workers(framework, batch_size)
            else:
                summary = accounts_segment(
                    framework=framework,
                    dry_run=options["dry_run"],
                    batch_size=batch_size,
                    on_batch=lambda running: self._progress(running, total),
                )
        except FrameworkError as error:
            raise CommandError(str(error)) from error
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
            raise CommandError(
                f"Framework v{version} is {framework.get_status_display().lower()}, not "
                "approved: add --dry-run to preview its results, or approve it first."
            )
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
        changes = preview.tag_changes()
        self.stdout.write(f"Tags gained and lost ({len(changes)} tags):")
        for tag, gained, lost in changes:
            self.stdout.write(f"  +{gained:<7,} -{lost:<7,} {tag}")
        if not changes:
            self.stdout.write("  No account changes tag.")
        self.stdout.write("")
        self.stdout.write(f"Accounts that move most ({len(preview.movers)}):")
        for mover in preview.movers:
            self.stdout.write(
                f"  {mover.name} (id {mover.account_id}): score {mover.old_score} -> "
                f"{mover.new_score} ({mover.delta:+d}), tier {mover.old_tier or 'none'} -> "
                f"{mover.new_tier or 'none'}, tag {mover.old_tag or 'none'!r} -> "
                f"{mover.new_tag or 'none'!r}"
            )
            width = max(len(mover.old_explanation), len(mover.new_explanation))
            for index in range(width):
                old = _reason(mover.old_explanation, index)
                new = _reason(mover.new_explanation, index)
                self.stdout.write(f"      now:   {old}")
                self.stdout.write(f"      after: {new}")


def _reason(items: list[dict], index: int) -> str:
    if index >= len(items):
        return "-"
    item = items[index]
    if not isinstance(item, dict):
        return str(item)
    return str(item.get("reason") or item.get("label") or "-")
