"""Forms of the framework admin and pages, with the checks of ``segmentation.validation``."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet

from accounts.normalizers import country_code_fix

from .lifecycle import (
    RETURN_REASON_MAX_LENGTH,
    FrameworkStaleEditError,
    edit_stamp,
    framework_edit_check,
)
from .models import Criterion, Framework, Industry, SizeBand
from .validation import (
    MAX_SCORE,
    canonical_criterion_values,
    compiled_context,
    criterion_errors,
    cutoff_errors,
    geography_label_errors,
    geography_row_errors,
    name_key,
    normalization_note,
    reachability_errors,
    size_band_name_errors,
    size_band_overlaps,
    tag_template_errors,
)

# The size band inline's form prefix (its related name) and the geography map's field.
SIZE_BAND_PREFIX = "size_bands"
GEOGRAPHY_FIELD = "geography_text"
# The hidden field of a criterion or size band row that carries its row_stamp.
ROW_STAMP_FIELD = "row_stamp"
_VALUE_SEPARATORS = re.compile(r"[\n;]|,(?![^(]*\))")


def add_error_once(form: forms.BaseForm, field: str | None, message: str) -> None:
    """Add an error unless the field already shows it, as when model and form check alike."""
    key = field or "__all__"
    if message not in form.errors.get(key, []):
        form.add_error(field, message)


def _without_shown_errors(form: forms.BaseForm, errors: ValidationError) -> ValidationError:
    """Drop the model's errors on fields where the form's own clean() already reported one.

    A field with a form error keeps its old value on the instance, so the model would
    check a mix of old and new values and report a confusing second message.
    """
    if not hasattr(errors, "error_dict"):
        return errors
    remaining = {
        field: error_list
        for field, error_list in errors.error_dict.items()
        if field == "__all__" or not form.errors.get(field)
    }
    return ValidationError(remaining)


def split_values(text: str) -> list[str]:
    """Split a list typed one value per line (or separated by commas) into values."""
    return [value.strip() for value in _VALUE_SEPARATORS.split(text or "") if value.strip()]


def parse_geography(
    text: str, unmapped_label: str = ""
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Parse "country, region, label" lines into rows, and return them with the errors.

    A label that differs from ``unmapped_label`` only in spelling is an error.
    """
    rows: list[tuple[str, str, str]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    labels: list[tuple[str, str]] = []
    # Text pasted from a file saved with a byte order mark starts with U+FEFF.
    text = (text or "").replace("\ufeff", "")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 3 or not all(parts):
            example = f"{parts[0]}, {parts[1]}, {parts[1]}" if len(parts) == 2 else "DE, EMEA, EMEA"
            errors.append(
                f"Line {number} ({line.strip()!r}) is invalid: write three fields, country "
                f"code, region and tag label, such as {example}."
            )
            continue
        hidden = geography_row_errors(*parts, line_number=number)
        if hidden:
            errors += hidden
            continue
        country = parts[0].upper()
        region = parts[1]
        label = parts[2]
        if len(country) != 2 or not country.isalpha():
            errors.append(
                f"Line {number} has country {parts[0]!r}: use a two-letter ISO 3166-1 code."
            )
            continue
        fix = country_code_fix(country)
        if fix:
            errors.append(
                f"Line {number} has country {parts[0]!r}, which is not an ISO 3166-1 code: {fix}."
            )
            continue
        if len(region) > 50 or len(label) > 50:
            errors.append(f"Line {number} has a region or label longer than 50 characters.")
            continue
        if country in seen:
            errors.append(
                f"Line {number} maps {country} again (first on line {seen[country]}): keep one."
            )
            continue
        seen[country] = number
        rows.append((country, region, label))
        labels.append((label, f"line {number}"))
    errors += geography_label_errors(labels, unmapped_label)
    return rows, errors


class FrameworkAdminForm(forms.ModelForm):
    """The version's settings, with the cut-offs and tag template checked together.

    The geography map is one text field, a line per country, because a form row per
    country would exceed Django's limit of 1,000 posted fields.
    """

    high_tier_min_score = forms.IntegerField(
        label="High tier min score",
        min_value=1,
        max_value=MAX_SCORE,
        # The model's text, which the read-only page of a locked version shows.
        help_text=Framework._meta.get_field("high_tier_min_score").help_text,
        error_messages={
            "min_value": f"The High cut-off %(value)s is invalid: enter a value from 1 to "
            f"{MAX_SCORE}, above the Medium cut-off.",
            "max_value": f"The High cut-off %(value)s is above the maximum score {MAX_SCORE}: "
            f"enter a value from 1 to {MAX_SCORE}.",
        },
    )
    medium_tier_min_score = forms.IntegerField(
        label="Medium tier min score",
        min_value=1,
        max_value=MAX_SCORE - 1,
        help_text=Framework._meta.get_field("medium_tier_min_score").help_text,
        error_messages={
            "min_value": f"The Medium cut-off %(value)s is invalid: enter a value from 1 to "
            f"{MAX_SCORE - 1}, below the High cut-off.",
            "max_value": f"The Medium cut-off %(value)s is invalid: enter a value from 1 to "
            f"{MAX_SCORE - 1}, below the High cut-off.",
        },
    )
    geography_text = forms.CharField(
        label="Geography map",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 60}),
        help_text=(
            "One country per line: ISO code, region, tag label, such as "
            '"SG, APAC, APAC" or "US, North America, US". Countries not listed get the '
            "unmapped geography label."
        ),
    )
    # When the version was last saved as this form was opened (lifecycle.edit_stamp). A
    # save of a form opened before someone else's save is rejected instead of overwriting.
    loaded_at = forms.CharField(required=False, widget=forms.HiddenInput)
    # The user saving the form; the admin sets it on the form class it builds per request.
    editing_user = None

    class Meta:
        model = Framework
        fields = (
            "name",
            "summary",
            "high_tier_min_score",
            "medium_tier_min_score",
            "high_tier_route",
            "medium_tier_route",
            "low_tier_route",
            "tag_template",
            "unmapped_geography_label",
        )
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "tag_template": forms.TextInput(attrs={"size": 60}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            rows = self.instance.geography_mappings.order_by("region", "country").values_list(
                "country", "region", "label"
            )
            self.initial.setdefault("geography_text", "\n".join(", ".join(row) for row in rows))
            self.initial.setdefault("loaded_at", edit_stamp(self.instance))

    def clean_geography_text(self) -> str:
        text = self.cleaned_data.get("geography_text", "")
        # Django cleans fields in order, so the model field comes before this declared one.
        unmapped_label = self.cleaned_data.get("unmapped_geography_label", "")
        rows, errors = parse_geography(text, unmapped_label)
        if errors:
            raise ValidationError(errors)
        self.geography_rows = rows
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk:
            try:
                framework_edit_check(
                    framework=self.instance,
                    loaded_at=cleaned.get("loaded_at", ""),
                    user=self.editing_user,
                )
            except FrameworkStaleEditError as error:
                raise ValidationError(str(error), code="stale") from error
        for field, messages in cutoff_errors(
            cleaned.get("high_tier_min_score"), cleaned.get("medium_tier_min_score")
        ).items():
            for message in messages:
                self.add_error(field, message)
        if "tag_template" in cleaned:
            for message in tag_template_errors(cleaned["tag_template"]):
                self.add_error("tag_template", message)
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        # Framework.clean() repeats the checks above, so only new messages are added.
        super()._update_errors(_without_shown_errors(self, errors))


def row_stamp(instance: models.Model) -> str:
    """Return a fingerprint of a stored row that changes when any of its columns does."""
    values = {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FrameworkPartForm(forms.ModelForm):
    """A stored row of a version, with the fingerprint of its values as the page showed them.

    The formset compares the posted fingerprint with the row as stored when the form is
    posted, so a row changed after the page was opened is not saved over.
    """

    row_stamp = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A posted formset loads its rows again, so this is the row as stored now.
        self.stored_stamp = row_stamp(self.instance) if self.instance.pk else ""
        if self.instance.pk:
            self.initial.setdefault(ROW_STAMP_FIELD, self.stored_stamp)


class SizeBandForm(FrameworkPartForm):
    class Meta:
        model = SizeBand
        fields = (
            "position",
            "name",
            "min_employees",
            "max_employees",
            "min_revenue_usd",
            "max_revenue_usd",
        )


class CriterionForm(FrameworkPartForm):
    """A criterion with its values typed as a list, one per line."""

    values_text = forms.CharField(
        label="Values",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=(
            "One per line or separated by commas: canonical industries (such as SaaS), "
            "geography regions, labels or country codes, size band names, technologies or "
            "buying signals. Leave empty for a range."
        ),
    )

    class Meta:
        model = Criterion
        fields = (
            "dimension",
            "operator",
            "label",
            "values_text",
            "min_value",
            "max_value",
            "weight",
            "unknown_policy",
            "is_must_have",
            "is_disqualifier",
            "position",
        )
        labels = {
            "min_value": "Minimum (employees or USD)",
            "max_value": "Maximum (employees or USD)",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Explanations and the preview's settings diff name a criterion by its label.
        self.fields["label"].required = True
        self.fields["label"].error_messages["required"] = (
            "The label is missing: enter a name such as Target industry, which explanations "
            "and the impact preview show."
        )
        if self.instance.pk and isinstance(self.instance.values, list):
            self.initial.setdefault("values_text", "\n".join(map(str, self.instance.values)))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.instance.values = split_values(cleaned.get("values_text", ""))
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        # The model reports its "values" field, which this form edits as "values_text".
        if hasattr(errors, "error_dict") and "values" in errors.error_dict:
            errors.error_dict.setdefault("values_text", []).extend(errors.error_dict.pop("values"))
        super()._update_errors(errors)


def _posted_rows(data: Any, prefix: str, fields: tuple[str, ...]) -> list[dict[str, str]] | None:
    """Read the rows of a sibling inline from the POST data, or None when it is absent."""
    total = data.get(f"{prefix}-TOTAL_FORMS")
    if total is None:
        return None
    rows = []
    for index in range(int(total)):
        if data.get(f"{prefix}-{index}-DELETE"):
            continue
        row = {name: (data.get(f"{prefix}-{index}-{name}") or "").strip() for name in fields}
        if any(row.values()):
            rows.append(row)
    return rows


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text) if text else None
    except (ValueError, InvalidOperation):
        return None


class FrameworkPartFormSet(BaseInlineFormSet):
    """Inline rows of a version, rejecting a posted page whose rows were changed since.

    Saving the version's change form changes its ``updated_at``, which
    FrameworkAdminForm checks. These checks also catch rows changed or deleted without
    that form, such as by a script.
    """

    # What a row is called in messages, and the field that names it.
    part_label = "Row"
    name_field = "name"

    def clean(self) -> None:
        self._check_deleted_rows()
        self._check_changed_rows()
        super().clean()

    def _posted_name(self, form: forms.BaseForm) -> str:
        return (form.data.get(form.add_prefix(self.name_field)) or "").strip()

    def _check_deleted_rows(self) -> None:
        """Raise ValidationError for each posted row whose record no longer exists.

        Django reports such a row as an invalid hidden id, which the admin page does not
        show, so the page would only display "Please correct the error below".
        """
        pk_name = self.model._meta.pk.name
        messages = []
        for form in self.initial_forms:
            if pk_name not in form.errors or self._should_delete_form(form):
                continue
            messages.append(
                f"{self.part_label} {self._posted_name(form)!r} was deleted after this page "
                "was opened, in another tab or by another user, so nothing was saved: open "
                "the version again to see its current settings, then make your changes there."
            )
        if messages:
            raise ValidationError(messages)

    def _check_changed_rows(self) -> None:
        """Raise ValidationError for each posted row stored with other values than it showed.

        A row marked for deletion is checked too, because deleting it would discard the
        other change unseen. The form keeps the posted values, so the user can copy them.
        """
        pk_name = self.model._meta.pk.name
        messages = []
        for form in self.initial_forms:
            if pk_name in form.errors:
                continue
            posted = form.data.get(form.add_prefix(ROW_STAMP_FIELD)) or ""
            name = self._posted_name(form)
            if not posted:
                messages.append(
                    f"This form does not say which values of {self.part_label.lower()} "
                    f"{name!r} it showed, so nothing was saved: reload the page, then make "
                    "your changes again."
                )
            elif posted != form.stored_stamp:
                messages.append(
                    f"{self.part_label} {name!r} was changed after this page was opened, in "
                    "another tab or by another user, so nothing was saved: reload the page to "
                    "see its current values, then make your changes again."
                )
        if messages:
            raise ValidationError(messages)


class CriterionFormSet(FrameworkPartFormSet):
    """Check criteria against the bands and map posted with them, and the cut-offs."""

    part_label = "Criterion"
    name_field = "label"

    def clean(self) -> None:
        super().clean()
        framework: Framework = self.instance
        remaining_forms = [
            form
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        self._check_unique_labels(remaining_forms)
        context = compiled_context(
            framework,
            bands=self._posted_bands(),
            geography=self._posted_geography(),
        )
        for form in remaining_forms:
            errors = criterion_errors(form.instance, framework=framework, context=context)
            for field, messages in errors.items():
                target = {"__all__": None, "values": "values_text"}.get(field, field)
                for message in messages:
                    add_error_once(form, target, message)
            if not errors:
                # Stored as the taxonomy, the bands or the map spell them, so the impact
                # preview shows no change where only the case of a value differs.
                form.instance.values = canonical_criterion_values(form.instance, context)
        errors = reachability_errors(
            [form.instance for form in remaining_forms],
            framework.high_tier_min_score,
            framework.medium_tier_min_score,
        )
        if errors:
            raise ValidationError(errors)

    def _check_unique_labels(self, forms_to_check: list[forms.ModelForm]) -> None:
        """Add an error to each criterion whose label an earlier one has (see ``name_key``)."""
        first_label: dict[str, str] = {}
        for form in forms_to_check:
            label = (form.cleaned_data.get("label") or "").strip()
            if not label:
                continue
            key = name_key(label)
            if key in first_label:
                add_error_once(
                    form,
                    "label",
                    f"The label {label!r} is already used by another criterion of this version "
                    f"({first_label[key]!r}): give each criterion its own label, because "
                    "explanations and the impact preview tell criteria apart by it."
                    + normalization_note(first_label[key], label),
                )
            else:
                first_label[key] = label

    def _posted_bands(self) -> list[SizeBand] | None:
        fields = ("name", "min_employees", "max_employees", "min_revenue_usd", "max_revenue_usd")
        rows = _posted_rows(self.data, SIZE_BAND_PREFIX, fields)
        if rows is None:
            return None
        return [
            SizeBand(
                name=row["name"],
                min_employees=_number(row["min_employees"], int),
                max_employees=_number(row["max_employees"], int),
                min_revenue_usd=_number(row["min_revenue_usd"], Decimal),
                max_revenue_usd=_number(row["max_revenue_usd"], Decimal),
            )
            for row in rows
            if row["name"]
        ]

    def _posted_geography(self) -> list[tuple[str, str, str]] | None:
        if GEOGRAPHY_FIELD not in self.data:
            return None
        rows, _errors = parse_geography(self.data[GEOGRAPHY_FIELD])
        return rows


class SizeBandFormSet(FrameworkPartFormSet):
    """Reject size bands whose names repeat ignoring case or whose ranges overlap."""

    part_label = "Size band"

    def clean(self) -> None:
        super().clean()
        bands = [
            form.instance
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = size_band_name_errors(bands) + size_band_overlaps(bands)
        if errors:
            raise ValidationError(errors)


# Shown for an empty or blank summary: Sales Leadership read the summary before approving,
# and the revision register keeps it.
SUMMARY_REQUIRED_MESSAGE = (
    "Summarise what changed in this version and why, for example: “Raised the High cut-off "
    "from 70 to 75 and added HealthTech to the target industries.” Sales Leadership read "
    "the summary before they approve the version, and the revision register keeps it."
)


class FrameworkSubmitForm(forms.Form):
    summary = forms.CharField(
        label="Summary of changes",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "What this version changes and why. Required, and stored in the revision register."
        ),
        error_messages={"required": SUMMARY_REQUIRED_MESSAGE},
    )


class FrameworkReturnForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=RETURN_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "What Sales Ops must change before submitting the version again, at most "
            f"{RETURN_REASON_MAX_LENGTH:,} characters. Required, and stored in the revision "
            "register."
        ),
        error_messages={
            "required": (
                "The reason is missing: say what Sales Ops must change before the version "
                "is submitted again."
            ),
            "max_length": (
                "The reason has %(show_value)d characters, more than the maximum of "
                "%(limit_value)d: shorten it."
            ),
        },
    )


class IndustryMapForm(forms.Form):
    """Map one raw industry value seen on accounts to a canonical industry."""

    raw_value = forms.CharField(max_length=255, widget=forms.HiddenInput)
    industry = forms.ModelChoiceField(queryset=Industry.objects.order_by("name"))
