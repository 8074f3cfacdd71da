"""Admin pages of the governance records.

History tables, tag and tier changes and audit runs are append-only: every admin here
returns False for add, change and delete on them, so no admin page or bulk action edits
or removes a recorded change. Sales Ops edit severity rules and training records.
"""

import calendar
import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from simple_history.exceptions import NotHistoricalModelError
from simple_history.models import registered_models
from simple_history.utils import get_history_model_for_model

from accounts.models import SegmentOverride
from accounts.normalizers.text import character_count
from accounts.permissions import can_view_all_audits, can_view_audits
from accounts.text_limits import stored_length
from icp_portal.history_admin import HistoryAdmin

from .models import (
    TRAINED_ROLES,
    AuditRun,
    ReviewSession,
    SeverityRule,
    TrainingRecord,
    Violation,
)
from .permissions import can_manage_audit_rules
from .services import violation_update


def _never(user: Any) -> bool:
    return False


def _user_label(user: Any) -> str:
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


class RoleAdmin(admin.ModelAdmin):
    """ModelAdmin whose permissions follow the sales roles instead of model permissions.

    ``view_rule`` decides who may view the records and ``edit_rule`` who changes them. Adding
    and deleting follow ``edit_rule`` only where ``allow_add`` / ``allow_delete`` say so.
    """

    view_rule: Callable[[Any], bool] = staticmethod(can_view_all_audits)
    edit_rule: Callable[[Any], bool] = staticmethod(_never)
    allow_add = False
    allow_delete = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.view_rule(request.user) or self.edit_rule(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.edit_rule(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_add and self.edit_rule(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and self.edit_rule(request.user)


class HistoryRecordAdmin(RoleAdmin):
    """A read-only history table: who changed what, when and through which channel."""

    list_display = ("history_date", "history_type", "history_user", "history_channel", "__str__")
    list_filter = ("history_type", "history_channel")
    list_select_related = ("history_user",)
    date_hierarchy = "history_date"
    show_full_result_count = False


def register_history_admins(site: admin.AdminSite = admin.site) -> None:
    """Register every simple-history table read-only, including models added later."""
    for tracked in set(registered_models.values()):
        try:
            history_model = get_history_model_for_model(tracked)
        except NotHistoricalModelError:
            continue
        if site.is_registered(history_model):
            continue
        names = {f.name for f in history_model._meta.concrete_fields}
        attributes: dict[str, Any] = {}
        if "history_channel" not in names:
            attributes["list_display"] = ("history_date", "history_type", "history_user", "__str__")
            attributes["list_filter"] = ("history_type",)
        admin_class = type(f"{history_model.__name__}Admin", (HistoryRecordAdmin,), attributes)
        site.register(history_model, admin_class)


register_history_admins()


class SegmentOverrideAdmin(RoleAdmin):
    list_display = ("created_at", "kind", "account", "old_tag", "new_tag", "user", "rep")
    list_filter = ("kind",)
    list_select_related = ("account", "user", "rep")
    search_fields = ("account__name", "reason")
    date_hierarchy = "created_at"


if not admin.site.is_registered(SegmentOverride):
    admin.site.register(SegmentOverride, SegmentOverrideAdmin)


@admin.register(SeverityRule)
class SeverityRuleAdmin(RoleAdmin, HistoryAdmin):
    """Severity and default consequence per rule. Rule codes are fixed by the audit."""

    view_rule = staticmethod(can_view_audits)
    edit_rule = staticmethod(can_manage_audit_rules)
    list_display = ("rule_code", "kind", "severity", "default_consequence", "description")
    list_editable = ("severity", "default_consequence")
    list_filter = ("kind", "severity")
    readonly_fields = ("rule_code", "kind")


class TraineeChoiceField(forms.ModelChoiceField):
    """Choice of a training's user that lists ``queryset`` but accepts any of ``users``.

    A user who was listed when the page loaded may have left or changed role before the
    form is sent, and a posted id may name any user. Accepting them here lets
    ``TrainingRecord.clean`` explain why they cannot be trained, where the field would only
    report an invalid choice.
    """

    users: QuerySet | None = None

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or self.users is None:
            return super().to_python(value)
        try:
            return self.users.get(**{self.to_field_name or "pk": value})
        except (ValueError, TypeError, ObjectDoesNotExist, ValidationError):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            ) from None


# Notes of a training record, in user-perceived characters as the portal's other texts.
TRAINING_NOTES_MAX_CHARACTERS = 2000
ISO_DATE_FORMAT = "%Y-%m-%d"


# A date as YYYY-MM-DD with two digits for the month and the day. strptime's %m and %d
# also accept one digit, which the help text does not offer.
ISO_DATE_PATTERN = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class IsoDateField(forms.DateField):
    """A date typed as YYYY-MM-DD only, with two digits for the month and the day.

    The en-us locale also reads 01/10/2026, as 10 January, which a reader of another
    locale means as 1 October, so such a date is rejected rather than read in US order.
    """

    input_formats = [ISO_DATE_FORMAT]
    widget = widgets.AdminDateWidget(format=ISO_DATE_FORMAT)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            match = ISO_DATE_PATTERN.fullmatch(value.strip())
            if match is None:
                raise ValidationError(
                    "“%(value)s” is not a date in the form YYYY-MM-DD: enter the year, month "
                    "and day in that order, with two digits for the month and the day, such "
                    "as 2026-01-10 for 10 January 2026.",
                    code="invalid",
                    params={"value": value},
                )
            _check_date_exists(value, *(int(part) for part in match.groups()))
        return super().to_python(value)


def _check_date_exists(value: str, year: int, month: int, day: int) -> None:
    """Raise ValidationError naming the part of a YYYY-MM-DD date that does not exist."""
    if year < 1:
        reason = "there is no year 0000, the first is 0001"
    elif not 1 <= month <= 12:
        reason = f"there is no month {month:02d}, months run from 01 to 12"
    else:
        days = calendar.monthrange(year, month)[1]
        if 1 <= day <= days:
            return
        reason = f"{calendar.month_name[month]} {year:04d} has no day {day:02d}, only 01 to {days}"
    raise ValidationError(
        "“%(value)s” is not a valid date: %(reason)s. Correct it and save again.",
        code="invalid",
        params={"value": value, "reason": reason},
    )


class TrainingRecordForm(forms.ModelForm):
    completed_on = IsoDateField(
        label="Completed on",
        help_text="YYYY-MM-DD, with two digits for the month and the day, such as 2026-01-10.",
    )

    class Meta:
        model = TrainingRecord
        fields = ["user", "kind", "completed_on", "notes"]
        help_texts = {
            "notes": f"At most {TRAINING_NOTES_MAX_CHARACTERS:,} characters.",
        }

    def clean_notes(self) -> str:
        notes = self.cleaned_data["notes"]
        if self.instance.pk is not None and notes == self.instance.notes:
            # Notes stored before the limit can be kept while the record is edited.
            return notes
        count = character_count(notes)
        if count > TRAINING_NOTES_MAX_CHARACTERS:
            raise ValidationError(
                f"The notes are {count:,} characters long, more than the "
                f"{TRAINING_NOTES_MAX_CHARACTERS:,} allowed: shorten them."
            )
        if len(notes) > stored_length(TRAINING_NOTES_MAX_CHARACTERS):
            raise ValidationError(
                "The notes contain characters made of many combining marks, more than can "
                "be stored: remove them."
            )
        return notes


@admin.register(TrainingRecord)
class TrainingRecordAdmin(RoleAdmin, HistoryAdmin):
    view_rule = staticmethod(can_view_audits)
    edit_rule = staticmethod(can_manage_audit_rules)
    form = TrainingRecordForm
    allow_add = True
    allow_delete = True
    list_display = ("user", "kind", "completed_on_iso", "recorded_by")
    list_filter = ("kind",)
    list_select_related = ("user", "recorded_by")
    search_fields = ("user__username", "user__first_name", "user__last_name", "notes")
    exclude = ("recorded_by",)

    @admin.display(description="Completed on", ordering="completed_on")
    def completed_on_iso(self, obj: TrainingRecord) -> str:
        # The form takes YYYY-MM-DD, so the list shows dates the same way, not "Nov. 5, 2026".
        return obj.completed_on.isoformat()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["form_class"] = TraineeChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change=change, **kwargs)
        user_field = form.base_fields.get("user")
        if isinstance(user_field, TraineeChoiceField):
            # Active SDRs and AEs by name, since Sales Ops may not open the user admin. A
            # record keeps its own user even after that user left or changed role.
            trainees = Q(is_active=True, groups__name__in=TRAINED_ROLES)
            if obj is not None:
                trainees |= Q(pk=obj.user_id)
            user_field.users = user_field.queryset
            user_field.queryset = (
                user_field.queryset.filter(trainees)
                .distinct()
                .order_by("first_name", "last_name", "username")
            )
            user_field.label_from_instance = _user_label
        return form

    def save_model(
        self, request: HttpRequest, obj: TrainingRecord, form: Any, change: bool
    ) -> None:
        if obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AuditRun)
class AuditRunAdmin(RoleAdmin):
    list_display = (
        "month",
        "status",
        "accounts_checked",
        "violations_found",
        "violations_created",
        "violations_removed",
        "started_at",
        "finished_at",
    )
    list_filter = ("status",)


@admin.register(Violation)
class ViolationAdmin(RoleAdmin, HistoryAdmin):
    """Findings are created by the audit. Sales Ops set their status and consequence."""

    edit_rule = staticmethod(can_manage_audit_rules)
    list_display = (
        "audit_run",
        "kind",
        "rule_code",
        "severity",
        "account",
        "responsible",
        "status",
    )
    list_filter = ("kind", "severity", "status", "audit_run")
    list_select_related = ("audit_run", "account", "responsible")
    search_fields = ("account__name", "rule_code", "detail")
    readonly_fields = (
        "audit_run",
        "account",
        "kind",
        "rule_code",
        "detail",
        "severity",
        "responsible",
        "resolved_by",
        "resolved_at",
    )
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Violation, form: Any, change: bool) -> None:
        violation_update(
            violation=obj,
            user=request.user,
            status=obj.status,
            consequence=obj.consequence,
            consequence_notes=obj.consequence_notes,
        )


@admin.register(ReviewSession)
class ReviewSessionAdmin(RoleAdmin):
    list_display = ("id", "manager", "period_start", "period_end", "sample_size", "created_at")
    list_select_related = ("manager",)
