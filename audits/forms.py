"""Forms of the governance pages."""

from datetime import date, datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone

from accounts import forms as account_forms
from accounts.forms import (
    REASON_MAX_LENGTH,
    CountedTextField,
    invalid_choice_message,
    too_long_message,
)
from accounts.models import Tier

from .models import (
    Consequence,
    ReviewItem,
    ReviewSession,
    Severity,
    TrainingRecord,
    Violation,
    ViolationKind,
)
from .periods import Period, local_today, parse_audit_month
from .services import ShownDecision

INPUT = "form-control form-control-sm"
SELECT = "form-select form-select-sm"
DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": INPUT}, format="%Y-%m-%d")
# The largest id of a 64-bit key. A larger one makes the database driver fail.
MAX_ID = 2**63 - 1
# Pages are read by offset. Far pages are slow and a huge page number overflows it.
MAX_PAGE = 100_000
PAGE_MESSAGES = {
    "invalid": "Page must be a whole number, such as 2.",
    "min_value": "Page must be 1 or higher.",
    "max_value": "Page must be %(limit_value)s or lower: narrow the filters instead.",
}
# A new review looks back this many days by default.
DEFAULT_REVIEW_DAYS = 30


def _user_label(user) -> str:
    label = user.get_full_name() or user.get_username()
    return label if user.is_active else f"{label} (inactive)"


def _hidden_number(largest: int, **messages: str) -> forms.IntegerField:
    """Return an optional hidden whole-number field from 1 to ``largest``.

    ``messages`` are the field's error messages by code (invalid, min_value, max_value).
    """
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=largest,
        widget=forms.HiddenInput,
        error_messages=messages,
    )


class ErrorLinesMixin:
    """A form whose errors can be listed as lines, for a page notice or a plain-text reply."""

    def error_lines(self) -> list[str]:
        """Return every error as “Label: message”, hidden fields included."""
        lines = [str(error) for error in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == NON_FIELD_ERRORS:
                continue
            label = self.fields[name].label or name.capitalize()
            lines += [f"{label}: {error}" for error in errors]
        return lines


FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9999, 12, 30)


class NamedDateField(account_forms.NamedDateField):
    """A date field whose errors name the value, the format and the supported dates."""

    def to_python(self, value):
        parsed = super().to_python(value)
        # A period ends at the start of the next day, and a day's start in the team's time
        # zone can fall on the day before in UTC, so the first and last dates are unusable.
        if parsed is not None and not FIRST_DATE <= parsed <= LAST_DATE:
            raise forms.ValidationError(
                f"{parsed} is outside the dates supported: enter one from {FIRST_DATE} to "
                f"{LAST_DATE}.",
                code="invalid",
            )
        return parsed


class NamedIntegerField(forms.IntegerField):
    """A whole-number field whose errors name the value entered and the accepted range."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs) -> None:
        range_text = f"enter a whole number from {min_value} to {max_value}"
        messages = {
            "min_value": f"%(value)s is below the minimum of %(limit_value)s: {range_text}.",
            "max_value": f"%(value)s is above the maximum of %(limit_value)s: {range_text}.",
            **kwargs.pop("error_messages", {}),
        }
        self.range_text = range_text
        super().__init__(
            min_value=min_value, max_value=max_value, error_messages=messages, **kwargs
        )

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code != "invalid":
                raise
            raise forms.ValidationError(
                f"“{value}” is not a whole number: {self.range_text}.", code="invalid"
            ) from None


class UserChoiceField(forms.ModelChoiceField):
    default_error_messages = {
        "invalid_choice": "“%(value)s” is not one of the listed people: choose one from the list."
    }

    def label_from_instance(self, obj) -> str:
        return _user_label(obj)


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    default_error_messages = {
        "invalid_choice": "“%(value)s” is not one of the listed people: tick people from the list."
    }

    def label_from_instance(self, obj) -> str:
        return _user_label(obj)


class DateRangeMixin:
    """Check that the end date does not come before the start date."""

    start_field = "start"
    end_field = "end"

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get(self.start_field), cleaned.get(self.end_field)
        if start and end and end < start:
            self.add_error(
                self.end_field,
                f"The end date {end} is before the start date {start}: pick an end date on or"
                " after the start date, or swap the two.",
            )
        return cleaned

    def period(self) -> Period | None:
        start = self.cleaned_data.get(self.start_field)
        end = self.cleaned_data.get(self.end_field)
        if not start and not end:
            return None
        return Period(start or date(1970, 1, 1), end or local_today())


class ReviewSessionForm(DateRangeMixin, forms.Form):
    start_field = "period_start"
    end_field = "period_end"

    reps = UserMultipleChoiceField(
        label="Reps",
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Reps whose accounts to sample.",
        error_messages={
            "required": "Reps: no rep is ticked. Tick at least one rep whose accounts to sample."
        },
    )
    period_start = NamedDateField(label="Segmented from", widget=DATE_WIDGET)
    period_end = NamedDateField(label="Segmented until", widget=DATE_WIDGET)
    sample_size = NamedIntegerField(
        min_value=1,
        max_value=ReviewSession.MAX_SAMPLE_SIZE,
        initial=ReviewSession.DEFAULT_SAMPLE_SIZE,
        help_text=f"Accounts to review, 1 to {ReviewSession.MAX_SAMPLE_SIZE}.",
        error_messages={
            "required": "Sample size is empty: enter the number of accounts to review, 1 to "
            f"{ReviewSession.MAX_SAMPLE_SIZE}."
        },
        widget=forms.NumberInput(attrs={"class": INPUT}),
    )

    def __init__(self, *args, reps=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reps is not None:
            self.fields["reps"].queryset = reps
        today = local_today()
        self.fields["period_start"].initial = today - timedelta(days=DEFAULT_REVIEW_DAYS)
        self.fields["period_end"].initial = today


class ShownDecisionForm(forms.Form):
    """The decision on a review item that the page showed, sent back with a decision.

    The page renders ``shown_decision`` and ``shown_decided_at`` from the item, so that a
    decision made meanwhile in another tab or by another request is detected instead of
    overwritten. A request without ``shown_decision``, such as from a page rendered
    before these fields existed, is not checked.
    """

    shown_decision = forms.CharField(required=False, widget=forms.HiddenInput)
    shown_decided_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        # The fields are hidden, so their errors are added to the form, which pages show.
        cleaned = super().clean()
        decision = cleaned.get("shown_decision") or ""
        decided_at = cleaned.get("shown_decided_at") or ""
        cleaned["shown"] = None
        if not decision:
            return cleaned
        if decision not in ReviewItem.Decision.values:
            self.add_error(
                None,
                f"Shown decision “{decision}” is not a review decision: reload the page "
                "and decide again.",
            )
            return cleaned
        parsed = None
        if decided_at:
            try:
                parsed = datetime.fromisoformat(decided_at)
            except ValueError:
                self.add_error(
                    None,
                    f"Shown decision time “{decided_at}” is not an ISO 8601 date and time: "
                    "reload the page and decide again.",
                )
                return cleaned
            if timezone.is_naive(parsed):
                self.add_error(
                    None,
                    f"Shown decision time “{decided_at}” has no UTC offset: reload the page "
                    "and decide again.",
                )
                return cleaned
        cleaned["shown"] = ShownDecision(decision, parsed)
        return cleaned

    def shown(self) -> ShownDecision | None:
        """Return the decision the page showed, or None when the request did not send one."""
        return self.cleaned_data.get("shown")


class ReviewCorrectionForm(ShownDecisionForm):
    tag = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "SaaS – Mid-Market – APAC"}),
    )
    tier = forms.ChoiceField(
        required=False,
        choices=[("", "Keep the tier"), *Tier.choices],
        widget=forms.Select(attrs={"class": SELECT}),
    )
    reason = CountedTextField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "Why is it wrong?"}),
        error_messages={
            "required": "Enter the reason for the correction.",
            "max_length": too_long_message("Reason"),
        },
    )


# Consequence notes are one line in the findings table, such as "Coaching booked 12 May".
CONSEQUENCE_NOTES_MAX_LENGTH = 500


class ViolationForm(forms.ModelForm):
    # The finding's updated_at when the page was rendered, so that a save from a page
    # opened before someone else's change is detected instead of overwriting it.
    updated_at = forms.CharField(required=False, widget=forms.HiddenInput)
    consequence_notes = CountedTextField(
        required=False,
        max_length=CONSEQUENCE_NOTES_MAX_LENGTH,
        widget=forms.TextInput(attrs={"class": INPUT}),
        error_messages={
            "max_length": "The notes have %(show_value)d characters: shorten them to "
            "%(limit_value)d or fewer, and keep longer detail in a research note."
        },
    )

    class Meta:
        model = Violation
        fields = ("status", "consequence", "consequence_notes")
        widgets = {
            "status": forms.Select(attrs={"class": SELECT}),
            "consequence": forms.Select(attrs={"class": SELECT}),
        }
        error_messages = {
            "status": {
                "invalid_choice": invalid_choice_message(
                    "a finding status", Violation.Status.choices
                )
            },
            "consequence": {
                "invalid_choice": invalid_choice_message("a consequence", Consequence.choices)
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.updated_at is not None:
            self.fields["updated_at"].initial = self.instance.updated_at.isoformat()

    def is_stale(self) -> bool:
        """Return whether the finding changed after the page with this form was rendered.

        A form posted without the field, as by older pages, is not checked.
        """
        posted = self.cleaned_data.get("updated_at")
        if not posted:
            return False
        try:
            seen = datetime.fromisoformat(posted)
        except ValueError:
            return True
        return seen != self.instance.updated_at


class ReportFilterForm(ErrorLinesMixin, forms.Form):
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any kind"), *ViolationKind.choices],
        error_messages={
            "invalid_choice": invalid_choice_message("a kind of finding", ViolationKind.choices)
        },
        widget=forms.Select(attrs={"class": SELECT}),
    )
    severity = forms.ChoiceField(
        required=False,
        choices=[("", "Any severity"), *Severity.choices],
        error_messages={"invalid_choice": invalid_choice_message("a severity", Severity.choices)},
        widget=forms.Select(attrs={"class": SELECT}),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *Violation.Status.choices],
        error_messages={
            "invalid_choice": invalid_choice_message("a finding status", Violation.Status.choices)
        },
        widget=forms.Select(attrs={"class": SELECT}),
    )
    rep = _hidden_number(
        MAX_ID,
        invalid="Rep must be a user id, such as 42.",
        max_value="Rep id is too large to be a user: check the link.",
    )
    # Read by the list's paginator. Declared so that an invalid page is a filter error.
    page = _hidden_number(MAX_PAGE, **PAGE_MESSAGES)


class CorrectionFilterForm(ErrorLinesMixin, DateRangeMixin, forms.Form):
    rep = UserChoiceField(
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Any rep",
        widget=forms.Select(attrs={"class": SELECT}),
    )
    reviewer = UserChoiceField(
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Any reviewer",
        widget=forms.Select(attrs={"class": SELECT}),
    )
    start = NamedDateField(required=False, label="From", widget=DATE_WIDGET)
    end = NamedDateField(required=False, label="Until", widget=DATE_WIDGET)
    q = forms.CharField(
        required=False,
        max_length=255,
        label="Account",
        widget=forms.TextInput(attrs={"class": INPUT, "type": "search"}),
    )

    def __init__(self, *args, users=None, reviewers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if users is not None:
            self.fields["rep"].queryset = users
        if reviewers is not None:
            self.fields["reviewer"].queryset = reviewers


class TeamChoiceField(forms.ModelChoiceField):
    """A choice of manager that selects the people who report to them."""

    def label_from_instance(self, obj) -> str:
        return f"Team of {_user_label(obj)}"


class TrainingFilterForm(ErrorLinesMixin, DateRangeMixin, forms.Form):
    person = UserChoiceField(
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Anyone",
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "Person id “%(value)s” was not found: choose a person from the list."
        },
    )
    team = TeamChoiceField(
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Any team",
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "Team “%(value)s” was not found: choose a team from the list."
        },
    )
    kind = forms.ChoiceField(
        required=False,
        label="Training",
        choices=[("", "Any training"), *TrainingRecord.Kind.choices],
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "Training “%(value)s” is not a kind of training: choose "
            "onboarding or refresher."
        },
    )
    start = NamedDateField(required=False, label="Completed from", widget=DATE_WIDGET)
    end = NamedDateField(required=False, label="Until", widget=DATE_WIDGET)
    overdue = forms.BooleanField(
        required=False,
        label="Overdue people only",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, people=None, managers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people
        if managers is not None:
            self.fields["team"].queryset = managers


class TrailFilterForm(ErrorLinesMixin, DateRangeMixin, forms.Form):
    user = UserChoiceField(
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Any user",
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "User id “%(value)s” was not found: choose a user from the list."
        },
    )
    model = forms.ChoiceField(
        required=False,
        label="Record",
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "Record type “%(value)s” is not recorded in the trail: "
            "choose one from the list."
        },
    )
    start = NamedDateField(required=False, label="From", widget=DATE_WIDGET)
    end = NamedDateField(required=False, label="Until", widget=DATE_WIDGET)
    account = _hidden_number(
        MAX_ID,
        invalid="Account id must be a whole number, such as 42.",
        max_value="Account id is too large to be an account: check the link.",
    )
    page = _hidden_number(MAX_PAGE, **PAGE_MESSAGES)

    def __init__(self, *args, users=None, sources=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if users is not None:
            self.fields["user"].queryset = users
        self.fields["model"].choices = [("", "Any record")] + [
            (source.key, source.label) for source in sources
        ]


class AuditRunForm(forms.Form):
    month = forms.CharField(
        max_length=7,
        help_text="Month to audit, as YYYY-MM. Only a month that has ended can be audited.",
        widget=forms.TextInput(attrs={"class": INPUT, "type": "month"}),
    )

    def clean_month(self) -> date:
        try:
            return parse_audit_month(self.cleaned_data["month"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


__all__ = [
    "AuditRunForm",
    "CorrectionFilterForm",
    "ReportFilterForm",
    "ReviewCorrectionForm",
    "ReviewSessionForm",
    "ShownDecisionForm",
    "TrailFilterForm",
    "ViolationForm",
]
