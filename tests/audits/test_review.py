"""Manager review: sampling, decisions, accuracy and the corrections list."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import roles
from accounts.models import SegmentOverride
from audits.models import ReviewItem, ReviewSession
from audits.periods import Period, local_today, quarter_of
from audits.selectors import (
    accuracy_by_rep,
    accuracy_totals,
    accuracy_trend,
    review_accuracy_by_month,
    session_accuracy,
)
from audits.services import (
    ShownDecision,
    StaleDecisionError,
    review_item_confirm,
    review_item_correct,
    review_session_create,
)
from tests.factories import UserFactory

TODAY = Period(local_today() - timedelta(days=7), local_today())


@pytest.fixture
def segmented(scored, team):
    """Six accounts of rep A, three of rep B and one of another team, scored today."""
    now = timezone.now()
    return {
        "a": [scored(owner=team["rep_a"], scored_at=now) for _ in range(6)],
        "b": [scored(owner=team["rep_b"], scored_at=now) for _ in range(3)],
        "other": [scored(owner=team["outsider"], scored_at=now)],
        "old": [scored(owner=team["rep_a"], scored_at=now - timedelta(days=60))],
    }


def new_session(team, size=4, reps=("rep_a", "rep_b"), seed=7) -> ReviewSession:
    return review_session_create(
        manager=team["manager"],
        rep_ids=[team[name].pk for name in reps],
        period=TODAY,
        sample_size=size,
        seed=seed,
    )


def test_sample_takes_turns_between_reps(segmented, team):
    session = new_session(team, size=4)
    owners = [item.account.owner_id for item in session.items.order_by("position")]
    assert owners.count(team["rep_a"].pk) == 2
    assert owners.count(team["rep_b"].pk) == 2


def test_sample_only_period_and_reps(segmented, team):
    session = new_session(team, size=50)
    sampled = set(session.items.values_list("account_id", flat=True))
    expected = {account.pk for account in segmented["a"] + segmented["b"]}
    assert sampled == expected


def test_sample_same_seed_same_order(segmented, team):
    first = new_session(team, seed=11)
    second = new_session(team, seed=11)
    assert list(first.items.values_list("account_id", flat=True)) == list(
        second.items.values_list("account_id", flat=True)
    )


def test_sample_stored_with_positions(segmented, team):
    session = new_session(team, size=3)
    assert list(session.items.values_list("position", flat=True)) == [1, 2, 3]
    assert session.items.filter(decision="pending").count() == 3


def test_session_other_team_rep_rejected(segmented, team):
    with pytest.raises(ValidationError, match="not in your team"):
        new_session(team, reps=("outsider",))


def test_session_without_accounts_rejected(segmented, team):
    long_ago = Period(TODAY.first_day - timedelta(days=400), TODAY.first_day - timedelta(days=300))
    with pytest.raises(ValidationError, match="None of the chosen reps"):
        review_session_create(
            manager=team["manager"], rep_ids=[team["rep_a"].pk], period=long_ago, seed=1
        )


def test_sample_size_limit(segmented, team):
    with pytest.raises(ValidationError, match="out of range"):
        new_session(team, size=500)


def test_confirm_records_confirmation(segmented, team):
    item = new_session(team).items.first()
    review_item_confirm(item=item, user=team["manager"])
    override = SegmentOverride.objects.get()
    item.refresh_from_db()
    assert item.decision == "confirmed"
    assert override.kind == "review_confirmation"
    assert override.rep == item.rep


def test_correct_applies_tag_and_tier(segmented, team):
    item = new_session(team).items.first()
    review_item_correct(
        item=item, user=team["manager"], reason="Only 60 staff", tag="SaaS – SMB – US", tier="low"
    )
    item.account.refresh_from_db()
    override = SegmentOverride.objects.get()
    assert item.account.tag == "SaaS – SMB – US"
    assert item.account.tier == "low"
    assert override.kind == "review_correction"
    assert override.reason == "Only 60 staff"
    assert override.rep == item.rep


def test_correct_requires_reason(segmented, team):
    item = new_session(team).items.first()
    with pytest.raises(ValidationError, match="reason is required"):
        review_item_correct(item=item, user=team["manager"], reason=" ", tier="low")


def test_correct_without_change_rejected(segmented, team):
    item = new_session(team).items.first()
    with pytest.raises(ValidationError, match="changes neither"):
        review_item_correct(
            item=item, user=team["manager"], reason="x", tag=item.account.tag, tier=""
        )


def test_correct_with_respelled_tag_rejected(segmented, team):
    """A tag that differs only in case and dashes is the same tag, so nothing changes."""
    item = new_session(team).items.first()
    respelled = item.account.tag.lower().replace(" – ", "-")
    with pytest.raises(ValidationError, match="changes neither"):
        review_item_correct(item=item, user=team["manager"], reason="x", tag=respelled, tier="")
    assert not SegmentOverride.objects.exists()


def test_decision_outside_team_denied(segmented, team, make_user):
    from accounts import roles

    item = new_session(team).items.first()
    stranger = make_user(roles.SALES_MANAGER, username="stranger")
    with pytest.raises(PermissionDenied):
        review_item_confirm(item=item, user=stranger)


def set_tag_by_hand(account, user, rep):
    """Record ``user``'s manual tag on the account a minute ago, before any session."""
    change = SegmentOverride.objects.create(
        account=account,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        old_tag="",
        new_tag=account.tag,
        reason="Set by hand",
        user=user,
        rep=rep,
    )
    SegmentOverride.objects.filter(pk=change.pk).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )


def test_session_accuracy_per_rep(segmented, team):
    for account in segmented["a"] + segmented["b"]:
        set_tag_by_hand(account, account.owner, account.owner)
    session = new_session(team, size=4)
    items = list(session.items.select_related("account").order_by("position"))
    review_item_confirm(item=items[0], user=team["manager"])
    review_item_correct(item=items[2], user=team["manager"], reason="Wrong", tier="low")
    rows = {row.rep_id: row for row in session_accuracy(session)}
    first_rep, third_rep = items[0].rep_id, items[2].rep_id
    assert rows[first_rep].confirmed == 1
    assert rows[third_rep].corrected == 1
    assert rows[third_rep].framework_corrected == 0
    assert rows[third_rep].accuracy == 0.0 if first_rep != third_rep else 50.0


def decide_one_correction(team, item):
    review_item_correct(item=item, user=team["manager"], reason="Wrong", tier="low")
    return {row.rep_id: row for row in session_accuracy(item.session)}[item.rep_id]


def test_framework_tag_correction_not_rep_error(segmented, team):
    session = new_session(team, size=1, reps=("rep_a",))
    item = session.items.get()
    row = decide_one_correction(team, item)
    assert row.corrected == 0
    assert row.framework_corrected == 1
    assert row.reviewed == 0
    assert row.accuracy is None

    by_rep = {row.rep_id: row for row in accuracy_by_rep(TODAY, None)}
    assert by_rep[item.rep_id].corrected == 0
    assert by_rep[item.rep_id].framework_corrected == 1
    assert by_rep[item.rep_id].accuracy is None

    month = review_accuracy_by_month(None)[-1]
    assert month["reviewed"] == 1
    assert month["framework_corrected"] == 1
    assert month["accuracy"] == 0.0

    trend = accuracy_trend(team["manager"])
    assert trend.datasets[0]["data"] == [None]


def test_rep_tag_correction_counts_against_rep(segmented, team):
    for account in segmented["a"]:
        set_tag_by_hand(account, team["rep_a"], team["rep_a"])
    item = new_session(team, size=1, reps=("rep_a",)).items.get()
    row = decide_one_correction(team, item)
    assert row.corrected == 1
    assert row.framework_corrected == 0
    assert row.accuracy == 0.0
    assert accuracy_trend(team["manager"]).datasets[0]["data"] == [0.0]


def test_other_person_tag_correction_ignored(segmented, team):
    for account in segmented["a"]:
        set_tag_by_hand(account, team["manager"], team["rep_a"])
    item = new_session(team, size=1, reps=("rep_a",)).items.get()
    row = decide_one_correction(team, item)
    assert row.corrected == 0
    assert row.framework_corrected == 0
    assert row.accuracy is None


def test_other_person_tag_confirmation_ignored(segmented, team):
    for account in segmented["a"]:
        set_tag_by_hand(account, team["manager"], team["rep_a"])
    session = new_session(team, size=1, reps=("rep_a",))
    review_item_confirm(item=session.items.get(), user=team["manager"])

    rows = session_accuracy(session)
    totals = accuracy_totals(rows)
    month = review_accuracy_by_month(None)[-1]

    assert rows[0].confirmed == 0
    assert rows[0].accuracy is None
    assert totals.framework.reviewed == 0
    assert totals.others.confirmed == 1
    assert totals.others.corrected == 0
    assert totals.total.accuracy == 100.0
    assert month["reviewed"] == 1
    assert month["accuracy"] == 100.0


def test_session_page_shows_framework_corrections(client, segmented, team):
    session = new_session(team, size=1, reps=("rep_a",))
    decide_one_correction(team, session.items.get())
    client.force_login(team["manager"])
    html = client.get(reverse("audits:review-session-detail", args=[session.pk])).content.decode()
    assert 'data-testid="framework-corrected">1</td>' in html


@pytest.fixture
def framework_tags_reviewed(segmented, team) -> ReviewSession:
    """A session of two framework-computed tags of rep A: one confirmed, one corrected."""
    session = new_session(team, size=2, reps=("rep_a",))
    first, second = session.items.order_by("position")
    review_item_confirm(item=first, user=team["manager"])
    review_item_correct(item=second, user=team["manager"], reason="Wrong", tier="low")
    return session


def test_framework_tags_leave_reps_alone(framework_tags_reviewed, team):
    rows = session_accuracy(framework_tags_reviewed)
    quarter = accuracy_by_rep(TODAY, None)

    for row in rows + quarter:
        assert row.rep_id == team["rep_a"].pk
        assert row.confirmed == 0
        assert row.corrected == 0
        assert row.reviewed == 0
        assert row.accuracy is None
        assert row.framework_confirmed == 1
        assert row.framework_corrected == 1
    assert accuracy_trend(team["manager"]).datasets[0]["data"] == [None]


def test_framework_tags_get_own_line(framework_tags_reviewed):
    totals = accuracy_totals(session_accuracy(framework_tags_reviewed))

    assert totals.framework.confirmed == 1
    assert totals.framework.corrected == 1
    assert totals.framework.accuracy == 50.0
    assert totals.others.reviewed == 0
    assert totals.total.confirmed == 1
    assert totals.total.corrected == 1
    assert totals.total.accuracy == 50.0


def test_framework_tags_in_monthly_accuracy(framework_tags_reviewed):
    month = review_accuracy_by_month(None)[-1]

    assert month["reviewed"] == 2
    assert month["confirmed"] == 1
    assert month["framework_confirmed"] == 1
    assert month["framework_corrected"] == 1
    assert month["accuracy"] == 50.0


def test_framework_tags_on_session_page(client, framework_tags_reviewed, team):
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[framework_tags_reviewed.pk])

    html = client.get(url).content.decode()

    assert '<td class="text-end tabular-nums" data-testid="rep-accuracy">—</td>' in html
    assert 'data-testid="framework-confirmed">1</td>' in html
    assert 'data-testid="framework-corrected">1</td>' in html
    assert 'data-testid="framework-accuracy">50%</td>' in html
    assert 'data-testid="overall-accuracy">50%</td>' in html
    assert 'data-testid="others-accuracy-row"' not in html


def test_framework_tags_on_quarterly_report(client, framework_tags_reviewed, make_user):
    year, quarter = quarter_of(local_today())
    client.force_login(make_user(roles.SALES_LEADERSHIP, username="boss"))

    html = client.get(reverse("audits:quarterly-report", args=[f"{year}-Q{quarter}"])).content
    html = html.decode()

    assert "Review accuracy: 50% of 2 reviewed" in html
    assert 'data-testid="framework-accuracy">50%</td>' in html
    assert 'data-testid="overall-accuracy">50%</td>' in html


def test_framework_tags_on_dashboard(client, framework_tags_reviewed, team):
    client.force_login(team["manager"])

    response = client.get(reverse("audits:dashboard"))

    chart = next(chart for chart in response.context["charts"] if chart.key == "accuracy")
    assert chart.labels == [f"{local_today():%Y-%m}"]
    assert chart.datasets[0]["data"] == [50.0]


def test_rep_tags_count_for_their_reps(segmented, team):
    for account in segmented["a"] + segmented["b"]:
        set_tag_by_hand(account, account.owner, account.owner)
    session = new_session(team, size=2)
    items = {item.rep_id: item for item in session.items.all()}
    review_item_confirm(item=items[team["rep_a"].pk], user=team["manager"])
    review_item_correct(
        item=items[team["rep_b"].pk], user=team["manager"], reason="Wrong", tier="low"
    )

    rows = {row.rep_id: row for row in session_accuracy(session)}
    totals = accuracy_totals(list(rows.values()))
    month = review_accuracy_by_month(None)[-1]

    rep_a, rep_b = rows[team["rep_a"].pk], rows[team["rep_b"].pk]
    assert (rep_a.confirmed, rep_a.corrected, rep_a.accuracy) == (1, 0, 100.0)
    assert (rep_b.confirmed, rep_b.corrected, rep_b.accuracy) == (0, 1, 0.0)
    assert totals.framework.reviewed == 0
    assert totals.others.reviewed == 0
    assert totals.total.accuracy == 50.0
    assert month["reviewed"] == 2
    assert month["framework_confirmed"] == 0
    assert month["accuracy"] == 50.0


def test_trend_shows_framework_corrections(client, segmented, team):
    session = new_session(team, size=1, reps=("rep_a",))
    decide_one_correction(team, session.items.get())
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-list"))
    datasets = response.context["chart_data"]["trend"]["datasets"]
    bars = datasets[-1]
    row = response.content.decode().split('data-testid="trend-framework-corrected"')[1]
    assert bars["label"] == "Framework tags corrected"
    assert bars["data"] == [1]
    assert bars["yAxisID"] == "count"
    assert datasets[0]["data"] == [None]
    assert '<td class="text-end tabular-nums">1</td>' in row.split("</tr>")[0]


def test_dashboard_accuracy_shows_framework_corrections(client, segmented, team):
    session = new_session(team, size=1, reps=("rep_a",))
    decide_one_correction(team, session.items.get())
    client.force_login(team["manager"])
    response = client.get(reverse("audits:dashboard"))
    chart = next(chart for chart in response.context["charts"] if chart.key == "accuracy")
    bars = chart.datasets[1]
    framework_rows = [row for row in chart.rows if "Framework tags corrected" in row["label"]]
    assert bars["label"] == "Framework tags corrected"
    assert bars["data"] == [1]
    assert chart.datasets[0]["data"] == [0.0]
    assert chart.description.startswith("Framework tags corrected: 1.")
    assert [row["value"] for row in framework_rows] == [1]
    assert framework_rows[0]["percent"] is False
    html = response.content.decode()
    values = html.split('data-testid="chart-accuracy"')[1].split("</section>")[0]
    framework_cell = values.split("· Framework tags corrected</a></th>")[1].split("</td>")[0]
    assert "Framework tags corrected: 1." in values
    assert framework_cell.strip() == '<td class="text-end tabular-nums">1'


def test_accuracy_trend_one_point_per_session(segmented, team):
    for seed in (1, 2):
        session = new_session(team, seed=seed)
        review_item_confirm(item=session.items.first(), user=team["manager"])
    trend = accuracy_trend(team["manager"])
    assert len(trend.labels) == 2
    assert all(len(dataset["data"]) == 2 for dataset in trend.datasets)


# Pages.


def test_review_page_for_manager(client, segmented, team):
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ana" in html
    assert "Olga" not in html


def test_trend_of_one_rep_is_labelled(client, segmented, team):
    for account in segmented["a"]:
        set_tag_by_hand(account, team["rep_a"], team["rep_a"])
    session = new_session(team, size=2, reps=("rep_a",))
    for item in session.items.all():
        review_item_confirm(item=item, user=team["manager"])
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-list"))
    chart = response.context["chart_data"]["trend"]
    values = response.content.decode().split('data-testid="trend-values"')[1]
    assert len(chart["datasets"]) == 2
    assert chart["datasets"][-1]["label"] == "Framework tags corrected"
    assert chart["legend"] is True
    assert "Ana" in values
    assert "100%" in values


def test_review_page_denied_to_sdr(client, team):
    client.force_login(team["rep_a"])
    response = client.get(reverse("audits:review-session-list"))
    assert response.status_code == 403


def test_start_review_redirects_to_session(client, segmented, team):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "reps": [team["rep_a"].pk],
            "period_start": TODAY.first_day.isoformat(),
            "period_end": TODAY.last_day.isoformat(),
            "sample_size": 3,
        },
    )
    session = ReviewSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("audits:review-session-detail", args=[session.pk])
    assert session.items.count() == 3


def test_start_review_rejects_other_team_rep(client, segmented, team):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "reps": [team["outsider"].pk],
            "period_start": TODAY.first_day.isoformat(),
            "period_end": TODAY.last_day.isoformat(),
            "sample_size": 3,
        },
    )
    assert response.status_code == 400
    assert not ReviewSession.objects.exists()


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("0", "0 is below the minimum of 1: enter a whole number from 1 to "),
        ("-3", "-3 is below the minimum of 1: enter a whole number from 1 to "),
        ("100000", "100000 is above the maximum of "),
        ("ten", "“ten” is not a whole number: enter a whole number from 1 to "),
    ],
)
def test_start_review_sample_size_named(client, segmented, team, size, message):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "reps": [team["rep_a"].pk],
            "period_start": TODAY.first_day.isoformat(),
            "period_end": TODAY.last_day.isoformat(),
            "sample_size": size,
        },
    )
    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert not ReviewSession.objects.exists()


def test_start_review_unknown_rep_named(client, segmented, team):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "reps": ["999999"],
            "period_start": TODAY.first_day.isoformat(),
            "period_end": TODAY.last_day.isoformat(),
            "sample_size": 3,
        },
    )
    assert response.status_code == 400
    assert escape("“999999” is not one of the listed people") in response.content.decode()


def test_start_url_get_redirects_to_list(client, team):
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-create"))
    assert response.status_code == 302
    assert response["Location"] == reverse("audits:review-session-list")


def test_start_url_get_denied_to_sdr(client, team):
    client.force_login(team["rep_a"])
    response = client.get(reverse("audits:review-session-create"))
    assert response.status_code == 403


def test_session_card_page(client, segmented, team):
    session = new_session(team)
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-detail", args=[session.pk]))
    html = response.content.decode()
    first = session.items.get(position=1).account
    assert response.status_code == 200
    assert first.name in html
    assert 'data-review-action="confirm"' in html


def test_session_table_page(client, segmented, team):
    session = new_session(team, size=4)
    client.force_login(team["manager"])
    response = client.get(
        reverse("audits:review-session-detail", args=[session.pk]), {"view": "table"}
    )
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="review-row"') == 4


def test_other_manager_cannot_open_session(client, segmented, team, make_user):
    from accounts import roles

    session = new_session(team)
    client.force_login(make_user(roles.SALES_MANAGER, username="stranger"))
    response = client.get(reverse("audits:review-session-detail", args=[session.pk]))
    assert response.status_code == 404


def test_confirm_returns_next_card_and_accuracy(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    item.refresh_from_db()
    assert response.status_code == 200
    assert item.decision == "confirmed"
    assert session.items.get(position=2).account.name in html
    assert 'hx-swap-oob="true"' in html
    assert "100%" in html


def test_confirm_pushes_next_card_address(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card"},
        HTTP_HX_REQUEST="true",
    )

    detail = reverse("audits:review-session-detail", args=[session.pk])
    assert response["HX-Push-Url"] == f"{detail}?position=2"
    assert 'hx-history="false"' in response.content.decode()


def test_moving_to_other_card_clears_message(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    confirmed = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card"},
        HTTP_HX_REQUEST="true",
    ).content.decode()

    moved = client.get(
        reverse("audits:review-item-card", args=[session.pk, 3]), HTTP_HX_REQUEST="true"
    ).content.decode()

    assert f"{item.account_label}: confirmed.</div>" in confirmed
    assert session.items.get(position=3).account.name in moved
    assert (
        '<div id="review-message" class="visually-hidden" aria-live="polite" '
        'hx-swap-oob="true"></div>'
    ) in moved


def test_table_confirm_pushes_no_address(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "table"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "HX-Push-Url" not in response


def test_corrected_item_cannot_be_confirmed(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    review_item_correct(item=item, user=team["manager"], reason="Only 60 staff", tier="low")
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    item.refresh_from_db()
    assert response.status_code == 422
    assert item.decision == "corrected"
    assert html.count("was corrected in this review, so it cannot be confirmed") == 1
    assert 'data-review-action="confirm"' not in html
    assert SegmentOverride.objects.filter(kind="review_confirmation").count() == 0


def test_table_confirm_of_corrected_item_explains(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    review_item_correct(item=item, user=team["manager"], reason="Only 60 staff", tier="low")
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "table"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="review-error"' in html
    assert "was corrected in this review, so it cannot be confirmed" in html


def test_second_confirmation_records_nothing(segmented, team):
    item = new_session(team).items.first()
    review_item_confirm(item=item, user=team["manager"])
    review_item_confirm(item=item, user=team["manager"])
    assert SegmentOverride.objects.filter(kind="review_confirmation").count() == 1


def test_confirmed_item_can_be_corrected(segmented, team):
    item = new_session(team).items.first()
    review_item_confirm(item=item, user=team["manager"])
    review_item_correct(item=item, user=team["manager"], reason="Only 60 staff", tier="low")
    item.refresh_from_db()
    assert item.decision == "corrected"


def test_correct_without_reason_shows_error(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "card", "tag": "FinTech – SMB – US", "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    item.refresh_from_db()
    assert response.status_code == 422
    assert "Enter the reason for the correction." in response.content.decode()
    assert item.decision == "pending"


def test_table_correct_returns_row(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=2)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "table", "tier": "low", "reason": "Too small"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="review-row-{item.pk}"')
    assert "Corrected" in html


def test_table_rejected_correction_keeps_input(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=2)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "table", "tag": "Not A Segment", "tier": "high", "reason": "Wrong fit"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    item.refresh_from_db()
    assert "does not follow the tag template" in html
    assert 'value="Not A Segment"' in html
    assert 'value="Wrong fit"' in html
    assert '<option value="high" selected>' in html
    assert item.decision == "pending"


def test_card_rejected_correction_keeps_tier(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "card", "tag": "Not A Segment", "tier": "medium", "reason": "Wrong fit"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    item.refresh_from_db()
    assert "does not follow the tag template" in html
    assert 'value="Not A Segment"' in html
    assert 'value="Wrong fit"' in html
    # Saving again after fixing the tag must still apply the chosen tier.
    assert '<option value="medium" selected>' in html
    assert item.decision == "pending"


def test_session_page_query_count(client, segmented, team, django_assert_max_num_queries):
    session = new_session(team, size=4)
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[session.pk])
    client.get(url)
    with django_assert_max_num_queries(12):
        client.get(url, {"view": "table"})


def test_corrections_list_and_filter(client, segmented, team):
    session = new_session(team, size=4)
    items = list(session.items.order_by("position"))
    for item in items[:2]:
        review_item_correct(item=item, user=team["manager"], reason=f"Fix {item.pk}", tier="low")
    client.force_login(team["manager"])
    url = reverse("audits:review-correction-list")
    everything = client.get(url).content.decode()
    one_rep = client.get(url, {"rep": items[0].rep_id}).content.decode()
    assert f"Fix {items[0].pk}" in everything
    assert f"Fix {items[1].pk}" in everything
    assert f"Fix {items[1].pk}" not in one_rep or items[0].rep_id == items[1].rep_id


@pytest.mark.parametrize("field", ["rep", "reviewer"])
def test_corrections_unknown_user_named(client, segmented, team, field):
    client.force_login(team["manager"])
    html = client.get(reverse("audits:review-correction-list"), {field: "abc"}).content.decode()
    assert escape("“abc” is not one of the listed people: choose one from the list.") in html


def test_corrections_list_keeps_reason_lines(client, segmented, team):
    session = new_session(team, size=2)
    item = session.items.get(position=1)
    review_item_correct(
        item=item, user=team["manager"], reason="Small team.\nNo budget.", tier="low"
    )
    client.force_login(team["manager"])
    html = client.get(reverse("audits:review-correction-list")).content.decode()
    assert "Small team.<br>No budget." in html


def test_corrections_page_past_end_shows_last(client, segmented, team):
    session = new_session(team, size=2)
    item = session.items.get(position=1)
    review_item_correct(item=item, user=team["manager"], reason="Only 60 staff", tier="low")
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-correction-list"), {"page": 50})
    assert response.status_code == 200
    assert "Only 60 staff" in response.content.decode()


def test_sessions_page_past_end_shows_last(client, segmented, team):
    session = new_session(team, size=2)
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-session-list"), {"page": 9})
    assert response.status_code == 200
    assert reverse("audits:review-session-detail", args=[session.pk]) in response.content.decode()


def test_corrections_reviewer_choices(client, segmented, team):
    item = new_session(team, size=1).items.first()
    review_item_correct(item=item, user=team["manager"], reason="Fix", tier="low")
    client.force_login(team["manager"])
    url = reverse("audits:review-correction-list")
    form = client.get(url).context["form"]
    reviewers = list(form.fields["reviewer"].queryset)
    filtered = client.get(url, {"reviewer": team["manager"].pk}).content.decode()
    assert reviewers == [team["manager"]]
    assert team["rep_a"] not in reviewers
    assert "Fix" in filtered


def test_corrections_csv_neutralizes(client, segmented, team):
    item = new_session(team).items.first()
    review_item_correct(item=item, user=team["manager"], reason="=HYPERLINK(1)", tier="low")
    client.force_login(team["manager"])
    response = client.get(reverse("audits:review-correction-export"))
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in body


def test_corrections_hidden_from_other_team(client, segmented, team, make_user):
    from accounts import roles

    item = new_session(team).items.first()
    review_item_correct(item=item, user=team["manager"], reason="Secret", tier="low")
    client.force_login(make_user(roles.SALES_MANAGER, username="stranger"))
    response = client.get(reverse("audits:review-correction-list"))
    assert "Secret" not in response.content.decode()


def test_review_until_last_date_rejected(client, segmented, team):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "reps": [team["rep_a"].pk],
            "period_start": TODAY.first_day.isoformat(),
            "period_end": "9999-12-31",
            "sample_size": 3,
        },
    )
    assert response.status_code == 400
    assert "9999-12-31 is outside the dates supported" in response.content.decode()
    assert not ReviewSession.objects.exists()


@pytest.mark.parametrize(
    "params", [{"end": "9999-12-31"}, {"start": "0001-01-01"}, {"start": "2026-13-01"}]
)
def test_corrections_invalid_date_is_400(client, segmented, team, params):
    client.force_login(team["manager"])
    page = client.get(reverse("audits:review-correction-list"), params)
    export = client.get(reverse("audits:review-correction-export"), params)
    assert page.status_code == 400
    assert export.status_code == 400
    assert "The corrections were not exported: fix these filters" in export.content.decode()


def test_review_item_unique_per_session():
    constraints = {c.name for c in ReviewItem._meta.constraints}
    assert "reviewitem_unique_account" in constraints


@pytest.mark.parametrize(
    ("view", "reason", "stored"),
    [
        ("card", "🚀" * 500, "🚀" * 500),
        ("table", "🚀" * 500, "🚀" * 500),
        ("card", "line\r\n" * 100, "line\n" * 99 + "line"),
    ],
)
def test_correction_reason_counts_code_points(client, segmented, team, view, reason, stored):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": view, "tier": "low", "reason": reason},
        HTTP_HX_REQUEST="true",
    )
    item.refresh_from_db()
    assert response.status_code == 200
    assert item.decision == "corrected"
    assert item.override.reason == stored


def test_correction_reason_over_limit_rejected(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "card", "tier": "low", "reason": "🚀" * 501},
        HTTP_HX_REQUEST="true",
    )
    item.refresh_from_db()
    assert response.status_code == 422
    assert "Reason is 501 characters long, more than the 500 allowed" in (response.content.decode())
    assert item.decision == "pending"


@pytest.mark.parametrize(("view", "prefix"), [("card", "correct"), ("table", "row")])
def test_correction_reason_input_has_counter(client, segmented, team, view, prefix):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[session.pk])
    html = client.get(url, {"view": view}).content.decode()
    start = html.index(f'<input id="{prefix}-reason-{item.pk}"')
    reason_input = html[start : html.index(">", start)]
    assert "maxlength" not in reason_input
    assert 'data-max-length="500"' in reason_input
    assert f'data-counter="{prefix}-reason-{item.pk}-counter"' in reason_input
    assert f'<span id="{prefix}-reason-{item.pk}-counter"' in html


def test_start_review_names_missing_reps(client, segmented, team):
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-session-create"),
        {
            "period_start": TODAY.first_day.isoformat(),
            "period_end": TODAY.last_day.isoformat(),
            "sample_size": "",
        },
    )
    html = response.content.decode()
    assert "This field is required." not in html
    assert "Reps: no rep is ticked. Tick at least one rep whose accounts to sample." in html
    assert "Sample size is empty: enter the number of accounts to review" in html
    assert not ReviewSession.objects.exists()


# Decisions made after the page was loaded, such as in a second tab.


def shown_fields(html: str, item: ReviewItem) -> dict[str, str]:
    """Return the hidden shown_decision and shown_decided_at of the item's correction form."""
    form = html[html.index(f"review-correct-form-{item.pk}") :]
    fields = {}
    for name in ("shown_decision", "shown_decided_at"):
        start = form.index(f'name="{name}" value="') + len(f'name="{name}" value="')
        fields[name] = form[start : form.index('"', start)]
    return fields


def test_page_sends_back_shown_decision(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    review_item_confirm(item=item, user=team["manager"])
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[session.pk])
    html = client.get(url, {"position": 1}).content.decode()
    shown = shown_fields(html, item)

    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "card", "tier": "low", "reason": "Only 60 staff", **shown},
        HTTP_HX_REQUEST="true",
    )

    item.refresh_from_db()
    assert shown["shown_decision"] == "confirmed"
    assert shown["shown_decided_at"] != ""
    assert response.status_code == 200
    assert item.decision == "corrected"


@pytest.mark.parametrize("view", ["card", "table"])
def test_correction_after_other_tab_rejected(client, segmented, team, view):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[session.pk])
    shown = shown_fields(client.get(url, {"position": 1}).content.decode(), item)
    # Another tab corrects the item after this page was loaded.
    review_item_correct(item=item, user=team["manager"], reason="First tab", tier="medium")
    item.refresh_from_db()
    first_override = item.override_id

    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": view, "tier": "low", "reason": "Second tab reason", **shown},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    item.refresh_from_db()
    assert response.status_code == 409
    assert item.decision == "corrected"
    assert item.override_id == first_override
    assert item.account.tier == "medium"
    assert SegmentOverride.objects.filter(kind="review_correction").count() == 1
    assert f"Morgan corrected {item.account.name} on " in html
    assert "after this page was loaded, so your decision was not saved" in html
    assert "The current decision is corrected: tag “" in html
    assert "tier Medium" in html
    assert 'value="Second tab reason"' in html
    assert '<option value="low" selected>' in html
    assert 'name="shown_decision" value="corrected"' in html


def test_saving_again_after_conflict_applies(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])
    url = reverse("audits:review-item-correct", args=[session.pk, item.pk])
    review_item_confirm(item=item, user=team["manager"])
    data = {"view": "card", "tier": "low", "reason": "Too small"}

    stale = client.post(
        url, {**data, "shown_decision": "pending", "shown_decided_at": ""}, HTTP_HX_REQUEST="true"
    )
    again = client.post(
        url, {**data, **shown_fields(stale.content.decode(), item)}, HTTP_HX_REQUEST="true"
    )

    item.refresh_from_db()
    assert stale.status_code == 409
    assert again.status_code == 200
    assert item.decision == "corrected"
    assert item.override.reason == "Too small"


def test_confirm_after_other_tab_correction_rejected(client, segmented, team):
    session = new_session(team)
    item = session.items.get(position=1)
    review_item_correct(item=item, user=team["manager"], reason="Only 60 staff", tier="low")
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card", "shown_decision": "pending", "shown_decided_at": ""},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    item.refresh_from_db()
    assert response.status_code == 409
    assert item.decision == "corrected"
    assert f"Morgan corrected {item.account.name} on " in html
    assert "tier Low" in html
    assert SegmentOverride.objects.filter(kind="review_confirmation").count() == 0


def test_confirm_twice_across_tabs_succeeds(segmented, team):
    """Both tabs want the same outcome, so the second confirmation records nothing new."""
    item = new_session(team).items.first()
    review_item_confirm(item=item, user=team["manager"])

    result = review_item_confirm(
        item=ReviewItem.objects.get(pk=item.pk),
        user=team["manager"],
        shown=ShownDecision("pending", None),
    )

    assert result.decision == "confirmed"
    assert SegmentOverride.objects.filter(kind="review_confirmation").count() == 1


def test_correct_with_stale_shown_raises(segmented, team):
    item = new_session(team).items.first()
    review_item_correct(item=item, user=team["manager"], reason="First", tier="medium")

    with pytest.raises(StaleDecisionError) as raised:
        review_item_correct(
            item=ReviewItem.objects.select_related("account").get(pk=item.pk),
            user=team["manager"],
            reason="Second",
            tier="low",
            shown=ShownDecision("pending", None),
        )

    assert raised.value.item.decision == "corrected"
    assert raised.value.item.override.reason == "First"
    assert SegmentOverride.objects.filter(kind="review_correction").count() == 1


def test_correct_with_current_shown_applies(segmented, team):
    item = new_session(team).items.first()
    review_item_correct(item=item, user=team["manager"], reason="First", tier="medium")
    item.refresh_from_db()

    review_item_correct(
        item=item,
        user=team["manager"],
        reason="Second",
        tier="low",
        shown=ShownDecision(item.decision, item.decided_at),
    )

    item.refresh_from_db()
    assert item.override.reason == "Second"
    assert item.account.tier == "low"


@pytest.mark.parametrize(
    ("shown", "message"),
    [
        (
            {"shown_decision": "maybe"},
            "Shown decision “maybe” is not a review decision: reload the page",
        ),
        (
            {"shown_decision": "confirmed", "shown_decided_at": "yesterday"},
            "Shown decision time “yesterday” is not an ISO 8601 date and time",
        ),
        (
            {"shown_decision": "confirmed", "shown_decided_at": "2026-03-01T10:00:00"},
            "Shown decision time “2026-03-01T10:00:00” has no UTC offset",
        ),
    ],
)
@pytest.mark.parametrize("action", ["confirm", "correct"])
def test_invalid_shown_decision_rejected(client, segmented, team, shown, message, action):
    session = new_session(team)
    item = session.items.get(position=1)
    client.force_login(team["manager"])

    response = client.post(
        reverse(f"audits:review-item-{action}", args=[session.pk, item.pk]),
        {"view": "card", "tier": "low", "reason": "Too small", **shown},
        HTTP_HX_REQUEST="true",
    )

    item.refresh_from_db()
    assert response.status_code == 422
    assert message in response.content.decode()
    assert item.decision == "pending"


# Accounts without a tag.


@pytest.fixture
def untagged_item(scored, team) -> ReviewItem:
    """The pending item of rep A's account that was scored without an industry."""
    account = scored(owner=team["rep_a"], scored_at=timezone.now(), industry=None)
    session = new_session(team, size=1, reps=("rep_a",))
    return session.items.select_related("account").get(account=account)


def test_untagged_fixture_has_no_tag(untagged_item):
    assert untagged_item.account.tag == ""
    assert untagged_item.account.missing_fields == ["industry"]


def test_untagged_confirm_rejected(untagged_item, team):
    with pytest.raises(ValidationError) as raised:
        review_item_confirm(item=untagged_item, user=team["manager"])

    untagged_item.refresh_from_db()
    message = " ".join(raised.value.messages)
    assert f"{untagged_item.account.name} has no tag (missing for scoring: Industry)" in message
    assert "Correct it with a tag, or leave it undecided and send it back" in message
    assert untagged_item.decision == "pending"
    assert not SegmentOverride.objects.exists()


@pytest.mark.parametrize("view", ["card", "table"])
def test_untagged_confirm_page_explains(client, untagged_item, team, view):
    session = untagged_item.session
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, untagged_item.pk]),
        {"view": view, "shown_decision": "pending", "shown_decided_at": ""},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    untagged_item.refresh_from_db()
    assert response.status_code == 422
    assert 'data-testid="review-error"' in html
    assert "has no tag (missing for scoring: Industry), so it cannot be confirmed" in html
    assert untagged_item.decision == "pending"


@pytest.mark.parametrize("view", ["card", "table"])
def test_untagged_item_offers_no_confirm(client, untagged_item, team, view):
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[untagged_item.session_id])

    html = client.get(url, {"view": view}).content.decode()

    assert 'data-testid="review-untagged-note"' in html
    assert "Confirm</button>" not in html


def test_untagged_item_can_be_corrected(untagged_item, team):
    review_item_correct(
        item=untagged_item,
        user=team["manager"],
        reason="Researched: SaaS",
        tag="SaaS – SMB – US",
        tier="low",
    )

    untagged_item.refresh_from_db()
    assert untagged_item.decision == "corrected"
    assert untagged_item.account.tag == "SaaS – SMB – US"


def test_untagged_tier_only_correction_rejected(untagged_item, team):
    with pytest.raises(ValidationError) as error:
        review_item_correct(
            item=untagged_item, user=team["manager"], reason="tier only", tier="high"
        )

    untagged_item.refresh_from_db()
    assert "has no tag, so a correction must give one" in str(error.value)
    assert untagged_item.decision == "pending"


def confirm_without_tag(item: ReviewItem, manager) -> None:
    """Record a confirmation of an untagged account, as the review allowed before."""
    override = SegmentOverride.objects.create(
        account=item.account,
        kind=SegmentOverride.Kind.REVIEW_CONFIRMATION,
        reason="Confirmed in manager review.",
        user=manager,
        rep=item.rep,
    )
    ReviewItem.objects.filter(pk=item.pk).update(
        decision=ReviewItem.Decision.CONFIRMED, override=override, decided_at=timezone.now()
    )


def test_untagged_confirmation_not_accurate(untagged_item, team):
    confirm_without_tag(untagged_item, team["manager"])
    rep = team["rep_a"].pk
    period = Period(local_today(), local_today())

    row = {row.rep_id: row for row in session_accuracy(untagged_item.session)}[rep]
    quarter_row = {row.rep_id: row for row in accuracy_by_rep(period, None)}[rep]
    month = review_accuracy_by_month([rep])[-1]
    trend = accuracy_trend(team["manager"])

    assert row.confirmed == 0
    assert row.untagged == 1
    assert row.reviewed == 1
    assert row.accuracy == 0.0
    assert quarter_row.confirmed == 0
    assert quarter_row.accuracy == 0.0
    assert month["confirmed"] == 0
    assert month["reviewed"] == 1
    assert trend.datasets[0]["data"] == [0.0]


def test_tagged_confirmation_still_accurate(segmented, team):
    for account in segmented["a"]:
        set_tag_by_hand(account, team["rep_a"], team["rep_a"])
    session = new_session(team, size=1, reps=("rep_a",))
    review_item_confirm(item=session.items.get(), user=team["manager"])

    row = {row.rep_id: row for row in session_accuracy(session)}[team["rep_a"].pk]

    assert row.confirmed == 1
    assert row.untagged == 0
    assert row.accuracy == 100.0


def test_accuracy_card_shows_untagged(client, untagged_item, team):
    confirm_without_tag(untagged_item, team["manager"])
    client.force_login(team["manager"])
    url = reverse("audits:review-session-detail", args=[untagged_item.session_id])

    html = client.get(url).content.decode()

    assert '<div class="small text-body-secondary" data-testid="rep-untagged">+1 without a tag' in (
        html
    )
    assert "one confirmed before that rule counts as reviewed, not as accurate." in html


def ticked_reps(client, user) -> set:
    client.force_login(user)
    response = client.get(reverse("audits:review-session-list"))
    return set(response.context["form"]["reps"].value())


def test_start_form_ticks_manager_team(client, team):
    ticked = ticked_reps(client, team["manager"])
    assert ticked == {team["rep_a"].pk, team["rep_b"].pk}


def test_start_form_ticks_all_without_team(client, team):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    ticked = ticked_reps(client, root)
    assert ticked == {team["rep_a"].pk, team["rep_b"].pk, team["outsider"].pk}
