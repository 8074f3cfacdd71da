"""Forms of the SDR/AE workspace: inline edits, notes, fit, bulk actions and the import wizard.

Forms check the shape of the input; the services in ``accounts.workspace`` apply the
business rules, and views show their ValidationError messages next to the fields.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator

from accounts.importing.errors import ImportFileError
from accounts.importing.layouts import FIELDS
from accounts.importing.sources import MAX_SOURCE_LENGTH, source_name_normalize
from accounts.models import (
    Account,
    ResearchNote,
    Tier,
    validate_not_before_1900,
    validate_not_in_future,
)
from accounts.normalizers.text import normalize_line_breaks
from accounts.text_limits import character_limit_validators
from segmentation.models import Industry
from segmentation.tags import active_tag_checker

from . import workspace

INPUT = "form-control form-control-sm"
SELECT = "form-select form-select-sm"
TIER_CHOICES = [("", "Keep the tier"), *Tier.choices]
REASON_MAX_LENGTH = 500
REASON_REQUIRED = "Reason is empty: say why, so reviewers can follow the change."


def too_long_message(name: str) -> str:
    """Return the max_length message of a text field, naming it as ``name``."""
    return (
        f"{name} is %(show_value)d characters long, more than the %(limit_value)d allowed: "
        "shorten it."
    )


def invalid_choice_message(noun: str, choices: Any) -> str:
    """Return the invalid_choice message of a choice field: the value and the valid choices.

    ``noun`` names what a valid value is, such as "a kind of note", and ``choices`` are the
    field's (value, label) pairs, where an empty value (such as "Any kind") is not listed.
    Django fills in ``%(value)s``, so a "%" of a label is escaped.
    """
    listed = [f"{label} ({value})".replace("%", "%%") for value, label in choices if value != ""]
    if len(listed) > 1:
        listed = [", ".join(listed[:-1]) + " or " + listed[-1]]
    return f"“%(value)s” is not {noun}: choose {listed[0]}."


class NamedDateField(forms.DateField):
    """A date field whose error for an invalid date names the value and the format."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                f"“{value}” is not a date: enter one as YYYY-MM-DD, such as 2026-03-31.",
                code="invalid",
            ) from None


class CountedBoundField(forms.BoundField):
    """Bound field of a CountedTextField, which names the element of its counter."""

    @property
    def counter_id(self) -> str:
        """Return the id of the counter that _form_field.html renders, or "" for none.

        A field without a limit has no counter. A widget with its own ``data-counter``
        has a counter that its template places.
        """
        field = self.field
        if field.max_length is None or "data-counter" in field.widget.attrs or not self.auto_id:
            return ""
        return f"{self.auto_id}-counter"

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.counter_id:
            attrs.setdefault("data-counter", self.counter_id)
        return attrs


class CountedTextField(forms.CharField):
    """Text whose ``max_length`` counts user-perceived characters, as the page's counter does.

    A flag, an emoji with a skin tone, a family emoji or a letter with a combining accent
    counts as one character (see accounts.text_limits). Browsers send each line break of a
    textarea as CRLF, so breaks are stored as LF and count once. The input gets no
    ``maxlength``, because browsers count UTF-16 code units there and would cut a text that
    the server accepts. static/js/portal.js counts with Intl.Segmenter instead, up to the
    limit in ``data-max-length``.
    """

    bound_field_class = CountedBoundField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            code_point_limits = [
                validator for validator in self.validators if type(validator) is MaxLengthValidator
            ]
            for validator in code_point_limits:
                self.validators.remove(validator)
            self.validators.extend(character_limit_validators(self.max_length))

    def to_python(self, value: Any) -> str:
        return normalize_line_breaks(super().to_python(value))

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        if self.max_length is not None:
            attrs["data-max-length"] = str(self.max_length)
        return attrs


def _reason_field(label: str = "Reason") -> forms.CharField:
    # The messages name the field as its label reads, such as "What discovery showed".
    required = (
        REASON_REQUIRED
        if label == "Reason"
        else f"“{label}” is empty: say why, so reviewers can follow the change."
    )
    too_long = too_long_message(label if label == "Reason" else f"“{label}”")
    return CountedTextField(
        label=label,
        max_length=REASON_MAX_LENGTH,
        error_messages={"required": required, "max_length": too_long},
        widget=forms.Textarea(attrs={"rows": 2, "class": INPUT}),
    )


class VersionField(forms.CharField):
    """Hidden field with the account's updated_at when the form was rendered."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


LOADED_PREFIX = "loaded_"
FINGERPRINT_PATTERN = re.compile(f"[0-9a-f]{{{workspace.edits.FINGERPRINT_LENGTH}}}")


class LoadedValuesMixin:
    """Hidden ``loaded_<input>`` fields with the fingerprints of the stored values behind
    the form's inputs when it was rendered (see workspace.input_fingerprint).

    A save compares them with the account's current values, so that it is rejected only
    when someone changed a value that this form saves.
    """

    loaded_inputs: tuple[str, ...] = ()

    def add_loaded_fields(self, inputs: tuple[str, ...]) -> None:
        self.loaded_inputs = inputs
        for name in inputs:
            self.fields[LOADED_PREFIX + name] = forms.CharField(
                required=False, widget=forms.HiddenInput
            )

    @property
    def loaded_fields(self) -> list[forms.BoundField]:
        return [self[LOADED_PREFIX + name] for name in self.loaded_inputs]

    def loaded_fingerprints(self) -> dict[str, str] | None:
        """Return the fingerprints the form was rendered with, keyed by input name.

        Returns None when one is missing or malformed, as from a form rendered before
        fingerprints were sent: the save then treats any change to the account as stale.
        """
        fingerprints = {}
        for name in self.loaded_inputs:
            value = self.cleaned_data.get(LOADED_PREFIX + name) or ""
            if not FINGERPRINT_PATTERN.fullmatch(value):
                return None
            fingerprints[name] = value
        return fingerprints


def loaded_initial(account: Account, inputs: tuple[str, ...]) -> dict[str, str]:
    """Return the initial values of a form's ``loaded_<input>`` fields for the account."""
    return {
        LOADED_PREFIX + name: fingerprint
        for name, fingerprint in workspace.input_fingerprints(account, inputs).items()
    }


# Account page --------------------------------------------------------------------------

INPUT_LABELS = {
    "name": "Name",
    "industry_raw": "Industry",
    "employees": "Employees",
    "revenue": "Revenue",
    "city": "City",
    "region": "State or region",
    "country": "Country",
    "website": "Website",
    "technologies": "Technologies",
    "description": "Description",
}
INPUT_HELP = {
    "industry_raw": (
        "An industry of the list or one of its synonyms, such as Computer Software, in any "
        "letter case."
    ),
    "employees": "A head count or range: 250, 51-200, 10,001+ or ~5k.",
    "revenue": "Annual revenue with its currency: $12.5M, EUR 40M or 1200000.",
    "country": "Name or ISO code, such as Germany or DE.",
    "technologies": "Separated by commas.",
}


# Id of the <datalist> of industry names that the industry input suggests.
INDUSTRY_OPTIONS_ID = "industry-options"


class FieldEditForm(LoadedValuesMixin, forms.Form):
    """The inputs of one editable field (see workspace.EDITABLE_FIELDS), the version and
    the fingerprints of the inputs' stored values.

    The industry form also has ``allow_unmapped``, the confirmation that keeps a label
    matching no industry. The page shows that box only after such a label was rejected
    (``unknown_industry``), or when it was ticked.
    """

    version = VersionField()

    def __init__(self, *args: Any, field_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"edit_{field_name}_%s")
        super().__init__(*args, **kwargs)
        self.spec = workspace.EDITABLE_FIELDS[field_name]
        self.unknown_industry = False
        for name in self.spec.inputs:
            attrs = {"class": INPUT, "autocomplete": "off"}
            if name == "description":
                # Counted in code points with a counter and no maxlength, which would cut
                # a pasted text silently, and counts an emoji as two.
                self.fields[name] = CountedTextField(
                    label=INPUT_LABELS[name],
                    required=False,
                    max_length=workspace.edits.MAX_DESCRIPTION_LENGTH,
                    error_messages={"max_length": too_long_message("Description")},
                    widget=forms.Textarea(attrs={**attrs, "rows": 4}),
                    strip=False,
                )
                continue
            if name == "industry_raw":
                attrs["list"] = INDUSTRY_OPTIONS_ID
            self.fields[name] = forms.CharField(
                label=INPUT_LABELS[name],
                required=False,
                max_length=workspace.edits.MAX_DESCRIPTION_LENGTH,
                help_text=INPUT_HELP.get(name, ""),
                widget=forms.TextInput(attrs=attrs),
            )
        if "industry_raw" in self.spec.inputs:
            self.fields["allow_unmapped"] = forms.BooleanField(
                label="Save as unmapped anyway",
                required=False,
                help_text=(
                    "Keeps the label without an industry until Sales Ops maps it. Until then "
                    "the account needs enrichment, so it gets no tag or route, and its score "
                    "counts the industry as unknown."
                ),
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )
            help_id = f"{self['allow_unmapped'].auto_id}-help"
            self.fields["allow_unmapped"].widget.attrs["aria-describedby"] = help_id
        self.add_loaded_fields(self.spec.inputs)

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.spec.inputs}

    @property
    def allows_unmapped(self) -> bool:
        """Return whether the person confirmed an unmapped industry; call after is_valid()."""
        return bool(self.cleaned_data.get("allow_unmapped"))

    @property
    def offers_unmapped(self) -> bool:
        """Return whether the page shows the "Save as unmapped anyway" box."""
        if "allow_unmapped" not in self.fields:
            return False
        return self.unknown_industry or bool(self["allow_unmapped"].value())

    def industry_names(self) -> list[str]:
        """Return the names of the taxonomy's industries, which the industry input suggests."""
        if "industry_raw" not in self.spec.inputs:
            return []
        return list(Industry.objects.order_by("name").values_list("name", flat=True))


class FlagReviewForm(forms.Form):
    """The review flag a person marks reviewed, named by its field and value."""

    field = forms.CharField(required=False, max_length=100)
    value = forms.CharField(required=False, max_length=1000, strip=False)


TAG_HELP = (
    "Follow the active framework's tag template. The default one names the industry, size "
    "band and geography, such as SaaS – Mid-Market – APAC."
)


# Inputs of the tag and fit forms that are compared with the account's values on save.
SEGMENT_INPUTS = ("tag", "tier")


class SegmentEditForm(LoadedValuesMixin, forms.Form):
    """A person's tag and tier for an account, with the reason."""

    tag = forms.CharField(
        label="Tag",
        required=False,
        max_length=Account._meta.get_field("tag").max_length,
        help_text=TAG_HELP,
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "SaaS – Mid-Market – APAC"}),
    )
    tier = forms.ChoiceField(
        label="Tier",
        required=False,
        choices=TIER_CHOICES,
        widget=forms.Select(attrs={"class": SELECT}),
    )
    reason = _reason_field()
    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "segment_%s")
        super().__init__(*args, **kwargs)
        self.add_loaded_fields(SEGMENT_INPUTS)


class FitValidationForm(LoadedValuesMixin, forms.Form):
    """An AE's fit decision after discovery: confirm the segment or refine it."""

    decision = forms.ChoiceField(
        choices=[(workspace.FIT_CONFIRM, "Confirm fit"), (workspace.FIT_REFINE, "Refine fit")],
        widget=forms.HiddenInput,
    )
    tier = forms.ChoiceField(
        label="New tier",
        required=False,
        choices=TIER_CHOICES,
        widget=forms.Select(attrs={"class": SELECT}),
    )
    tag = forms.CharField(
        label="New tag",
        required=False,
        max_length=Account._meta.get_field("tag").max_length,
        help_text=TAG_HELP,
        widget=forms.TextInput(attrs={"class": INPUT}),
    )
    reason = _reason_field("What discovery showed")
    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "fit_%s")
        super().__init__(*args, **kwargs)
        self.add_loaded_fields(SEGMENT_INPUTS)


class NoteForm(forms.Form):
    """A research note: kind, text of at most 500 characters, source link and date."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=ResearchNote.Kind.choices,
        initial=ResearchNote.Kind.OTHER,
        help_text="Funding, hire and expansion notes of the last 12 months add a buying signal.",
        error_messages={
            "invalid_choice": invalid_choice_message("a kind of note", ResearchNote.Kind.choices)
        },
        widget=forms.Select(attrs={"class": SELECT}),
    )
    text = CountedTextField(
        label="Note",
        max_length=ResearchNote.MAX_TEXT_LENGTH,
        error_messages={
            "required": "Note is empty: write what you found.",
            "max_length": "Note is %(show_value)d characters long, more than the %(limit_value)d "
            "allowed: shorten it.",
        },
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "class": INPUT,
                "data-counter": "note-text-counter",
            }
        ),
    )
    source_url = forms.URLField(
        label="Source link",
        required=False,
        max_length=ResearchNote._meta.get_field("source_url").max_length,
        assume_scheme="https",
        # URLField's own validator already rejects "javascript:" and similar links with the
        # "invalid" message below; a second validator would repeat it. clean_source_url
        # rejects the ftp links that validator accepts.
        error_messages={
            "invalid": "Enter an http or https link, such as https://example.com/news."
        },
        widget=forms.URLInput(attrs={"class": INPUT, "placeholder": "https://"}),
    )
    happened_on = NamedDateField(
        label="Date",
        required=False,
        validators=[validate_not_before_1900, validate_not_in_future],
        widget=forms.DateInput(attrs={"type": "date", "class": INPUT}),
    )

    def clean_source_url(self) -> str:
        url = self.cleaned_data.get("source_url") or ""
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValidationError("Enter an http or https link, such as https://example.com/news.")
        return url

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)

    def values(self) -> workspace.NoteValues:
        data = self.cleaned_data
        return workspace.NoteValues(
            kind=data["kind"],
            text=data["text"],
            source_url=data["source_url"],
            happened_on=data["happened_on"],
        )


INVALID_NOTE_VERSION_MESSAGE = (
    "The form has no valid version of the note, so the change was not saved: reload the "
    "page and try again."
)


class NoteVersionMixin(forms.Form):
    """The note's updated_at when the form was rendered, to reject stale changes."""

    version = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={"required": INVALID_NOTE_VERSION_MESSAGE},
    )

    def clean_version(self) -> datetime:
        version = workspace.parse_version(self.cleaned_data["version"])
        if version is None:
            raise ValidationError(INVALID_NOTE_VERSION_MESSAGE)
        return version


class NoteEditForm(NoteVersionMixin, NoteForm):
    """A published note's new kind, text, source link and date, checked as NoteForm does.

    Input ids and the counter carry the note's id, so the form can sit on the account
    page next to the form that adds a note.
    """

    def __init__(self, *args: Any, note_pk: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"note-{note_pk}_%s")
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["data-counter"] = self.text_counter_id

    @property
    def text_counter_id(self) -> str:
        return self.auto_id.replace("%s", "text-counter")


class NoteDeleteForm(NoteVersionMixin):
    """The confirmation of a note's deletion, with the version the person was shown."""


class FeedCheckForm(forms.Form):
    """A news feed to read, or none to read the feeds found on the company's website."""

    feed_url = forms.URLField(
        label="Feed address",
        required=False,
        max_length=ResearchNote._meta.get_field("source_url").max_length,
        assume_scheme="https",
        help_text="Leave empty to read the feeds found on the company's website.",
        error_messages={
            "invalid": "Enter the feed's http or https address, such as "
            "https://example.com/news/feed.xml."
        },
        widget=forms.URLInput(attrs={"class": INPUT, "placeholder": "https://"}),
    )

    def clean_feed_url(self) -> str:
        url = self.cleaned_data.get("feed_url") or ""
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValidationError(
                f"“{url}” is not an http or https address: enter one such as "
                "https://example.com/news/feed.xml."
            )
        return url

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "feed_%s")
        super().__init__(*args, **kwargs)


class NoteReviewForm(forms.Form):
    """Publish or dismiss a proposed note."""

    status = forms.ChoiceField(
        choices=[
            (ResearchNote.Status.PUBLISHED, "Publish"),
            (ResearchNote.Status.DISMISSED, "Dismiss"),
        ]
    )


OTHER_VALUE = "other"


class ConflictResolveForm(forms.Form):
    """Choose one source's value of a conflicting field, or type the right value."""

    choice = forms.ChoiceField(
        label="Value",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choose a source's value or enter the right one."},
    )
    value = forms.CharField(
        label="Other value",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"class": INPUT}),
    )
    reason = _reason_field("Why this value is right")

    def __init__(self, *args: Any, options: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "resolve_%s")
        super().__init__(*args, **kwargs)
        self.fields["choice"].choices = [*options, (OTHER_VALUE, "Another value")]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("choice") == OTHER_VALUE and not (cleaned.get("value") or "").strip():
            self.add_error("value", "Other value is empty: enter the right value.")
        return cleaned


# Bulk actions --------------------------------------------------------------------------

ACTION_LABELS = {
    workspace.ASSIGN: "Assign owner",
    workspace.TAKE: "Assign to me",
    workspace.ENRICH: "Start enrichment",
    workspace.TAG: "Set tag or tier",
    workspace.EXPORT: "Export CSV",
}
UNASSIGN = "none"


class AccountIdsField(forms.Field):
    """The ticked account ids: a list of positive integers."""

    def to_python(self, value: Any) -> list[int]:
        if isinstance(value, list | tuple):
            values = list(value)
        elif value:
            values = [value]
        else:
            values = []
        ids = []
        for item in values:
            text = str(item).strip()
            if not text.isdigit():
                raise ValidationError(f"Account id {text!r} is invalid: reload the page.")
            ids.append(int(text))
        return ids


class BulkActionForm(forms.Form):
    """A bulk action on the ticked accounts, with what each action needs."""

    action = forms.ChoiceField(
        label="Action",
        widget=forms.Select(attrs={"class": SELECT, "data-bulk-action": ""}),
        error_messages={
            "required": "Choose an action.",
            "invalid_choice": "Choose an action from the list.",
        },
    )
    account_ids = AccountIdsField(required=False, widget=forms.MultipleHiddenInput)
    owner = forms.ChoiceField(
        label="New owner",
        required=False,
        widget=forms.Select(attrs={"class": SELECT}),
        error_messages={
            "invalid_choice": "User %(value)s cannot own accounts: choose an SDR, AE or "
            "Sales Manager from the list."
        },
    )
    provider = forms.ChoiceField(
        label="Provider", required=False, widget=forms.Select(attrs={"class": SELECT})
    )
    tag = forms.CharField(
        label="Tag",
        required=False,
        max_length=Account._meta.get_field("tag").max_length,
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "Keep the tag"}),
    )
    tier = forms.ChoiceField(
        label="Tier",
        required=False,
        choices=TIER_CHOICES,
        widget=forms.Select(attrs={"class": SELECT}),
    )
    # A textarea, as for every other reason: a single-line input would turn the line
    # breaks of a pasted reason into spaces.
    reason = CountedTextField(
        label="Reason",
        required=False,
        max_length=REASON_MAX_LENGTH,
        error_messages={"max_length": too_long_message("Reason")},
        widget=forms.Textarea(attrs={"rows": 2, "class": INPUT}),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        actions: list[str],
        owners: list[Any],
        providers: list[str],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Choose an action…")] + [
            (action, ACTION_LABELS[action]) for action in actions
        ]
        self.owners = {str(owner.pk): owner for owner in owners}
        self.fields["owner"].choices = [
            ("", "Choose an owner…"),
            (UNASSIGN, "Nobody (unassign)"),
            *((str(owner.pk), owner.get_full_name() or owner.get_username()) for owner in owners),
        ]
        self.fields["provider"].choices = [("", "Choose a provider…")] + [
            (name, name.replace("_", " ").title()) for name in providers
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        action = cleaned.get("action")
        if not cleaned.get("account_ids"):
            self.add_error("account_ids", "No account is selected: tick at least one row.")
        # An owner that is not a choice already has its own error.
        if action == workspace.ASSIGN and not cleaned.get("owner") and "owner" not in self.errors:
            self.add_error("owner", "Choose the new owner.")
        if action == workspace.ENRICH and not cleaned.get("provider"):
            self.add_error("provider", "Choose the provider to look the accounts up in.")
        if action == workspace.TAG:
            tag = (cleaned.get("tag") or "").strip()
            if not tag and not cleaned.get("tier"):
                self.add_error("tag", "Enter a tag or choose a tier to set.")
            if tag:
                # Checked here, so the confirmation already shows the tag as it is stored.
                tags = active_tag_checker()
                try:
                    tier = cleaned.get("tier") or None
                    cleaned["tag"] = tags.clean(tag, tier=tier) if tags is not None else tag
                except ValidationError as error:
                    self.add_error(None, error)
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", REASON_REQUIRED)
        return cleaned

    @property
    def chosen_owner(self) -> Any:
        """Return the chosen owner user, or None to unassign; call after is_valid()."""
        value = self.cleaned_data.get("owner")
        return None if value in (None, "", UNASSIGN) else self.owners.get(value)


# Import wizard -------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    """Step 1 of the import wizard: the file."""

    # upload_check rejects an empty file with the message that the API also gives.
    file = forms.FileField(
        label="File",
        allow_empty_file=True,
        error_messages={"required": "Choose a file to upload."},
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ",".join(workspace.ALLOWED_EXTENSIONS)}
        ),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        workspace.upload_check(uploaded)
        return uploaded


NOT_IMPORTED = ""
FIELD_CHOICES = [(NOT_IMPORTED, "— Not imported —")] + [
    (name, f"{name.replace('_', ' ')}: {description}") for name, description in FIELDS.items()
]


class ImportMappingForm(forms.Form):
    """Step 2 of the import wizard: a field per column, the source and money options."""

    source = forms.CharField(
        label="Source name",
        required=False,
        # No max_length: source_name_normalize checks the length with the message that
        # the API and import_accounts give.
        help_text=(
            f"Names the source of every value, such as hubspot: at most {MAX_SOURCE_LENGTH} "
            "letters, digits, dots, dashes or underscores, stored lower case. Empty: the "
            "detected layout."
        ),
        widget=forms.TextInput(attrs={"class": INPUT}),
    )
    currency = forms.CharField(
        label="Currency",
        initial="USD",
        max_length=3,
        min_length=3,
        validators=[
            RegexValidator(r"^[A-Za-z]{3}$", message="Enter a three-letter code such as EUR.")
        ],
        help_text="Of amounts that name no currency.",
        widget=forms.TextInput(attrs={"class": INPUT, "size": 4}),
    )
    revenue_multiplier = forms.TypedChoiceField(
        label="Revenue unit",
        coerce=int,
        choices=[
            (1, "Units (1)"),
            (1_000, "Thousands (×1,000)"),
            (1_000_000, "Millions (×1,000,000)"),
        ],
        widget=forms.Select(attrs={"class": SELECT}),
    )
    save_mapping = forms.BooleanField(
        label="Save this mapping for next time",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    mapping_name = forms.CharField(
        label="Mapping name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "HubSpot export"}),
    )

    def __init__(self, *args: Any, header: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        seen: set[str] = set()
        self.column_fields: list[tuple[str, str, bool]] = []
        for index, name in enumerate(header):
            key = workspace.imports.column_key(name)
            duplicate = key in seen or not key
            seen.add(key)
            field_name = f"column_{index}"
            self.fields[field_name] = forms.ChoiceField(
                label=name or f"Column {index + 1}",
                required=False,
                choices=FIELD_CHOICES,
                disabled=duplicate,
                widget=forms.Select(attrs={"class": SELECT}),
            )
            self.column_fields.append((field_name, name, duplicate))

    def clean_source(self) -> str:
        try:
            return source_name_normalize(self.cleaned_data.get("source") or "")
        except ImportFileError as error:
            raise ValidationError(str(error)) from error

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "USD").upper()

    def mapping(self) -> workspace.WizardMapping:
        """Return the chosen mapping; call after is_valid()."""
        columns = {}
        for field_name, name, duplicate in self.column_fields:
            if duplicate:
                continue
            columns[name] = self.cleaned_data.get(field_name) or NOT_IMPORTED
        return workspace.WizardMapping(
            columns=columns,
            source=self.cleaned_data.get("source") or "",
            currency=self.cleaned_data.get("currency") or "USD",
            revenue_multiplier=self.cleaned_data.get("revenue_multiplier") or 1,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            workspace.mapping_check(self.mapping())
        except ValidationError as error:
            self.add_error(None, error)
        if cleaned.get("save_mapping") and not (cleaned.get("mapping_name") or "").strip():
            self.add_error("mapping_name", "Name the mapping to save it, such as HubSpot export.")
        return cleaned

    @staticmethod
    def initial_for(mapping: workspace.WizardMapping, header: list[str]) -> dict[str, Any]:
        """Return the form's initial values for a mapping."""
        initial: dict[str, Any] = {
            "source": mapping.source,
            "currency": mapping.currency,
            "revenue_multiplier": mapping.revenue_multiplier,
        }
        for index, name in enumerate(header):
            initial[f"column_{index}"] = mapping.columns.get(name, NOT_IMPORTED)
        return initial
