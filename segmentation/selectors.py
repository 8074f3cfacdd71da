"""Read queries of the segmentation app."""

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from accounts.models import Account

from .models import Framework, FrameworkRevision, FrameworkStatus, SegmentationRun


class NoActiveFrameworkError(LookupError):
    """No framework version is approved, so there is nothing to score accounts against."""


def framework_get_active() -> Framework:
    """Return the approved framework; raise NoActiveFrameworkError when there is none."""
    framework = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
    if framework is None:
        raise NoActiveFrameworkError(
            "No framework version is approved: approve one in the admin under "
            "Segmentation > Frameworks, or pass a framework explicitly."
        )
    return framework


def framework_list() -> QuerySet[Framework]:
    """Return every version, newest first, with people and the latest approval run's id."""
    latest_run = SegmentationRun.objects.filter(framework=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        Framework.objects.order_by("-version")
        .select_related("submitted_by", "approved_by", "created_by", "based_on")
        .annotate(latest_run_id=Subquery(latest_run.values("id")[:1]))
    )


def framework_get_by_version(version: int) -> Framework:
    """Return the version or raise Framework.DoesNotExist."""
    return Framework.objects.get(version=version)


def revision_list() -> QuerySet[FrameworkRevision]:
    """Return the revision register, newest first, with the people involved."""
    return FrameworkRevision.objects.select_related("author", "approver").order_by(
        "-created_at", "-id"
    )


def unmapped_industry_values() -> list[dict[str, Any]]:
    """Return raw industry values of accounts without a canonical industry, with counts.

    One GROUP BY query. Each item is ``{"industry_raw": ..., "accounts": n}``, most
    frequent first.
    """
    return list(
        Account.objects.filter(industry__isnull=True)
        .exclude(industry_raw="")
        .values("industry_raw")
        .annotate(accounts=Count("id"))
        .order_by("-accounts", "industry_raw")
    )
