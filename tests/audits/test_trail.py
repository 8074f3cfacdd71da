"""The audit trail: every tracked model, overrides and imports, with diffs and scope."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles, workspace
from accounts.models import Account, ImportRun, Lead, ResearchNote, SegmentOverride
from accounts.research import account_segment_override
from accounts.services import accounts_import
from audits.history import Channel, change_channel
from audits.models import AuditRun, Violation
from audits.periods import previous_month
from audits.trail import (
    CHANNEL_NOT_RECORDED,
    TrailFilter,
    _field_changes,
    trail_iter,
    trail_page,
    trail_rows,
    trail_sources,
)
from enrichment.models import FieldResolution
from segmentation.models import Framework, FrameworkStatus
from tests.factories import AccountFactory


@pytest.fixture
def changes(team, saas):
    """An account created by rep A, renamed on a page by rep B, with a note and a lead."""
    account = AccountFactory(name="Acme", owner=team["rep_a"], industry=saas)
    account.name = "Acme Corp"
    account._history_user = team["rep_b"]
    with change_channel(Channel.PAGE):
        account.save()
    ResearchNote.objects.create(account=account, text="Raised Series B", author=team["rep_a"])
    Lead.objects.create(account=account, first_name="Ada", last_name="Lovelace")
    other = AccountFactory(name="Globex", owner=team["outsider"])
    return {"account": account, "other": other}


def entries(**filters):
    found, _ = trail_page(TrailFilter(**filters), page=1, page_size=100)
    return found


def test_sources_include_every_tracked_model():
    keys = {source.key for source in trail_sources()}
    assert {
        "accounts.account",
        "accounts.accountidentifier",
        "accounts.lead",
        "accounts.researchnote",
        "accounts.userprofile",
        "accounts.segmentoverride",
        "accounts.importrun",
    } <= keys


def test_diff_shows_old_and_new(changes):
    rename = next(e for e in entries() if e.action == "Changed" and e.model_label == "Account")
    change = next(c for c in rename.changes if c.field == "name")
    assert change.old == "Acme"
    assert change.new == "Acme Corp"
    assert rename.channel == "Page"
    assert rename.user == "Ben"
    assert rename.username == "ben"


def test_newest_first(changes):
    found = entries()
    times = [entry.at for entry in found]
    assert times == sorted(times, reverse=True)


def test_per_account_trail(changes):
    found = entries(account_id=changes["account"].pk)
    labels = {entry.model_label for entry in found}
    assert labels == {"Account", "Research note", "Lead"}
    assert all(entry.account_id == changes["account"].pk for entry in found)


def test_filter_by_user(changes, team):
    found = entries(user_id=team["rep_b"].pk)
    assert len(found) == 1
    assert found[0].object_label == "Acme Corp"


def test_filter_by_model(changes):
    found = entries(source_key="accounts.lead")
    assert {entry.model_label for entry in found} == {"Lead"}


def test_filter_by_date_range(changes):
    now = timezone.now()
    assert entries(end=now - timedelta(days=1)) == []
    assert len(entries(start=now - timedelta(hours=1))) >= 5


def test_override_and_import_rows(changes, team, framework):
    account = changes["account"]
    Account.objects.filter(pk=account.pk).update(framework=framework, tag="A", tier="low")
    account.refresh_from_db()
    account_segment_override(
        account=account,
        user=team["manager"],
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Wrong size",
        tier="high",
    )
    ImportRun.objects.create(source="hubspot", file_name="q3.csv", created_by=team["rep_a"])
    found = entries()
    correction = next(e for e in found if e.model_label == "Corrected in manager review")
    imported = next(e for e in found if e.model_label == "Import run")
    assert correction.changes[0].field == "tier"
    assert "Wrong size" in correction.note
    assert "(rep: Ana)" in correction.note
    assert imported.channel == "Import"
    assert imported.object_label == "q3.csv (hubspot)"


def test_trail_page_for_ops(client, make_user, changes):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:trail"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Corp" in html
    assert "Globex" in html


def test_manager_sees_team_changes_only(client, changes, team):
    client.force_login(team["manager"])
    html = client.get(reverse("audits:trail")).content.decode()
    assert "Acme Corp" in html
    assert "Globex" not in html


def test_manager_sees_others_changes_to_team_records(client, changes, team, make_user):
    leadership = make_user(roles.SALES_LEADERSHIP, username="chris")
    run = AuditRun.objects.create(
        month=previous_month(), status="succeeded", started_at=timezone.now()
    )
    findings = {}
    pairs = (
        ("Team finding", team["rep_a"], changes["account"]),
        ("Other finding", team["outsider"], changes["other"]),
    )
    for name, rep, account in pairs:
        finding = Violation(
            audit_run=run,
            account=account,
            kind="unverified_data",
            rule_code="unverified_data.not_verified",
            detail=name,
            severity="minor",
            responsible=rep,
        )
        finding._history_user = leadership
        finding.save()
        findings[name] = finding
    client.force_login(team["manager"])

    response = client.get(reverse("audits:trail"), {"model": "audits.violation"})

    objects = {entry.object_id for entry in response.context["entries"]}
    assert str(findings["Team finding"].pk) in objects
    assert str(findings["Other finding"].pk) not in objects


def test_manager_sees_whole_trail_of_team_account(client, changes, team):
    client.force_login(team["manager"])
    response = client.get(reverse("audits:trail"), {"account": changes["account"].pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in html


def test_trail_denied_to_sdr(client, team):
    client.force_login(team["rep_a"])
    assert client.get(reverse("audits:trail")).status_code == 403


def test_manager_sees_deleted_team_account(client, changes, team):
    account = changes["account"]
    account_id = account.pk
    account._history_user = team["rep_a"]
    account.delete()
    client.force_login(team["manager"])
    response = client.get(reverse("audits:trail"), {"account": account_id})
    assert response.status_code == 200
    assert response.context["account_deleted"] is True
    assert response.context["account"].name == "Acme Corp"
    found = response.context["entries"]
    actions = {(entry.model_label, entry.action) for entry in found}
    assert ("Account", "Deleted") in actions
    assert ("Account", "Created") in actions
    assert ("Lead", "Deleted") in actions
    assert all(entry.account_id == account_id for entry in found)
    assert "Globex" not in response.content.decode()


def test_deleted_account_hidden_from_other_manager(client, changes, team, make_user):
    account = changes["account"]
    account_id = account.pk
    account.delete()
    client.force_login(make_user(roles.SALES_MANAGER, username="other-manager"))
    response = client.get(reverse("audits:trail"), {"account": account_id})
    assert response.status_code == 200
    assert response.context["entries"] == []


def test_override_channel_recorded(changes, team, framework):
    account = changes["account"]
    Account.objects.filter(pk=account.pk).update(framework=framework, tag="A", tier="low")
    with change_channel(Channel.TASK):
        account_segment_override(
            account=account,
            user=team["manager"],
            kind=SegmentOverride.Kind.REVIEW_CORRECTION,
            reason="Wrong size",
            tier="high",
        )
    override = SegmentOverride.objects.get(account=account)
    assert override.channel == Channel.TASK
    correction = next(e for e in entries() if e.model_label == "Corrected in manager review")
    assert correction.channel == "Task"


def test_override_without_channel_shows_dash(changes, team):
    # Overrides recorded before the channel column existed have an empty channel.
    SegmentOverride.objects.create(
        account=changes["account"],
        kind=SegmentOverride.Kind.MANUAL_TAG,
        old_tag="A",
        new_tag="B",
        reason="Older change",
        user=team["rep_a"],
        channel="",
    )
    manual = next(e for e in entries() if e.model_label == "Manual tag")
    assert manual.channel == "—"


def _resolution(account, manager, **fields):
    return FieldResolution.objects.create(
        account=account,
        field=FieldResolution.Field.INDUSTRY,
        value={"label": "SaaS"},
        previous_status="conflicting",
        reason="Annual report",
        resolved_by=manager,
        resolved_at=timezone.now(),
        **fields,
    )


def test_resolution_channel_recorded(changes, team):
    with change_channel(Channel.TASK):
        resolution = _resolution(changes["account"], team["manager"])
    assert resolution.channel == Channel.TASK
    row = next(e for e in entries() if e.model_label == "Conflict resolution")
    assert row.channel == "Task"


def test_resolution_without_channel_shows_not_recorded(changes, team):
    # Resolutions recorded before the channel column existed have an empty channel.
    _resolution(changes["account"], team["manager"], channel="")
    row = next(e for e in entries() if e.model_label == "Conflict resolution")
    assert row.channel == CHANNEL_NOT_RECORDED == "Not recorded"


def test_trail_unknown_account_404(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    assert client.get(reverse("audits:trail"), {"account": 999999}).status_code == 404


def test_trail_paginates(client, make_user, db):
    for number in range(55):
        AccountFactory(name=f"Paged {number}")
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    first = client.get(reverse("audits:trail"))
    second = client.get(reverse("audits:trail"), {"page": 2})
    assert first.context["has_next"] is True
    assert len(first.context["entries"]) == 50
    assert second.context["has_previous"] is True


def test_trail_query_count_fixed(client, make_user, changes, django_assert_max_num_queries):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    client.get(reverse("audits:trail"))
    for number in range(20):
        account = AccountFactory(name=f"Extra {number}")
        Lead.objects.create(account=account, first_name="L", last_name=str(number))
    with django_assert_max_num_queries(16):
        client.get(reverse("audits:trail"))


def test_trail_csv_streams_rows(client, make_user, changes):
    Account.objects.filter(pk=changes["account"].pk).update(name="=cmd|' /C calc'!A0")
    changes["account"].refresh_from_db()
    changes["account"].save()
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:trail-export"), {"account": changes["account"].pk})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"] == 'attachment; filename="audit-trail.csv"'
    assert body.startswith("changed_at,user,channel,record")
    assert "'=cmd" in body
    assert "Globex" not in body


@pytest.mark.parametrize(
    ("query", "label", "message"),
    [
        ({"start": "2026-13-45"}, "From", "“2026-13-45” is not a date: enter one as YYYY-MM-DD"),
        ({"user": "987654"}, "User", "User id “987654” was not found"),
        ({"end": "9999-12-31"}, "Until", "9999-12-31 is outside the dates supported"),
        ({"start": "0001-01-01"}, "From", "0001-01-01 is outside the dates supported"),
        ({"model": "accounts.nothing"}, "Record", "Record type “accounts.nothing” is not recorded"),
        ({"page": "two"}, "Page", "Page must be a whole number"),
        ({"account": "abc"}, "Account", "Account id must be a whole number"),
        ({"account": "99999999999999999999"}, "Account", "Account id is too large"),
        ({"page": "99999999999999999999"}, "Page", "Page must be 100000 or lower"),
    ],
)
def test_invalid_filter_named(client, make_user, changes, query, label, message):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))

    page = client.get(reverse("audits:trail"), query)
    export = client.get(reverse("audits:trail-export"), query)

    assert page.status_code == 400
    assert page.context["entries"] == []
    assert message in page.content.decode()
    assert "Fix the filters above to see changes." in page.content.decode()
    assert export.status_code == 400
    assert export["Content-Type"] == "text/plain; charset=utf-8"
    assert f"{label}: {message}" in export.content.decode()


def test_change_without_earlier_row_explained(changes):
    account = changes["account"]
    Account.history.filter(id=account.pk, history_type="+").delete()
    found = entries(account_id=account.pk, source_key="accounts.account")
    assert found[0].changes == []
    assert found[0].note == "Earlier values were not recorded, so the change cannot be shown."


def test_export_batches_skip_no_row(changes):
    everything = [(entry.at, entry.object_label, entry.action) for entry in entries()]

    exported = [
        (entry.at, entry.object_label, entry.action)
        for entry in trail_iter(TrailFilter(), batch_size=2)
    ]

    assert exported == everything


def test_change_during_export_not_repeated(changes):
    """A change recorded between two batches neither repeats nor hides an older row."""
    before = [(entry.at, entry.object_label, entry.action) for entry in entries()]
    exported = []
    for entry in trail_iter(TrailFilter(), batch_size=2):
        exported.append((entry.at, entry.object_label, entry.action))
        if len(exported) == 2:
            AccountFactory(name="Initech")

    assert exported == before


def test_filter_by_inactive_user(client, make_user, changes, team):
    rep = team["rep_b"]
    rep.is_active = False
    rep.save()
    client.force_login(make_user(roles.SALES_OPS, username="ops"))

    response = client.get(reverse("audits:trail"), {"user": rep.pk})

    assert response.status_code == 200
    assert response.context["entries"]
    assert {entry.user for entry in response.context["entries"]} == {rep.get_full_name()}
    assert "(inactive)" in response.content.decode()


def test_first_edit_of_imported_account_shows_old_value(tmp_path, make_user, monkeypatch):
    monkeypatch.setattr("accounts.services._segment_accounts", lambda run, ids: None)
    path = tmp_path / "export.csv"
    path.write_text("Company,Website,Industry\nAcme,acme.example,Computer Softwre\n")
    accounts_import(path)
    account = Account.objects.get(domain="acme.example")
    sdr = make_user(roles.SDR, username="rep")

    workspace.account_field_update(
        account=account,
        field_name="industry",
        data={"industry_raw": "Computer Software"},
        user=sdr,
        version=account.updated_at,
    )

    rows = entries(account_id=account.pk)
    edit = next(entry for entry in rows if entry.user == "rep")
    changes = {change.field: (change.old, change.new) for change in edit.changes}
    assert changes["industry raw"] == ("Computer Softwre", "Computer Software")
    assert "Earlier values were not recorded" not in edit.note
    assert any(entry.note.startswith("Values before the first recorded change") for entry in rows)


def test_framework_label_names_version(framework):
    framework.status = FrameworkStatus.RETIRED
    framework.save()

    found = entries(source_key="segmentation.framework")

    assert found[0].object_label == f"{framework.name} v1"


def test_change_without_earlier_row_names_status(framework):
    framework.status = FrameworkStatus.RETIRED
    framework.save()
    Framework.history.filter(id=framework.pk).exclude(
        history_id=Framework.history.filter(id=framework.pk).latest("history_id").history_id
    ).delete()

    found = entries(source_key="segmentation.framework")

    assert found[0].note.endswith("Status after the change: Retired.")


@pytest.fixture
def named_changes(make_user, saas):
    """An account renamed by a user with a full name, then by one without a name."""
    named = make_user(roles.SDR, username="sreyes", first_name="Sam", last_name="Reyes")
    unnamed = make_user(roles.SDR, username="dokafor")
    account = AccountFactory(name="Initech", owner=named, industry=saas)
    for user, name in ((named, "Initech Ltd"), (unnamed, "Initech Group")):
        account.name = name
        account._history_user = user
        with change_channel(Channel.PAGE):
            account.save()
    return {"account": account, "named": named, "unnamed": unnamed}


def test_trail_names_users_by_full_name(client, make_user, named_changes):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))

    response = client.get(reverse("audits:trail"), {"account": named_changes["account"].pk})

    html = response.content.decode()
    renames = {
        entry.user: entry.username
        for entry in response.context["entries"]
        if entry.action == "Changed" and any(change.field == "name" for change in entry.changes)
    }
    assert renames == {"Sam Reyes": "sreyes", "dokafor": "dokafor"}
    assert "<td>Sam Reyes</td>" in html
    assert "<td>sreyes</td>" not in html
    assert "<td>dokafor</td>" in html


def test_trail_csv_has_login_and_full_name(client, make_user, named_changes):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))

    response = client.get(reverse("audits:trail-export"), {"account": named_changes["account"].pk})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    renames = {
        (row["user"], row["user_full_name"], row["new_value"])
        for row in rows
        if row["action"] == "Changed" and row["field"] == "name"
    }
    assert list(rows[0])[-1] == "user_full_name"
    assert ("sreyes", "Sam Reyes", "Initech Ltd") in renames
    assert ("dokafor", "dokafor", "Initech Group") in renames


def test_trail_names_owner_change_by_full_name(make_user, named_changes):
    account = named_changes["account"]
    account.owner = named_changes["unnamed"]
    account._history_user = named_changes["named"]
    with change_channel(Channel.PAGE):
        account.save()

    found = entries(account_id=account.pk)

    owner_changes = [
        (change.old, change.new)
        for entry in found
        for change in entry.changes
        if change.field == "owner" and change.old
    ]
    assert owner_changes == [("Sam Reyes", "dokafor")]


def test_cancelled_import_row_counts_rows_not_reached(team):
    ImportRun.objects.create(
        source="hubspot",
        file_name="big.csv",
        created_by=team["rep_a"],
        status=ImportRun.Status.CANCELLED,
        created=5602,
        merged=2398,
        rows_not_reached=8737,
    )

    imported = next(e for e in entries() if e.model_label == "Import run")

    assert imported.note == (
        "Cancelled: 5,602 created, 0 updated, 0 unchanged, 2,398 merged, 0 rejected, "
        "8,737 not reached"
    )


def _user_choices(response) -> set[int]:
    return set(response.context["form"].fields["user"].queryset.values_list("pk", flat=True))


def test_manager_user_filter_lists_visible_authors(client, changes, team, make_user):
    leadership = make_user(roles.SALES_LEADERSHIP, username="chris")
    ops = make_user(roles.SALES_OPS, username="ops")
    run = AuditRun.objects.create(
        month=previous_month(), status="succeeded", started_at=timezone.now()
    )
    finding = Violation(
        audit_run=run,
        account=changes["account"],
        kind="unverified_data",
        rule_code="unverified_data.not_verified",
        detail="Team finding",
        severity="minor",
        responsible=team["rep_a"],
    )
    finding._history_user = leadership
    finding.save()
    framework = Framework.objects.get(version=1)
    framework._history_user = ops
    framework.save()
    client.force_login(team["manager"])

    choices = _user_choices(client.get(reverse("audits:trail")))

    assert team["rep_a"].pk in choices
    assert team["rep_b"].pk in choices
    assert team["manager"].pk in choices
    assert leadership.pk in choices
    assert ops.pk not in choices
    assert team["outsider"].pk not in choices


def test_manager_filter_by_hidden_user_rejected(client, changes, team, make_user):
    ops = make_user(roles.SALES_OPS, username="ops")
    client.force_login(team["manager"])
    response = client.get(reverse("audits:trail"), {"user": ops.pk})
    assert response.status_code == 400
    assert f"User id “{ops.pk}” was not found" in response.content.decode()


def test_ops_user_filter_lists_everyone(client, changes, team, make_user):
    ops = make_user(roles.SALES_OPS, username="ops")
    client.force_login(ops)
    choices = _user_choices(client.get(reverse("audits:trail")))
    assert team["outsider"].pk in choices
    assert ops.pk in choices


def test_manager_account_trail_lists_every_user(client, changes, team):
    client.force_login(team["manager"])
    response = client.get(reverse("audits:trail"), {"account": changes["account"].pk})
    assert response.status_code == 200
    assert team["outsider"].pk in _user_choices(response)


def test_limited_sources_keep_trail_order(changes, team):
    full = list(trail_rows(TrailFilter()))
    for limit in (1, 2, 3, len(full)):
        limited = list(trail_rows(TrailFilter(), limit=limit)[:limit])
        assert limited == full[:limit]


def test_field_changes_match_diff_against(changes):
    history = changes["account"].history.order_by("history_date", "history_id")
    first, second = list(history)[:2]
    fields = [field.name for field in second.tracked_fields if field.editable]
    expected = [
        (change.field, change.old, change.new)
        for change in second.diff_against(first, included_fields=fields).changes
    ]
    assert _field_changes(first, second, fields) == expected
    assert ("name", "Acme", "Acme Corp") in expected


def test_note_deletion_lists_values(changes, team):
    note = ResearchNote.objects.get(account=changes["account"])
    text = "Raised a Series B. " * 26
    ResearchNote.objects.filter(pk=note.pk).update(text=text)
    note.refresh_from_db()
    note._history_user = team["manager"]
    with change_channel(Channel.PAGE):
        note.delete()

    found = entries(account_id=changes["account"].pk, source_key="accounts.researchnote")
    deletion = next(entry for entry in found if entry.action == "Deleted")
    values = {change.field: (change.old, change.new) for change in deletion.changes}
    assert deletion.user == "Morgan"
    assert deletion.channel == "Page"
    # The whole text of a 494-character note, with no ellipsis.
    assert values["text"] == (text, "—")
    assert values["author"] == ("Ana", "—")
    assert values["account"] == ("Acme Corp", "—")
    assert "source url" not in values


def test_account_deletion_lists_no_values(changes, team):
    account = changes["account"]
    account_id = account.pk
    account.delete()
    found = entries(account_id=account_id, source_key="accounts.account")
    deletion = next(entry for entry in found if entry.action == "Deleted")
    assert deletion.changes == []
