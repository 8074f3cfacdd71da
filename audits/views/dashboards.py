"""The dashboards page: segment mix, data quality, review accuracy and audit findings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.views.generic import TemplateView

from accounts.filtersets import GEOGRAPHY_NONE, TIER_NONE
from accounts.models import Tier, VerificationStatus
from accounts.permissions import can_view_audits
from enrichment.verification import FIELD_LABELS, MANDATORY_FIELDS

from .. import selectors
from ..models import ViolationKind
from ..periods import month_period
from ..permissions import can_view_dashboards
from .mixins import PermissionRequiredMixin


@dataclass
class Chart:
    """One chart: Chart.js data plus the page each bar or slice links to.

    ``urls[d][i]`` is the link of value ``i`` of dataset ``d``, or "" for none.
    ``colors[i]`` is the colour of value ``i`` in a doughnut, whose slices otherwise take
    the page's palette in order. ``description_url`` links the description, such as a
    total, to the list it counts. A dataset with ``"percent": False`` in a percent chart
    holds counts, drawn as bars against a second value axis (``"yAxisID": "count"``).
    """

    key: str
    title: str
    type: str
    labels: list[str]
    datasets: list[dict[str, Any]]
    urls: list[list[str]]
    description: str = ""
    description_url: str = ""
    horizontal: bool = False
    stacked: bool = False
    percent: bool = False
    colors: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Build the table that repeats the chart's values for screen readers and links."""
        for d, dataset in enumerate(self.datasets):
            for i, label in enumerate(self.labels):
                value = dataset["data"][i]
                if value is None:
                    continue
                name = label if len(self.datasets) == 1 else f"{label} · {dataset['label']}"
                self.rows.append(
                    {
                        "label": name,
                        "value": value,
                        "url": self.urls[d][i],
                        "percent": dataset.get("percent", self.percent),
                    }
                )


# Slice colours of the verification chart: only verified accounts get the success green.
# The three differ in lightness as well as hue, so they stay apart for colour-blind readers.
VERIFICATION_COLORS = {
    VerificationStatus.VERIFIED: "#198754",
    VerificationStatus.UNVERIFIED: "#ced4da",
    VerificationStatus.CONFLICTING: "#f0ad00",
}


# Label of the count of corrections of tags the framework computed, as the session page
# and the quarterly report name it.
FRAMEWORK_CORRECTED_LABEL = "Framework tags corrected"
# Id of the value axis of counts in a percent chart, which charts.js draws on the right.
COUNT_AXIS = "count"


def framework_corrections_dataset(counts: list[int]) -> dict[str, Any]:
    """Return the bars of framework tags corrected, for a chart of accuracy in percent."""
    return {
        "label": FRAMEWORK_CORRECTED_LABEL,
        "data": counts,
        "type": "bar",
        "yAxisID": COUNT_AXIS,
        "percent": False,
    }


def account_list_url(**params: str) -> str:
    """Return the account list filtered by ``params``, as the list page reads them."""
    return f"{reverse('accounts:account-list')}?{urlencode(params)}"


def _tier_chart(account_counts: selectors.AccountCounts) -> Chart:
    counts = account_counts.tiers
    labels, values, urls = [], [], []
    for tier, label in Tier.choices:
        labels.append(label)
        values.append(counts.get(tier, 0))
        urls.append(account_list_url(tier=tier))
    labels.append("Not scored")
    values.append(counts.get("", 0))
    urls.append(account_list_url(tier=TIER_NONE))
    return Chart(
        "tier", "Accounts by tier", "bar", labels, [{"label": "Accounts", "data": values}], [urls]
    )


def _tag_chart(account_counts: selectors.AccountCounts) -> Chart:
    rows = account_counts.top_tags(selectors.TOP_TAGS)
    return Chart(
        "tag",
        f"Top {selectors.TOP_TAGS} tags",
        "bar",
        [tag for tag, _ in rows],
        [{"label": "Accounts", "data": [total for _, total in rows]}],
        [[account_list_url(tag=tag) for tag, _ in rows]],
        horizontal=True,
    )


def _geography_chart(account_counts: selectors.AccountCounts) -> Chart:
    rows = account_counts.geographies_by_size()
    return Chart(
        "geography",
        "Accounts by geography",
        "bar",
        [geography or "No geography" for geography, _ in rows],
        [{"label": "Accounts", "data": [total for _, total in rows]}],
        [[account_list_url(geography=geography or GEOGRAPHY_NONE) for geography, _ in rows]],
    )


def _quality_charts(account_counts: selectors.AccountCounts) -> list[Chart]:
    quality = account_counts.quality
    completeness = Chart(
        "completeness",
        "Data completeness",
        "bar",
        ["All mandatory fields", "Missing industry", "Missing company size", "Missing geography"],
        [
            {
                "label": "Accounts",
                "data": [
                    quality["complete"],
                    quality["missing_industry"],
                    quality["missing_size"],
                    quality["missing_geography"],
                ],
            }
        ],
        [
            [
                account_list_url(complete="true"),
                account_list_url(missing_field="industry"),
                account_list_url(missing_field="size"),
                account_list_url(missing_field="geography"),
            ]
        ],
        description=f"{quality['complete']:,} of {quality['total']:,} accounts have industry, "
        "company size and geography.",
    )
    verification = account_counts.verification
    verification_chart = Chart(
        "verification",
        "Verification",
        "doughnut",
        [label for _, label in VerificationStatus.choices],
        [
            {
                "label": "Accounts",
                "data": [verification[value] for value in VerificationStatus.values],
            }
        ],
        [[account_list_url(verification_status=value) for value in VerificationStatus.values]],
        colors=[VERIFICATION_COLORS[value] for value in VerificationStatus.values],
        description=_verification_description(account_counts),
    )
    backlog = Chart(
        "backlog",
        "Needs-enrichment backlog by missing or conflicting field",
        "bar",
        ["Industry", "Company size", "Geography", "Conflicting sources"],
        [
            {
                "label": "Accounts",
                "data": [
                    quality["backlog_industry"],
                    quality["backlog_size"],
                    quality["backlog_geography"],
                    quality["backlog_conflicting"],
                ],
            }
        ],
        [
            [
                account_list_url(needs_enrichment="true", missing_field="industry"),
                account_list_url(needs_enrichment="true", missing_field="size"),
                account_list_url(needs_enrichment="true", missing_field="geography"),
                account_list_url(needs_enrichment="true", verification_status="conflicting"),
            ]
        ],
        description=_backlog_description(quality),
        description_url=account_list_url(needs_enrichment="true"),
    )
    return [completeness, verification_chart, backlog]


def _verification_description(account_counts: selectors.AccountCounts) -> str:
    """Count fully and partly verified accounts, and the accounts per verified field.

    An account is verified only when industry, company size and country all are, so the
    share of verified accounts alone would hide every account with one or two of them.
    """
    verification = account_counts.verification
    quality = account_counts.quality
    total = sum(verification.values())
    verified = verification[VerificationStatus.VERIFIED]
    share = selectors.percent(verified, total)
    share_text = f" ({share}%)" if share is not None else ""
    fields = ", ".join(
        f"{FIELD_LABELS[name]} {quality[f'verified_{name}']:,}" for name in MANDATORY_FIELDS
    )
    return (
        f"Fully verified accounts: {verified:,} of {total:,}{share_text}. "
        f"Partly verified: {quality['partly_verified']:,}. "
        f"Accounts per verified field: {fields}."
    )


def _backlog_description(quality: dict[str, int]) -> str:
    """Describe the backlog so that its total adds up with the completeness chart's.

    An account whose mandatory field has conflicting sources needs enrichment although
    the completeness chart counts it as complete, so the sentence counts it apart.
    """
    # NOTE: this takes every complete account in the backlog as conflicting, which is true
    # while needs_enrichment is current. An account not yet scored again after its fields
    # were filled in would be counted here too.
    total = quality["backlog"]
    incomplete = quality["backlog_incomplete"]
    complete = total - incomplete
    text = (
        f"{total:,} account needs enrichment"
        if total == 1
        else f"{total:,} accounts need enrichment"
    )
    if complete == 0:
        return f"{text}."
    lack = "lacks" if incomplete == 1 else "lack"
    have = "has" if complete == 1 else "have"
    return (
        f"{text}: {incomplete:,} {lack} industry, company size or geography, and "
        f"{complete:,} {have} all three but with conflicting sources."
    )


def _accuracy_chart(user_ids: list[int] | None, linked: bool) -> Chart:
    """Chart each month's accuracy, with the corrections of framework tags as bars.

    A correction of a tag that the framework computed leaves the rep's accuracy alone
    (``selectors.accuracy_counts``), so the line alone would hide it.
    """
    rows = selectors.review_accuracy_by_month(user_ids)
    urls = []
    for row in rows:
        period = month_period(row["month"])
        query = urlencode({"start": period.first_day, "end": period.last_day})
        urls.append(f"{reverse('audits:review-correction-list')}?{query}" if linked else "")
    framework_corrected = sum(row["framework_corrected"] for row in rows)
    return Chart(
        "accuracy",
        "Review accuracy by month",
        "line",
        [f"{row['month']:%Y-%m}" for row in rows],
        [
            {"label": "Confirmed of reviewed (%)", "data": [row["accuracy"] for row in rows]},
            framework_corrections_dataset([row["framework_corrected"] for row in rows]),
        ],
        [urls, urls],
        description=f"Framework tags corrected: {framework_corrected:,}. A correction counts "
        "against a rep only when the rep set the corrected tag.",
        percent=True,
    )


def _violations_chart(user_ids: list[int] | None, linked: bool) -> Chart:
    by_month = selectors.violations_by_month(user_ids)
    months = sorted(by_month)
    datasets, urls = [], []
    for kind, label in ViolationKind.choices:
        datasets.append({"label": label, "data": [by_month[m].get(kind, 0) for m in months]})
        urls.append(
            [
                f"{reverse('audits:audit-report', args=[f'{m:%Y-%m}'])}?kind={kind}"
                if linked
                else ""
                for m in months
            ]
        )
    return Chart(
        "violations",
        "Audit violations by month",
        "bar",
        [f"{month:%Y-%m}" for month in months],
        datasets,
        urls,
        stacked=True,
    )


class DashboardView(PermissionRequiredMixin, TemplateView):
    """Charts of the whole account base, plus reviews and findings the user may see."""

    permission = can_view_dashboards
    template_name = "audits/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        scope = selectors.findings_scope(user)
        linked = can_view_audits(user)
        account_counts = selectors.account_counts()
        charts = [
            _tier_chart(account_counts),
            _tag_chart(account_counts),
            _geography_chart(account_counts),
            *_quality_charts(account_counts),
            _accuracy_chart(scope, linked),
            _violations_chart(scope, linked),
        ]
        context["charts"] = charts
        context["chart_data"] = {chart.key: _chart_json(chart) for chart in charts}
        if scope is None:
            context["scope_note"] = "all teams"
        elif linked:
            context["scope_note"] = "your team"
        else:
            context["scope_note"] = "your own accounts"
        return context


def _chart_json(chart: Chart) -> dict[str, Any]:
    data = asdict(chart)
    data.pop("rows")
    data.pop("description")
    return data
