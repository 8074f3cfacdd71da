"""Two admin tabs edit the same draft: the save of the tab opened first is not overwritten.

The change form carries the draft's last save time (``loaded_at``). A save from a form
opened before someone else's save is rejected with a form error naming them, and the
draft keeps their changes, inline criteria and size bands included. Each criterion and
size band row also carries a fingerprint of its stored values (``row_stamp``), so a row
changed since the page was opened is named, even when the version's save time stayed.
"""

import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from segmentation.forms import row_stamp
from segmentation.lifecycle import EDIT_STAMP_MISSING_MESSAGE, edit_stamp
from segmentation.models import Framework

from .admin_posts import framework_post


def change_url(framework: Framework) -> str:
    return reverse("admin:segmentation_framework_change", args=[framework.pk])


def criterion_index(draft: Framework, dimension: str) -> int:
    ids = list(draft.criteria.order_by("position", "id").values_list("dimension", flat=True))
    return ids.index(dimension)


def loaded_at(response) -> str:
    """Return the hidden edit stamp of a rendered change form."""
    html = response.content.decode()
    match = re.search(r'<input type="hidden" name="loaded_at" value="([^"]*)"', html)
    assert match, "the change form has no loaded_at field"
    return unescape(match.group(1))


def form_errors(response) -> list[str]:
    return list(response.context["adminform"].form.non_field_errors())


@pytest.fixture
def tabs(ops_user, make_user):
    """Two signed-in browsers of Sales Ops: the draft's author and a colleague."""
    colleague = make_user(
        roles.SALES_OPS, username="priya", first_name="Priya", last_name="Natarajan", is_staff=True
    )
    first, second = Client(), Client()
    first.force_login(colleague)
    second.force_login(ops_user)
    return first, second


def test_change_form_carries_edit_stamp(tabs, draft):
    first, _ = tabs
    response = first.get(change_url(draft))
    assert response.status_code == 200
    assert loaded_at(response) == edit_stamp(draft)


def test_stale_tab_save_rejected(tabs, draft):
    # given two tabs that opened the same draft
    first, second = tabs
    opened = Framework.objects.get(pk=draft.pk)
    first_form = first.get(change_url(draft))
    second_form = second.get(change_url(draft))
    index = criterion_index(opened, "industry")

    # when the first saves a criterion (an inline) and the second then saves its own edit
    saved = first.post(
        change_url(draft),
        framework_post(
            opened,
            loaded_at=loaded_at(first_form),
            **{f"criteria-{index}-weight": "77", "size_bands-0-name": "Tiny"},
        ),
    )
    stale = second.post(
        change_url(draft),
        framework_post(opened, loaded_at=loaded_at(second_form), name="Overwritten"),
    )

    # then the first save stays and the second is rejected with a form error
    assert saved.status_code == 302
    assert stale.status_code == 200
    draft.refresh_from_db()
    assert draft.name == opened.name
    assert draft.criteria.get(dimension="industry").weight == 77
    assert draft.size_bands.order_by("position", "id").first().name == "Tiny"
    [error] = form_errors(stale)
    saved_at = draft.history.order_by("-history_date").first().history_date
    assert error.startswith(f"Priya Natarajan changed draft v{draft.version} at ")
    assert saved_at.strftime("%Y-%m-%d %H:%M") in error
    assert "your changes were not saved" in error
    assert "Reload the page to see their changes" in error
    # The rejected form keeps what the second person typed.
    assert 'value="Overwritten"' in stale.content.decode()


def test_second_tab_saves_after_reload(tabs, draft):
    first, second = tabs
    opened = Framework.objects.get(pk=draft.pk)
    first_form = first.get(change_url(draft))
    saved = first.post(
        change_url(draft), framework_post(opened, loaded_at=loaded_at(first_form), name="First")
    )
    reloaded = second.get(change_url(draft))
    current = Framework.objects.get(pk=draft.pk)
    again = second.post(
        change_url(draft), framework_post(current, loaded_at=loaded_at(reloaded), name="Second")
    )
    assert saved.status_code == again.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Second"


def test_edit_stamp_in_other_offset_accepted(tabs, draft):
    first, _ = tabs
    opened = Framework.objects.get(pk=draft.pk)
    stamp = opened.updated_at.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()
    assert stamp != edit_stamp(opened)
    response = first.post(change_url(draft), framework_post(opened, loaded_at=stamp, name="Same"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Same"


@pytest.mark.parametrize("stamp", ["March 1", "2026-03-01T09:30:00"])
def test_save_with_invalid_edit_stamp_rejected(tabs, draft, stamp):
    first, _ = tabs
    response = first.post(change_url(draft), framework_post(draft, loaded_at=stamp, name="Blind"))
    assert response.status_code == 200
    assert form_errors(response) == [EDIT_STAMP_MISSING_MESSAGE]
    draft.refresh_from_db()
    assert draft.name != "Blind"


def test_save_without_edit_stamp_rejected(tabs, draft):
    first, _ = tabs
    response = first.post(change_url(draft), framework_post(draft, loaded_at="", name="Blind"))
    assert response.status_code == 200
    assert form_errors(response) == [EDIT_STAMP_MISSING_MESSAGE]
    draft.refresh_from_db()
    assert draft.name != "Blind"


def test_same_user_named_as_you(ops_user, draft):
    tab_one, tab_two = Client(), Client()
    tab_one.force_login(ops_user)
    tab_two.force_login(ops_user)
    opened = Framework.objects.get(pk=draft.pk)
    one_form = tab_one.get(change_url(draft))
    two_form = tab_two.get(change_url(draft))
    saved = tab_one.post(
        change_url(draft), framework_post(opened, loaded_at=loaded_at(one_form), name="One")
    )
    stale = tab_two.post(
        change_url(draft), framework_post(opened, loaded_at=loaded_at(two_form), name="Two")
    )
    assert saved.status_code == 302
    assert stale.status_code == 200
    [error] = form_errors(stale)
    assert error.startswith(f"You (in another tab or window) changed draft v{draft.version} at ")
    draft.refresh_from_db()
    assert draft.name == "One"


def row_stamps(response) -> dict[str, str]:
    """Return the hidden row fingerprints of a rendered change form, by field name."""
    html = response.content.decode()
    pattern = r'<input type="hidden" name="((?:criteria|size_bands)-\d+-row_stamp)" value="([^"]*)"'
    return {name: unescape(value) for name, value in re.findall(pattern, html)}


def page_post(response, framework: Framework, **changes) -> dict[str, str]:
    """Return the POST data of the loaded page ``response``, with ``changes`` applied."""
    return framework_post(
        framework, loaded_at=loaded_at(response), **row_stamps(response), **changes
    )


def test_change_form_carries_row_stamps(tabs, draft):
    first, _ = tabs
    response = first.get(change_url(draft))
    stamps = row_stamps(response)
    criteria = list(draft.criteria.order_by("position", "id"))
    bands = list(draft.size_bands.order_by("position", "id"))
    assert len(stamps) == len(criteria) + len(bands)
    assert stamps["criteria-0-row_stamp"] == row_stamp(criteria[0])
    assert stamps["size_bands-0-row_stamp"] == row_stamp(bands[0])


def test_second_post_of_page_names_changed_row(tabs, draft):
    # Two posts built from one loaded page: the second would save over the first's row.
    first, _ = tabs
    opened = Framework.objects.get(pk=draft.pk)
    page = first.get(change_url(draft))
    index = criterion_index(opened, "industry")
    label = opened.criteria.get(dimension="industry").label

    saved = first.post(
        change_url(draft), page_post(page, opened, **{f"criteria-{index}-weight": "77"})
    )
    again = first.post(change_url(draft), page_post(page, opened, name="Second post"))

    html = unescape(again.content.decode())
    draft.refresh_from_db()
    assert saved.status_code == 302
    assert again.status_code == 200
    assert f"Criterion '{label}' was changed after this page was opened" in html
    assert "reload the page to see its current values" in html
    assert draft.criteria.get(dimension="industry").weight == 77
    assert draft.name == opened.name
    assert 'value="Second post"' in again.content.decode()


def test_row_changed_without_form_rejected(tabs, draft):
    # A script changes a criterion without saving the version, so updated_at stays.
    first, _ = tabs
    opened = Framework.objects.get(pk=draft.pk)
    page = first.get(change_url(draft))
    criterion = draft.criteria.get(dimension="industry")
    draft.criteria.filter(pk=criterion.pk).update(weight=5)

    response = first.post(change_url(draft), page_post(page, opened, name="Blind save"))

    html = unescape(response.content.decode())
    draft.refresh_from_db()
    assert response.status_code == 200
    assert f"Criterion '{criterion.label}' was changed after this page was opened" in html
    assert draft.criteria.get(pk=criterion.pk).weight == 5
    assert draft.name == opened.name


def test_band_changed_without_form_rejected(tabs, draft):
    first, _ = tabs
    opened = Framework.objects.get(pk=draft.pk)
    page = first.get(change_url(draft))
    band = draft.size_bands.order_by("position", "id").first()
    draft.size_bands.filter(pk=band.pk).update(max_employees=band.max_employees - 1)

    response = first.post(change_url(draft), page_post(page, opened))

    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert f"Size band '{band.name}' was changed after this page was opened" in html
    assert draft.size_bands.get(pk=band.pk).max_employees == band.max_employees - 1


def test_changed_row_marked_for_deletion_kept(tabs, draft):
    first, _ = tabs
    opened = Framework.objects.get(pk=draft.pk)
    page = first.get(change_url(draft))
    index = criterion_index(opened, "buying_signals")
    criterion = draft.criteria.get(dimension="buying_signals")
    draft.criteria.filter(pk=criterion.pk).update(weight=3)

    response = first.post(
        change_url(draft), page_post(page, opened, **{f"criteria-{index}-DELETE": "on"})
    )

    assert response.status_code == 200
    assert draft.criteria.filter(pk=criterion.pk, weight=3).exists()


def test_row_without_stamp_rejected(tabs, draft):
    first, _ = tabs
    data = framework_post(draft, name="No stamps")
    del data["criteria-0-row_stamp"]

    response = first.post(change_url(draft), data)

    html = unescape(response.content.decode())
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "This form does not say which values of criterion" in html
    assert draft.name != "No stamps"


def test_read_only_page_has_no_row_stamps(tabs, active_framework):
    first, _ = tabs
    response = first.get(change_url(active_framework))
    assert response.status_code == 200
    assert "row_stamp" not in response.content.decode()
