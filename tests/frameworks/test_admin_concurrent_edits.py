"""Two admin tabs edit the same draft: the save of the tab opened first is not overwritten.

The change form carries the draft's last save time (``loaded_at``). A save from a form
opened before someone else's save is rejected with a form error naming them, and the
draft keeps their changes, inline criteria and size bands included.
"""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
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
