"""Setting changes for fresh copies, because a copy without changes cannot be submitted.

Each change is saved with a history row that has no user, as a script's save has, so it
is nobody's edit under the second-approver rule. A queryset update would write no
history row, and the version's next save would then count as the change.
"""

from segmentation.models import Framework

# A tag template other than the default's, for a second copy that must differ from the first.
SHORT_TAG_TEMPLATE = "{industry} – {geography}"


def _change(framework: Framework, **fields) -> None:
    framework.refresh_from_db()
    for name, value in fields.items():
        setattr(framework, name, value)
    framework.save(update_fields=[*fields, "updated_at"])


def raise_high_cutoff(framework: Framework, score: int = 75) -> None:
    """Set the version's High tier minimum score, which the default framework has at 70."""
    _change(framework, high_tier_min_score=score)


def shorten_tag_template(framework: Framework) -> None:
    _change(framework, tag_template=SHORT_TAG_TEMPLATE)
