"""The monthly audit's rule codes with their default severity and consequence.

Migrations 0002 and 0006 seed SeverityRule rows from the same values. Sales Ops edit
the rows in the admin. The defaults here apply only to a rule whose row was deleted.
"""

from dataclasses import dataclass

from .models import Consequence, Severity, SeverityRule, ViolationKind


@dataclass(frozen=True)
class RuleDefault:
    kind: str
    description: str
    severity: str
    consequence: str = Consequence.NONE


INCOMPLETE_TAGGED = "incomplete_data.tagged_missing_fields"
INCOMPLETE_WORKED = "incomplete_data.worked_missing_fields"
UNVERIFIED_NOT_VERIFIED = "unverified_data.not_verified"
UNVERIFIED_CONFLICTING = "unverified_data.conflicting_sources"
MISCLASSIFIED_FRAMEWORK = "misclassification.framework_mismatch"
MISCLASSIFIED_REVIEW = "misclassification.review_correction"
MISCLASSIFIED_FRAMEWORK_TAG = "misclassification.framework_tag_corrected"
SKIPPED_VERIFICATION = "skipped_step.tagged_before_verification"
SKIPPED_RESEARCH = "skipped_step.high_fit_without_research"

RULES: dict[str, RuleDefault] = {
    INCOMPLETE_TAGGED: RuleDefault(
        ViolationKind.INCOMPLETE_DATA,
        "Tagged account misses industry, company size or geography.",
        Severity.MODERATE,
    ),
    INCOMPLETE_WORKED: RuleDefault(
        ViolationKind.INCOMPLETE_DATA,
        "Account worked by a person misses industry, company size or geography.",
        Severity.MINOR,
    ),
    UNVERIFIED_NOT_VERIFIED: RuleDefault(
        ViolationKind.UNVERIFIED_DATA,
        "Tagged account whose mandatory fields are not verified across sources.",
        Severity.MINOR,
    ),
    UNVERIFIED_CONFLICTING: RuleDefault(
        ViolationKind.UNVERIFIED_DATA,
        "Tagged account whose sources conflict on a mandatory field.",
        Severity.MODERATE,
    ),
    MISCLASSIFIED_FRAMEWORK: RuleDefault(
        ViolationKind.MISCLASSIFICATION,
        "Stored tag or tier differs from the result of the active framework.",
        Severity.MODERATE,
    ),
    MISCLASSIFIED_REVIEW: RuleDefault(
        ViolationKind.MISCLASSIFICATION,
        "A manager corrected the tag or tier in a review.",
        Severity.MODERATE,
        Consequence.COACHING,
    ),
    # Nobody is responsible for the framework's tag, so no consequence falls on a person.
    # Sales Ops revise the framework's rules.
    MISCLASSIFIED_FRAMEWORK_TAG: RuleDefault(
        ViolationKind.MISCLASSIFICATION,
        "A manager corrected in a review a tag or tier that the framework computed.",
        Severity.MODERATE,
    ),
    SKIPPED_VERIFICATION: RuleDefault(
        ViolationKind.SKIPPED_STEP,
        "A person tagged the account while a mandatory field had a single source or "
        "conflicting sources.",
        Severity.SEVERE,
        Consequence.RETRAINING,
    ),
    SKIPPED_RESEARCH: RuleDefault(
        ViolationKind.SKIPPED_STEP,
        "High-tier account without a published research note.",
        Severity.MINOR,
    ),
}


def rule_labels() -> dict[str, str]:
    """Return each rule code's readable description: its SeverityRule row's, else the default."""
    labels = {code: rule.description for code, rule in RULES.items()}
    labels.update(SeverityRule.objects.values_list("rule_code", "description"))
    return labels
