"""Writes that API endpoints need and no other app offers yet."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, models, transaction
from django.db.models import Max

from segmentation.models import (
    Criterion,
    Framework,
    FrameworkStatus,
    GeographyMapping,
    SizeBand,
)

logger = logging.getLogger(__name__)

# Framework fields that describe a version's place in the approval lifecycle, not its rules.
# A copy starts them afresh; every other field, including fields added later, is copied.
FRAMEWORK_LIFECYCLE_FIELDS = {
    "id",
    "version",
    "name",
    "status",
    "summary",
    "based_on",
    "created_by",
    "submitted_by",
    "submitted_at",
    "approved_by",
    "approved_at",
    "retired_at",
    "created_at",
    "updated_at",
}
VERSION_ATTEMPTS = 3


def _copy_values(instance: models.Model, skip: set[str]) -> dict:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in skip
    }


def framework_draft_create(
    *,
    source: Framework,
    user: AbstractBaseUser,
    name: str = "",
    summary: str = "",
) -> Framework:
    """Copy ``source`` with its criteria, size bands and geography map into a new draft.

    The draft takes the next version number and records ``source`` as ``based_on``.
    Raises IntegrityError when the version numbers keep colliding with concurrent copies.
    """
    for attempt in range(1, VERSION_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _framework_copy(source, user, name, summary)
        except IntegrityError:
            if attempt == VERSION_ATTEMPTS:
                raise
            logger.info("framework version taken by a concurrent copy; retrying (%s)", attempt)
    raise AssertionError("unreachable")


def _framework_copy(
    source: Framework, user: AbstractBaseUser, name: str, summary: str
) -> Framework:
    version = (Framework.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1
    draft = Framework.objects.create(
        **_copy_values(source, FRAMEWORK_LIFECYCLE_FIELDS),
        version=version,
        name=name or source.name,
        summary=summary,
        status=FrameworkStatus.DRAFT,
        based_on=source,
        created_by=user,
    )
    for model, relation in (
        (Criterion, "criteria"),
        (SizeBand, "size_bands"),
        (GeographyMapping, "geography_mappings"),
    ):
        rows = getattr(source, relation).all()
        model.objects.bulk_create(
            [model(**_copy_values(row, {"id", "framework"}), framework=draft) for row in rows]
        )
    logger.info(
        "framework v%s created as a draft copy of v%s by user %s",
        draft.version,
        source.version,
        user.pk,
    )
    return draft
