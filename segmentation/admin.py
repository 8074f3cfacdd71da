"""Admin for the framework (Sales Ops), the industry taxonomy and segmentation results.

Every permission check goes through ``accounts.permissions`` on top of Django's model
permissions, so a staff user outside Sales Ops is denied even with model permissions.
Approved and retired versions are read-only: the change page offers "Create draft from
this version" instead.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError
from kombu.utils.json import loads

from accounts import permissions
from accounts.normalizers import industry_key
from accounts.selectors import user_label
from icp_portal.history_admin import HistoryAdmin

from .authors import READ_ONLY_WORKFLOW_FIELDS
from .forms import (
    ROW_STAMP_FIELD,
    CriterionForm,
    CriterionFormSet,
    FrameworkAdminForm,
    SizeBandForm,
    SizeBandFormSet,
)
from .industry_changes import IndustryEditResult, industry_edit_resegment, industry_state_read
from .lifecycle import (
    FRAMEWORK_LIFECYCLE_FIELDS,
    FrameworkLifecycleError,
    FrameworkOpenCopyError,
    framework_approve,
    framework_copy_rejection,
    framework_draft_create,
    framework_geography_replace,
    framework_next_version,
    framework_outdated_reason,
    framework_return_to_draft,
    framework_second_approver_reason,
    framework_submit,
    older_settings_hint,
    status_refusal,
)
from .models import (
    UNAPPROVED_STATUSES,
    Criterion,
    Framework,
    FrameworkRevision,
    FrameworkStatus,
    GeographyMapping,
    Industry,
    IndustrySynonym,
    ScoreRecord,
    SegmentationRun,
    SizeBand,
)
from .runs import segmentation_run_progress
from .selectors import industry_criteria_locked, industry_locked_message
from .tasks import RESEGMENT_TASK_NAME, resegment_arguments_errors
from .validation import placement_warnings

logger = logging.getLogger(__name__)


def _may_view_framework(request: HttpRequest) -> bool:
    return permissions.can_follow_framework(request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Admin for records that services write: viewable by Sales Ops and Leadership only."""

    def has_view_permission(self, request, obj=None) -> bool:
        return _may_view_framework(request)

    def has_module_permission(self, request) -> bool:
        return _may_view_framework(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class IndustrySynonymForm(forms.ModelForm):
    """A synonym row: the model's ``clean`` derives the key and rejects clashing values."""

    class Meta:
        model = IndustrySynonym
        fields = ("value", "vocabulary")


class IndustrySynonymFormSet(forms.BaseInlineFormSet):
    """Reject two rows of one save whose values have the same lookup key.

    Each row is checked against the saved synonyms only, so two new rows with one key
    would both pass and the second insert would fail on the unique key.
    """

    def clean(self) -> None:
        super().clean()
        rows_by_key: dict[str, str] = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or self._should_delete_form(form):
                continue
            value = form.cleaned_data.get("value")
            if not value:
                continue
            key = industry_key(value)
            if key in rows_by_key:
                form.add_error(
                    "value",
                    f"{value!r} matches the synonym {rows_by_key[key]!r} of another row, "
                    "ignoring case, spacing and punctuation: keep one of the two rows.",
                )
            else:
                rows_by_key[key] = value


class TaxonomyPermissionMixin:
    """Industries and synonyms: Sales Ops (can_manage_taxonomy) with model permissions."""

    def has_module_permission(self, request) -> bool:
        return permissions.can_manage_taxonomy(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.can_manage_taxonomy(request.user) and super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request, *args) -> bool:
        return permissions.can_manage_taxonomy(request.user) and super().has_add_permission(
            request, *args
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return permissions.can_manage_taxonomy(request.user) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return permissions.can_manage_taxonomy(request.user) and super().has_delete_permission(
            request, obj
        )


class IndustrySynonymInline(TaxonomyPermissionMixin, admin.TabularInline):
    model = IndustrySynonym
    form = IndustrySynonymForm
    formset = IndustrySynonymFormSet
    fields = ("value", "key", "vocabulary")
    readonly_fields = ("key",)
    extra = 0


class IndustryAdminForm(forms.ModelForm):
    class Meta:
        model = Industry
        fields = ("name", "slug", "description")
        help_texts = {
            "name": (
                "Tags contain this name, so saving a new name re-segments every account of "
                "this industry. The accounts keep this industry, but imports stop mapping "
                "the old name unless a synonym below has it."
            ),
        }


# Tag overrides with an industry's old name named one by one in the admin's warning.
STALE_OVERRIDES_LISTED = 10
# Request attributes that carry an industry edit from save_model to the admin's message.
# The first is the stored state before the save, and the second the re-segmentation.
_STATE_BEFORE_ATTRIBUTE = "_industry_state_before"
_EDIT_RESULT_ATTRIBUTE = "_industry_edit_result"


@admin.register(Industry)
class IndustryAdmin(TaxonomyPermissionMixin, HistoryAdmin):
    form = IndustryAdminForm
    list_display = ("name", "slug", "description")
    search_fields = ("name", "slug", "synonyms__value")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [IndustrySynonymInline]

    def save_model(self, request, obj: Industry, form, change: bool) -> None:
        """Read the stored name and synonyms first, so the edit can be compared with them."""
        before = industry_state_read(obj.pk if change else None, new_name=obj.name)
        setattr(request, _STATE_BEFORE_ATTRIBUTE, before)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        """Save the synonyms, then re-segment the accounts that the edit changed."""
        super().save_related(request, form, formsets, change)
        self._resegment(request, form.instance)

    def _resegment(self, request: HttpRequest, industry: Industry) -> None:
        before = getattr(request, _STATE_BEFORE_ATTRIBUTE, None)
        if before is None or hasattr(request, _EDIT_RESULT_ATTRIBUTE):
            return
        result = industry_edit_resegment(industry, before, user=request.user)
        setattr(request, _EDIT_RESULT_ATTRIBUTE, result)

    def response_add(self, request, obj: Industry, post_url_continue=None) -> HttpResponse:
        response = super().response_add(request, obj, post_url_continue)
        self._report_edit(request, obj)
        return response

    def response_change(self, request, obj: Industry) -> HttpResponse:
        response = super().response_change(request, obj)
        self._report_edit(request, obj)
        return response

    def _report_edit(self, request: HttpRequest, industry: Industry) -> None:
        # Reverting to a history version saves the industry without save_related.
        self._resegment(request, industry)
        result: IndustryEditResult | None = getattr(request, _EDIT_RESULT_ATTRIBUTE, None)
        if result is None:
            return
        if result.account_ids:
            self._report_resegmentation(request, result)
        if result.stale_overrides:
            self._report_stale_overrides(request, result)

    def _report_resegmentation(self, request: HttpRequest, result: IndustryEditResult) -> None:
        count = len(result.account_ids)
        changes = []
        if result.renamed:
            changes.append(f"renamed from {result.old_name!r}")
        if result.mapped_ids:
            changes.append(f"{len(result.mapped_ids):,} mapped to it by the new name or synonyms")
        if result.unmapped_ids:
            changes.append(
                f"{len(result.unmapped_ids):,} no longer mapped to it by the deleted synonyms"
            )
        accounts = f"{count:,} account{'' if count == 1 else 's'}"
        detail = f" ({'; '.join(changes)})" if changes else ""
        if result.run is None:
            messages.warning(
                request,
                f"{accounts} of {result.new_name!r}{detail} were not re-segmented: "
                f"{result.not_scored_reason} They are scored when a version is approved.",
            )
            return
        if result.in_request:
            text = "Re-segmentation of {} of {}{} ran in this request: see {} for its result."
        else:
            text = "Re-segmentation of {} of {}{} started in a background worker: follow {}."
        run_link = format_html(
            '<a href="{}">segmentation run {}</a>',
            reverse("segmentation:run-detail", args=[result.run.pk]),
            result.run.pk,
        )
        messages.success(
            request, format_html(text, accounts, repr(result.new_name), detail, run_link)
        )

    def _report_stale_overrides(self, request: HttpRequest, result: IndustryEditResult) -> None:
        stale = result.stale_overrides
        listed = "; ".join(
            f"{item.account_name} (id {item.account_id}): {item.tag!r}"
            for item in stale[:STALE_OVERRIDES_LISTED]
        )
        more = len(stale) - STALE_OVERRIDES_LISTED
        if more > 0:
            listed += f"; and {more:,} more"
        if len(stale) == 1:
            subject = "1 tag override set by a person still contains"
        else:
            subject = f"{len(stale):,} tag overrides set by people still contain"
        messages.warning(
            request,
            f"{subject} the old name {result.old_name!r}, so those accounts keep the old tag: "
            f"{listed}. The tag editor rejects the old name, so set each tag again with "
            f"{result.new_name!r} on the account's segment page, or clear the override.",
        )

    def get_deleted_objects(self, objs, request):
        """Add the criteria that name an industry to the objects that protect it.

        The delete page and the bulk delete action then list them and delete nothing.
        """
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        for industry in objs:
            criteria = industry_criteria_locked(industry.name, industry_pk=industry.pk)
            if criteria:
                protected.append(
                    industry_locked_message(
                        industry.name,
                        criteria,
                        "deleted",
                        "Remove it from the criteria in a new draft to stop scoring with it. "
                        "The industry stays while the versions above exist.",
                    )
                )
        if protected:
            # Nothing is deleted while anything protects the industry, so the missing
            # permissions to delete the protecting accounts do not matter.
            perms_needed = set()
        return deleted, counts, perms_needed, protected


class FrameworkPartInline:
    """Inline parts of a version: editable by Sales Ops while the version is not locked."""

    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        return _may_view_framework(request)

    def _may_edit(self, request, obj) -> bool:
        if not permissions.can_edit_framework(request.user):
            return False
        return obj is None or not obj.is_locked

    def has_add_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj) and super().has_delete_permission(request, obj)


class CriterionInline(FrameworkPartInline, admin.StackedInline):
    model = Criterion
    form = CriterionForm
    formset = CriterionFormSet
    fieldsets = (
        (None, {"fields": (("dimension", "operator", "label"),)}),
        (None, {"fields": ("values_text", ("min_value", "max_value"))}),
        # One checkbox per line, so each help text stays under its own box.
        (None, {"fields": (("weight", "unknown_policy"), "is_must_have", "is_disqualifier")}),
        # The hidden fingerprint of the row's stored values, which rejects a save over a
        # row changed after the page was opened.
        (None, {"fields": ("position", ROW_STAMP_FIELD)}),
    )
    readonly_fields = ()

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self._may_edit(request, obj):
            # Read-only pages show the stored list rather than the form's text field.
            return (
                (None, {"fields": (("dimension", "operator", "label"),)}),
                (None, {"fields": ("values", ("min_value", "max_value"))}),
                (
                    None,
                    {
                        "fields": (
                            ("weight", "unknown_policy"),
                            "is_must_have",
                            "is_disqualifier",
                        )
                    },
                ),
                (None, {"fields": ("position",)}),
            )
        return super().get_fieldsets(request, obj)


class SizeBandInline(FrameworkPartInline, admin.TabularInline):
    model = SizeBand
    form = SizeBandForm
    formset = SizeBandFormSet
    fields = (*SizeBandForm.Meta.fields, ROW_STAMP_FIELD)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self._may_edit(request, obj):
            # A read-only page would show the fingerprint as a column.
            return [name for name in fields if name != ROW_STAMP_FIELD]
        return fields


class GeographyMappingInline(FrameworkPartInline, admin.TabularInline):
    """The map of a read-only version. Editable versions edit it as text on the form."""

    model = GeographyMapping
    fields = ("country", "region", "label")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Name of the change form's button that saves the draft and then submits it.
SUBMIT_BUTTON = "_submit_for_approval"

OPEN_COPY_ADMIN_NEXT_STEP = (
    "No other draft was made: continue in this version. To make a second draft anyway, "
    "confirm it under “Create a second draft” on the framework versions page (/frameworks/)."
)


def _lifecycle_message(request: HttpRequest, action) -> bool:
    """Run a lifecycle service and report its error as an admin message."""
    try:
        action()
    except (FrameworkLifecycleError, PermissionDenied) as error:
        messages.error(request, str(error))
        return False
    return True


def _keep_lifecycle_fields(past: Framework, current: Framework) -> None:
    """Copy the current lifecycle fields onto a past row of the version, except the form's."""
    form_fields = set(FrameworkAdminForm.Meta.fields)
    for field in Framework._meta.concrete_fields:
        if field.name in FRAMEWORK_LIFECYCLE_FIELDS and field.name not in form_fields:
            setattr(past, field.attname, getattr(current, field.attname))


def _locked_next_step(framework: Framework, action: str) -> str:
    """Return the next step that lets Sales Ops change a locked version."""
    if framework.status == FrameworkStatus.SUBMITTED:
        return f" Return it to draft first, then {action}."
    return " Create a draft from it and change the settings there."


@admin.register(Framework)
class FrameworkAdmin(HistoryAdmin):
    form = FrameworkAdminForm
    change_form_template = "segmentation/admin/framework_change_form.html"
    list_display = ("version", "name", "status", "submitted_by", "approved_by", "approved_at")
    list_filter = ("status",)
    search_fields = ("name", "summary")
    readonly_fields = READ_ONLY_WORKFLOW_FIELDS
    fieldsets = (
        (None, {"fields": ("version", "name", "status", "summary")}),
        (
            "Tiers and routing",
            {
                "fields": (
                    ("high_tier_min_score", "medium_tier_min_score"),
                    ("high_tier_route", "medium_tier_route", "low_tier_route"),
                )
            },
        ),
        ("Tags and geography", {"fields": ("tag_template", "unmapped_geography_label")}),
        (
            "Workflow",
            {
                "fields": (
                    "based_on",
                    "created_by",
                    ("submitted_by", "submitted_at"),
                    ("approved_by", "approved_at"),
                    "retired_at",
                    ("created_at", "updated_at"),
                )
            },
        ),
    )
    inlines = [CriterionInline, SizeBandInline, GeographyMappingInline]
    actions = ["create_draft_action"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Only drafts can be deleted, one at a time from their page, where a refusal
        # explains itself. The bulk delete would refuse non-drafts with a generic message.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_inlines(self, request, obj):
        if self.has_change_permission(request, obj):
            return [CriterionInline, SizeBandInline]
        return self.inlines

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            return fieldsets
        editable = []
        for title, options in fieldsets:
            if title is None:
                # The hidden edit stamp, which rejects a save over someone else's newer one.
                options = {"fields": (*options["fields"], "loaded_at")}
            if title == "Tags and geography":
                options = {"fields": (*options["fields"], "geography_text")}
            editable.append((title, options))
        return editable

    # Permissions.

    def has_module_permission(self, request) -> bool:
        return _may_view_framework(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _may_view_framework(request)

    def has_add_permission(self, request) -> bool:
        return permissions.can_edit_framework(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        if not permissions.can_edit_framework(request.user):
            return False
        if obj is not None and obj.is_locked:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if not permissions.can_edit_framework(request.user):
            return False
        if obj is not None and obj.status != FrameworkStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    # History. A revert saves a past row of the version over the current one, which is an
    # edit. So only a draft allows it, and it restores settings but never lifecycle fields.

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """Show or revert to a past row of a draft, keeping its current lifecycle fields."""
        with transaction.atomic():
            versions = Framework.objects.filter(pk=unquote(object_id))
            if request.method == "POST":
                # The row lock makes a submission wait until the revert is saved.
                versions = versions.select_for_update()
            current = versions.first()
            if current is not None and current.status != FrameworkStatus.DRAFT:
                messages.error(
                    request,
                    status_refusal(
                        current, "reverted to an earlier entry of its history", "a draft"
                    )
                    + _locked_next_step(current, "revert it"),
                )
                return HttpResponseRedirect(self._change_url(current))
            request.framework_current = current
            return super().history_form_view(request, object_id, version_id, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        current = getattr(request, "framework_current", None)
        if obj is not None and current is not None and obj.pk == current.pk:
            # The history form view passes the past row, which is shown and saved with
            # the current status, submission and approval.
            _keep_lifecycle_fields(obj, current)
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory builds a new class per call, so this names this request's user.
        form.editing_user = request.user
        return form

    # Saving.

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Explain why the form of a locked version was not saved, instead of a 403.

        A second tab, or "Save and submit" pressed twice, posts the form of a version that
        was submitted in the meantime. Sales Ops then see its status and the next step.
        """
        if (
            request.method == "POST"
            and object_id is not None
            and permissions.can_edit_framework(request.user)
        ):
            framework = self.get_object(request, unquote(object_id))
            if framework is not None and framework.is_locked:
                messages.error(
                    request,
                    status_refusal(framework, "changed", "a draft")
                    + " Your changes were not saved."
                    + _locked_next_step(framework, "make the changes again"),
                )
                return HttpResponseRedirect(self._change_url(framework))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: Framework, form, change: bool) -> None:
        if not change:
            with transaction.atomic():
                obj.version = framework_next_version()
                obj.status = FrameworkStatus.DRAFT
                obj.created_by = request.user
                super().save_model(request, obj, form, change)
            return
        current = getattr(request, "framework_current", None)
        if current is not None and current.pk == obj.pk:
            _keep_lifecycle_fields(obj, current)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        rows = getattr(form, "geography_rows", None)
        if rows is not None:
            framework_geography_replace(form.instance, rows, user=request.user)
        for warning in placement_warnings(form.instance):
            messages.warning(request, warning)

    # Object buttons: create a draft, submit, approve.

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/create-draft/",
                self.admin_site.admin_view(self.create_draft_view),
                name="segmentation_framework_create_draft",
            ),
            path(
                "<int:object_id>/return-to-draft/",
                self.admin_site.admin_view(self.return_to_draft_view),
                name="segmentation_framework_return_to_draft",
            ),
            path(
                "<int:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="segmentation_framework_approve",
            ),
        ]
        return urls + super().get_urls()

    def render_change_form(self, request, context: dict[str, Any], *args, **kwargs):
        obj = context.get("original")
        user = request.user
        copy_rejection = framework_copy_rejection(obj) if obj is not None else ""
        second_approver_reason = ""
        if obj is not None and obj.status == FrameworkStatus.SUBMITTED:
            second_approver_reason = framework_second_approver_reason(obj, user)
        active = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
        context["lifecycle"] = {
            "may_create_draft": obj is not None
            and not copy_rejection
            and permissions.can_edit_framework(user),
            "older_settings_hint": older_settings_hint(obj, active)
            if obj is not None and obj.status == FrameworkStatus.RETIRED and active is not None
            else "",
            "may_submit": obj is not None
            and obj.status == FrameworkStatus.DRAFT
            and permissions.can_edit_framework(user),
            "may_return_to_draft": obj is not None
            and obj.status == FrameworkStatus.SUBMITTED
            and permissions.can_edit_framework(user),
            "may_approve": obj is not None
            and obj.status == FrameworkStatus.SUBMITTED
            and permissions.can_approve_framework(user)
            and not second_approver_reason,
            "second_approver_reason": second_approver_reason,
            "may_preview": obj is not None and obj.status in UNAPPROVED_STATUSES,
            "outdated": framework_outdated_reason(obj) if obj is not None else "",
        }
        return super().render_change_form(request, context, *args, **kwargs)

    def _post_only(self, request: HttpRequest, object_id: int) -> Framework:
        if request.method != "POST":
            raise PermissionDenied("Use the button on the framework page.")
        return get_object_or_404(Framework, pk=object_id)

    def _change_url(self, framework: Framework) -> str:
        return reverse("admin:segmentation_framework_change", args=[framework.pk])

    def create_draft_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        source = self._post_only(request, object_id)
        try:
            draft = framework_draft_create(source=source, user=request.user)
        except FrameworkOpenCopyError as error:
            messages.warning(request, f"{error} {OPEN_COPY_ADMIN_NEXT_STEP}")
            return HttpResponseRedirect(self._change_url(error.open_copy))
        except (FrameworkLifecycleError, PermissionDenied) as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(self._change_url(source))
        messages.success(request, f"Draft v{draft.version} created from v{source.version}.")
        return HttpResponseRedirect(self._change_url(draft))

    def response_change(self, request: HttpRequest, obj: Framework) -> HttpResponse:
        """Submit the version after saving it, when the submit button was pressed."""
        if SUBMIT_BUTTON not in request.POST:
            return super().response_change(request, obj)
        if _lifecycle_message(
            request,
            lambda: framework_submit(framework=obj, user=request.user, summary=obj.summary),
        ):
            messages.success(request, f"Framework v{obj.version} saved and submitted for approval.")
        else:
            messages.info(request, f"Your changes to v{obj.version} were saved as a draft.")
        return HttpResponseRedirect(self._change_url(obj))

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        """Explain why a version that is not a draft cannot be deleted, instead of a 403."""
        framework = self.get_object(request, object_id)
        if (
            framework is not None
            and framework.status != FrameworkStatus.DRAFT
            and permissions.can_edit_framework(request.user)
        ):
            messages.error(
                request,
                status_refusal(framework, "deleted", "drafts")
                + " Other versions stay for the revision register.",
            )
            return HttpResponseRedirect(self._change_url(framework))
        return super().delete_view(request, object_id, extra_context)

    def return_to_draft_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        framework = self._post_only(request, object_id)
        if _lifecycle_message(
            request, lambda: framework_return_to_draft(framework=framework, user=request.user)
        ):
            messages.success(
                request,
                f"Framework v{framework.version} is a draft again: change it, then submit it "
                "again.",
            )
        return HttpResponseRedirect(self._change_url(framework))

    def approve_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        framework = self._post_only(request, object_id)
        approved: list[Framework] = []
        if _lifecycle_message(
            request,
            lambda: approved.append(
                framework_approve(
                    framework=framework,
                    user=request.user,
                    submitted_at=request.POST.get("submitted_at"),
                )
            ),
        ):
            messages.success(
                request,
                f"Framework v{framework.version} approved. Re-segmentation of every account "
                "has started.",
            )
            plan = approved[0].tag_override_plan
            if plan is not None:
                messages.info(request, plan.summary(done=True))
        return HttpResponseRedirect(self._change_url(framework))

    @admin.action(description="Create draft from this version")
    def create_draft_action(self, request: HttpRequest, queryset: QuerySet[Framework]) -> None:
        if queryset.count() != 1:
            messages.error(request, "Select exactly one version to copy into a new draft.")
            return
        source = queryset.get()
        try:
            draft = framework_draft_create(source=source, user=request.user)
        except FrameworkOpenCopyError as error:
            messages.warning(request, f"{error} {OPEN_COPY_ADMIN_NEXT_STEP}")
            return
        except (FrameworkLifecycleError, PermissionDenied) as error:
            messages.error(request, str(error))
            return
        messages.success(request, f"Draft v{draft.version} created from v{source.version}.")


@admin.register(FrameworkRevision)
class FrameworkRevisionAdmin(ReadOnlyAdmin):
    """The register's entries. The portal's register page also lists each version's editors."""

    list_display = (
        "created_at",
        "version",
        "action",
        "version_author",
        "submitted_or_returned_by",
        "approver",
        "summary",
    )
    list_filter = ("action",)
    search_fields = ("summary",)
    list_select_related = ("author", "approver", "framework__created_by")

    @admin.display(description="author (created the version)")
    def version_author(self, revision: FrameworkRevision) -> str:
        return user_label(revision.framework.created_by) or "—"

    @admin.display(description="submitted or returned by")
    def submitted_or_returned_by(self, revision: FrameworkRevision) -> str:
        return user_label(revision.author) or "—"


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "framework",
        "kind",
        "status",
        "processed",
        "total",
        "moved",
        "unchanged",
        "failed",
        "started_at",
        "finished_at",
        "stalled",
    )
    list_filter = ("framework", "status", "kind")
    list_select_related = ("framework",)

    @admin.display(boolean=True, description="stalled")
    def stalled(self, run: SegmentationRun) -> bool:
        return segmentation_run_progress(run).stalled


@admin.register(ScoreRecord)
class ScoreRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "framework", "score", "tier", "tag", "route", "created_at")
    list_filter = ("tier", "needs_enrichment")
    search_fields = ("account__name", "tag")
    list_select_related = ("account", "framework")


class PeriodicTaskForm(BeatPeriodicTaskForm):
    """django_celery_beat's periodic task form, checking the re-segmentation task's arguments.

    A schedule saved with arguments that no run accepts would fail every quarter, so the
    form rejects them with the invalid value and the valid ones.
    """

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("task") != RESEGMENT_TASK_NAME:
            return data
        for field, message in resegment_schedule_errors(data.get("args"), data.get("kwargs")):
            self.add_error(field, message)
        return data


def _json_or_none(text: str | None) -> Any:
    try:
        return loads(text or "null")
    except ValueError:
        return None


def resegment_schedule_errors(args_text: str | None, kwargs_text: str | None) -> list:
    """Return (field, message) pairs for the re-segmentation task's arguments as JSON text.

    Text that is not JSON is left to the form's own JSON check.
    """
    errors = []
    args = _json_or_none(args_text)
    if args:
        errors.append(
            (
                "args",
                f"Invalid positional arguments {args!r}: {RESEGMENT_TASK_NAME} takes keyword "
                "arguments only, so leave this as [] and write them in kwargs, such as "
                '{"kind": "quarterly"}.',
            )
        )
    kwargs = _json_or_none(kwargs_text)
    if kwargs_text and kwargs is not None:
        errors += [("kwargs", message) for message in resegment_arguments_errors(kwargs)]
    return errors


# Replaced, so that a task which fails in the request is reported on the page.
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    """django_celery_beat's periodic task admin, checking and reporting the tasks it runs.

    Without a broker Celery runs tasks eagerly, so "Run selected tasks" runs them in the
    request and a task's error, such as re-segmentation with a version that is not
    approved, would end the request with a server error. With a broker the task is only
    queued, and the message reports that. A re-segmentation with invalid arguments is not
    queued, and one that fails later is recorded as a failed run.
    """

    form = PeriodicTaskForm

    @admin.action(description="Run selected tasks")
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        if self.celery_app.conf.task_always_eager:
            self._run_in_request(request, queryset)
            return
        queued = []
        for periodic_task in queryset:
            task = self.celery_app.tasks.get(periodic_task.task)
            if task is None:
                self.message_user(
                    request,
                    f"Periodic task {periodic_task.name!r} was not queued: task "
                    f"{periodic_task.task!r} not found. Choose a registered task.",
                    level=messages.ERROR,
                )
                continue
            if periodic_task.task == RESEGMENT_TASK_NAME:
                errors = resegment_schedule_errors(periodic_task.args, periodic_task.kwargs)
                if errors:
                    self.message_user(
                        request,
                        f"Periodic task {periodic_task.name!r} was not queued: "
                        + " ".join(message for _field, message in errors)
                        + " Fix its arguments on its change page.",
                        level=messages.ERROR,
                    )
                    continue
            try:
                args = loads(periodic_task.args or "[]")
                kwargs = loads(periodic_task.kwargs or "{}")
            except ValueError as error:
                self.message_user(
                    request,
                    f"Periodic task {periodic_task.name!r} was not queued: its arguments are "
                    f"not valid JSON ({error}). Fix them on its change page.",
                    level=messages.ERROR,
                )
                continue
            options = {"queue": periodic_task.queue} if periodic_task.queue else {}
            try:
                task.apply_async(
                    args=args,
                    kwargs=kwargs,
                    headers={"periodic_task_name": periodic_task.name},
                    **options,
                )
            except OperationalError as error:
                logger.exception("Could not queue periodic task %s", periodic_task.name)
                self.message_user(
                    request,
                    f"Periodic task {periodic_task.name!r} could not be queued, because the "
                    f"task queue is not reachable ({error}). Try again, or check the broker.",
                    level=messages.ERROR,
                )
                continue
            queued.append(repr(periodic_task.name))
        if queued:
            self.message_user(
                request,
                f"Queued {', '.join(queued)} for a Celery worker. A re-segmentation that "
                "fails is recorded as a failed run: see the version's run link on the "
                "framework list, or Segmentation runs in the admin.",
            )

    def _run_in_request(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        names = ", ".join(repr(task.name) for task in queryset)
        try:
            super().run_tasks(request, queryset)
        except Exception as error:  # noqa: BLE001 - any task's error, shown to the user
            logger.exception("Periodic task %s run from the admin failed", names)
            self.message_user(
                request,
                f"Running the periodic task {names} failed: {error}",
                level=messages.ERROR,
            )
