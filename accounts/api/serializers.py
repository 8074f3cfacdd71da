"""JSON representations of accounts, their notes and score history for the REST API."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_DOWN, Decimal, localcontext
from types import SimpleNamespace
from typing import Any

import pycountry
from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.core.validators import MaxLengthValidator, MaxValueValidator
from django.dispatch import receiver
from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts import permissions as rules
from accounts.filtersets import country_code_error
from accounts.models import (
    MAX_REASON_LENGTH,
    Account,
    AccountIdentifier,
    ResearchNote,
    SegmentOverride,
    Tier,
)
from accounts.normalizers import (
    MAX_AMOUNT,
    MAX_EXACT_DIGITS,
    UnparsedValue,
    company_name_key,
    is_third_party_url,
    long_technologies,
    normalize_country,
    normalize_domain,
    normalize_technologies,
    technology_length_message,
    website_url,
)
from accounts.normalizers.text import normalize_line_breaks
from accounts.templatetags.account_tags import employee_range_label
from accounts.text_limits import character_limit_validators
from accounts.workspace.bulk import TAKE, may_use_action
from accounts.workspace.edits import (
    MAX_DESCRIPTION_LENGTH,
    api_values_complete,
    technology_problem,
    third_party_message,
)
from enrichment.verification import verified_mandatory_fields
from segmentation.models import Industry, ScoreRecord

from .base import shorten
from .datetimes import datetime_formatter
from .field_messages import DetailedFieldErrorsMixin


class StrictCharField(serializers.CharField):
    """A CharField that rejects JSON numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(
                f"{json.dumps(data)} is not text: send each item as a JSON string, "
                'such as "Salesforce".'
            )
        return super().to_internal_value(data)


class CountedCharField(serializers.CharField):
    """A CharField whose ``max_length`` counts user-perceived characters, as the pages do.

    The code-point check of DRF is replaced by the validators of accounts.text_limits, so
    a flag or an emoji with a skin tone counts once. The field's "max_length" message
    gets the limit as ``{max_length}``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.max_length is None:
            return
        self.validators = [
            validator for validator in self.validators if type(validator) is not MaxLengthValidator
        ]
        characters, stored = character_limit_validators(self.max_length)
        characters.message = self.error_messages["max_length"].format(max_length=self.max_length)
        self.validators.extend([characters, stored])


class LineBreakCharField(CountedCharField):
    """A CountedCharField that stores CRLF and CR line breaks as LF before checking the length.

    The web forms do the same, so a reason has the same limit in the API and on the page.
    """

    def to_internal_value(self, data: Any) -> str:
        return normalize_line_breaks(super().to_internal_value(data))


class AccountSerializer(serializers.HyperlinkedModelSerializer):
    """An account with its firmographics and latest segmentation result."""

    url = serializers.HyperlinkedIdentityField(view_name="account-detail")
    industry = serializers.CharField(
        source="industry.name",
        read_only=True,
        allow_null=True,
        help_text="Canonical industry name; null when the raw label is unmapped.",
    )
    industry_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Id of the canonical industry; null when the raw label is unmapped.",
    )
    employee_range = serializers.SerializerMethodField(
        help_text='Head count as a label such as "201–500" or "10,001+".'
    )
    owner = serializers.CharField(
        source="owner.username",
        read_only=True,
        allow_null=True,
        help_text="Username of the owner; null when unassigned.",
    )
    owner_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="User id of the owner; null when unassigned."
    )
    framework_version = serializers.IntegerField(
        source="framework.version",
        read_only=True,
        allow_null=True,
        help_text="Framework version of the latest score; null when never scored.",
    )
    tier = serializers.ChoiceField(
        choices=[("", "Not scored"), *Tier.choices],
        read_only=True,
        help_text="Latest tier; empty when the account was never scored.",
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "url",
            "name",
            "domain",
            "website",
            "country",
            "region",
            "city",
            "industry",
            "industry_id",
            "industry_raw",
            "employee_count",
            "employee_min",
            "employee_max",
            "employee_approximate",
            "employee_range",
            "annual_revenue_usd",
            "revenue_amount",
            "revenue_currency",
            "size_band",
            "geography",
            "tag",
            "tier",
            "score",
            "route",
            "needs_enrichment",
            "missing_fields",
            "verification_status",
            "framework_version",
            "scored_at",
            "owner",
            "owner_id",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_employee_range(self, account: Account) -> str:
        return employee_range_label(account)


# Columns that employee_range_label reads.
TOO_LARGE = (
    "The amount “{value}” is too large: it must be below 1,000,000,000,000,000. Check the unit."
)
EMPLOYEE_RANGE_LOOKUPS = ("employee_min", "employee_max", "employee_count", "employee_raw")
# A primary key that no URL pattern contains, replaced by each row's id in the url field.
_URL_ID_PLACEHOLDER = "9081726354"
# Fields that AccountRowsSerializer fills itself instead of through to_representation.
_COMPUTED_FIELDS = ("url", "employee_range")
# Field classes whose to_representation returns a database value of this model as it is:
# str(text), int(whole number), a boolean, and a text choice looked up among text keys.
# Exact classes only, since subclasses such as BigIntegerField may format differently.
_UNCHANGED_FIELD_TYPES = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.IntegerField,
    serializers.BooleanField,
)


@functools.cache
def _account_fields() -> dict[str, serializers.Field]:
    """Return AccountSerializer's bound fields, built once per process.

    Building them deep-copies every declared field, which took about 10% of a segment
    page request in a cProfile run. None of the fields that AccountRowsSerializer formats reads the
    serializer's context, so one set serves every request.
    """
    return dict(AccountSerializer().fields)


@receiver(setting_changed)
def _account_fields_clear(*, setting: str, **kwargs: Any) -> None:
    # Fields read REST_FRAMEWORK (such as COERCE_DECIMAL_TO_STRING) when they are built.
    if setting in ("REST_FRAMEWORK", "USE_TZ", "TIME_ZONE"):
        _account_fields.cache_clear()


class AccountRowsSerializer:
    """Build AccountSerializer's output from ``values()`` rows, for list pages.

    The result equals ``AccountSerializer(accounts, many=True).data``: each field's own
    ``to_representation`` formats its value (datetimes through the equivalent
    ``datetime_formatter``). It skips model instances, the walk along each field's
    source, building the serializer's fields per request and one ``reverse()`` per row,
    which made up most of a page's time. ``lookups()`` names the ``values()`` columns
    that ``data()`` needs.
    """

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        fields = _account_fields()
        self.fields = [
            (name, "__".join(field.source_attrs), field)
            for name, field in fields.items()
            if name not in _COMPUTED_FIELDS
        ]
        self.names = list(fields)

    def lookups(self) -> list[str]:
        return sorted({lookup for _, lookup, _ in self.fields} | set(EMPLOYEE_RANGE_LOOKUPS))

    def detail_url(self) -> Callable[[int], str]:
        """Return a function of the account id that gives the url field's value."""
        request = self.context.get("request")
        url = reverse(
            "account-detail",
            kwargs={"pk": _URL_ID_PLACEHOLDER},
            request=request,
            format=self.context.get("format"),
        )
        prefix, suffix = url.rsplit(_URL_ID_PLACEHOLDER, 1)
        return lambda account_id: f"{prefix}{account_id}{suffix}"

    def formatters(self) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
        """Return (name, lookup, format function) for each field that a row's column fills.

        The function is None where ``to_representation`` returns the column's value
        unchanged: text for CharField and ChoiceField (whose choices are text), whole
        numbers for IntegerField and booleans for BooleanField.
        """
        plan: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        for name, lookup, field in self.fields:
            if type(field) in _UNCHANGED_FIELD_TYPES:
                plan.append((name, lookup, None))
            elif isinstance(field, serializers.DateTimeField):
                plan.append((name, lookup, datetime_formatter(field)))
            else:
                plan.append((name, lookup, field.to_representation))
        return plan

    def data(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        url_for = self.detail_url()
        plan = self.formatters()
        items = []
        for row in rows:
            # fromkeys fixes the key order to the serializer's field order.
            item: dict[str, Any] = dict.fromkeys(self.names)
            item["url"] = url_for(row["id"])
            for name, lookup, represent in plan:
                value = row[lookup]
                if value is None:
                    continue
                item[name] = value if represent is None else represent(value)
            employee = SimpleNamespace(**{name: row[name] for name in EMPLOYEE_RANGE_LOOKUPS})
            item["employee_range"] = employee_range_label(employee)
            items.append(item)
        return items


class AccountIdentifierSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountIdentifier
        fields = ["kind", "value"]
        read_only_fields = fields


class AccountDetailSerializer(AccountSerializer):
    """An account with the list fields plus its lists, description and identifiers."""

    identifiers = AccountIdentifierSerializer(many=True, read_only=True)
    verified_fields = serializers.SerializerMethodField(
        help_text="Mandatory fields (industry, company_size, country) that are verified or "
        "accepted. verification_status is verified only when all three are."
    )
    verification_summary = serializers.SerializerMethodField(
        help_text='Verification as the account page shows it, such as "Partly verified '
        '(2 of 3 fields)".'
    )

    class Meta(AccountSerializer.Meta):
        fields = [
            *AccountSerializer.Meta.fields,
            "description",
            "technologies",
            "buying_signals",
            "review_flags",
            "field_status",
            "identifiers",
            "verified_fields",
            "verification_summary",
        ]
        read_only_fields = fields

    def get_verified_fields(self, account: Account) -> list[str]:
        return verified_mandatory_fields(account.field_status or {})

    def get_verification_summary(self, account: Account) -> str:
        return account.verification_summary()


SCORING_FIX = "scoring sets it from the account's values, so change those instead"
# How to change each read-only field of an account, for the error when a write sends one.
READ_ONLY_FIELD_FIXES: dict[str, str] = {
    "tag": "change the tag and tier with POST /api/v1/accounts/{id}/segment/ and a reason",
    "tier": "change the tag and tier with POST /api/v1/accounts/{id}/segment/ and a reason",
    "score": SCORING_FIX,
    "route": SCORING_FIX,
    "size_band": SCORING_FIX,
    "geography": SCORING_FIX,
    "needs_enrichment": SCORING_FIX,
    "missing_fields": SCORING_FIX,
    "framework_version": SCORING_FIX,
    "scored_at": SCORING_FIX,
    "industry": "send industry_id, or industry_raw, which is looked up among the industries",
    "owner": "send owner_id instead",
    "employee_range": "send employee_count, or employee_min and employee_max, instead",
    "employee_approximate": "send employee_count, which sets it to false",
    "id": "the URL names the account, so leave it out",
    "url": "the URL names the account, so leave it out",
    "updated_at": "send the ETag in If-Match to detect changes, or leave it out",
}


def _read_only_message(name: str, account: Account | None) -> str:
    """Return the error for a read-only field that a write sends, with how to change it."""
    account_id = str(account.pk) if account is not None else "{id}"
    fix = READ_ONLY_FIELD_FIXES.get(name, "leave it out").replace("{id}", account_id)
    if account is None:
        return f"{name} is read-only: {fix}."
    return f"{name} is read-only and differs from the account's value: {fix}."


def unknown_field_message(name: str, writable: list[str], record: str = "an account") -> str:
    """Return the error for a field that no ``record`` has, with the nearest writable name."""
    close = difflib.get_close_matches(name, writable, n=1)
    listed = ", ".join(writable)
    if close:
        return (
            f"{name} is not a field of {record}: did you mean {close[0]}? The writable fields "
            f"are {listed}."
        )
    return f"{name} is not a field of {record}: send only the writable fields, {listed}."


def _choice_message(value: Any, noun: str, choices: Iterable[str]) -> str:
    """Return the error for a value outside ``choices``, suggesting one in another case."""
    known = list(choices)
    text = str(value)
    same_case = [choice for choice in known if choice.casefold() == text.strip().casefold()]
    hint = f"did you mean {same_case[0]}? Use" if same_case else "use"
    return f"“{text}” is not {noun}: {hint} one of {', '.join(known)}."


class NamedChoiceField(serializers.ChoiceField):
    """A choice whose error names the value, lists the choices and suggests one in another case.

    ``noun`` names what a choice is, with its article, such as "a kind of note".
    """

    def __init__(self, *args: Any, noun: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.noun = noun

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        if str(data) not in self.choice_strings_to_values:
            raise serializers.ValidationError(
                _choice_message(data, self.noun, self.choice_strings_to_values),
                code="invalid_choice",
            )
        return super().to_internal_value(data)


DOMAIN_EXAMPLE = "Enter a domain such as example.com."


def _unparsed_message(value: str, kind: str, error: UnparsedValue, example: str) -> str:
    """Return the error for a value that a normalizer rejected, ending with one example.

    Some hints of the domain normalizer already end with DOMAIN_EXAMPLE, which is
    replaced by ``example``, so the message never repeats it.
    """
    hint = error.hint.removesuffix(DOMAIN_EXAMPLE).rstrip(" .")
    return f"“{value}” is not {kind}: {hint}. {example}"


class AmountField(serializers.DecimalField):
    """An amount in cents whose errors name the value sent and say how to fix it."""

    default_error_messages = {
        "invalid": "“{value}” is not a number: send an amount such as 12500000.00.",
        "max_decimal_places": "“{value}” has more than {max_decimal_places} decimal places: "
        "round it to cents, such as 12500000.25.",
        "max_digits": TOO_LARGE,
        "max_whole_digits": TOO_LARGE,
        "negative": "“{value}” is negative: send an amount of 0 or more.",
        "max_value": TOO_LARGE,
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # DRF's max_value validator formats its message with max_value only, so it cannot
        # name the value sent. to_internal_value checks max_value in its place.
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, MaxValueValidator)
        ]

    def to_internal_value(self, data: Any) -> Decimal:
        # Kept for fail(), whose messages name the value but which DRF calls without it.
        self._sent_text = shorten(str(data).strip())
        value = super().to_internal_value(data)
        # Checked here, since the validators would name the value rounded to cents.
        if value < 0:
            self.fail("negative")
        if self.max_value is not None and value > self.max_value:
            self.fail("max_value")
        return value

    def fail(self, key: str, **kwargs: Any) -> None:
        kwargs.setdefault("value", getattr(self, "_sent_text", ""))
        super().fail(key, **kwargs)


def _amount_field() -> AmountField:
    """Return an optional amount field from 0 to just below MAX_AMOUNT, in cents."""
    return AmountField(
        max_digits=20,
        decimal_places=2,
        min_value=0,
        max_value=MAX_AMOUNT - Decimal("0.01"),
        required=False,
        allow_null=True,
    )


class IndustryIdField(serializers.PrimaryKeyRelatedField):
    """An industry's id, whose error for an unknown id lists every industry's id and name."""

    def fail(self, key: str, **kwargs: Any) -> None:
        if key == "does_not_exist":
            industries = Industry.objects.order_by("name").values_list("pk", "name")
            kwargs["industries"] = ", ".join(f"{pk} for {name}" for pk, name in industries)
        super().fail(key, **kwargs)


class AccountWriteSerializer(DetailedFieldErrorsMixin, serializers.ModelSerializer):
    """The fields a client may set on an account; the response is the full account.

    Tag and tier change through ``/accounts/{id}/segment/``, which records a reason, and
    the segmentation result fields are set by scoring, so neither is writable here.
    """

    industry_id = IndustryIdField(
        source="industry",
        queryset=Industry.objects.all(),
        allow_null=True,
        required=False,
        error_messages={
            "does_not_exist": "No industry has the id {pk_value}: send the id of an industry "
            "of the taxonomy ({industries}), or send industry_raw to look the label up.",
            "incorrect_type": "industry_id must be an industry's id, a whole number, not "
            "{data_type}.",
        },
        help_text="Id of the canonical industry (see the industry filter); null to unmap.",
    )
    allow_unmapped = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="True keeps an industry_raw that matches no industry or synonym, without "
        'an industry until Sales Ops maps it, as "Save as unmapped anyway" does on the '
        "account page. Without it such a label gets 400. Not stored.",
    )
    owner_id = serializers.PrimaryKeyRelatedField(
        source="owner",
        queryset=get_user_model().objects.filter(is_active=True),
        allow_null=True,
        required=False,
        error_messages={
            "does_not_exist": "No active user has the id {pk_value}: send the user id of an "
            "active user, or null for unassigned.",
            "incorrect_type": "owner_id must be a user id, a whole number, not {data_type}.",
        },
        help_text="User id of the owner; null for unassigned. Sales Managers and Sales Ops only.",
    )
    # Declared so that the unique check is api_values_complete's, which runs after
    # normalizing and names the account that has the domain.
    domain = serializers.CharField(
        max_length=253,
        required=False,
        allow_blank=True,
        help_text="Host name, stored as the registrable domain, such as example.com. A new "
        "website sets it, and a domain sent must match the website. Without a website, send a "
        "host name, not a URL.",
    )
    country = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="ISO 3166-1 alpha-2 code, such as US; UK is stored as GB.",
    )
    revenue_currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Enter an ISO 4217 currency code such as USD or EUR."},
    )
    employee_count = serializers.IntegerField(
        min_value=1,
        max_value=10_000_000,
        required=False,
        allow_null=True,
        error_messages={
            "min_value": "employee_count must be at least 1: leave it out when the head count "
            "is unknown."
        },
    )
    employee_min = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )
    employee_max = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )
    annual_revenue_usd = _amount_field()
    revenue_amount = _amount_field()
    # validate_technologies limits each name to MAX_TECHNOLOGY_LENGTH, as the account page does.
    technologies = serializers.ListField(child=StrictCharField(), max_length=200, required=False)
    buying_signals = serializers.ListField(
        child=StrictCharField(max_length=200), max_length=200, required=False
    )

    class Meta:
        model = Account
        fields = [
            "name",
            "domain",
            "website",
            "country",
            "region",
            "city",
            "industry_id",
            "industry_raw",
            "allow_unmapped",
            "employee_count",
            "employee_min",
            "employee_max",
            "annual_revenue_usd",
            "revenue_amount",
            "revenue_currency",
            "description",
            "technologies",
            "buying_signals",
            "owner_id",
        ]
        extra_kwargs = {
            "industry_raw": {
                "help_text": "The industry label, looked up among the industries and their "
                "synonyms when sent without industry_id. A changed label that matches none "
                "gets 400 naming it, unless allow_unmapped is true."
            },
            "name": {
                "required": True,
                "error_messages": {
                    "blank": "The name is empty: enter the company's name.",
                    "required": "The name is missing: send the company's name.",
                },
            },
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            self._check_fields_writable(data)
        return super().to_internal_value(data)

    def _check_fields_writable(self, data: Mapping[str, Any]) -> None:
        """Raise ValidationError for unknown fields and for changed read-only fields.

        A read-only field with the account's current value passes, so that the body of
        a GET can be sent back with PUT. Any other value would otherwise be dropped
        without notice.
        """
        writable = [name for name, field in self.fields.items() if not field.read_only]
        readable = set(AccountDetailSerializer.Meta.fields)
        current: dict[str, Any] | None = None
        errors: dict[str, list[str]] = {}
        for name in data:
            if name in writable:
                continue
            if name not in readable:
                errors[name] = [unknown_field_message(name, writable)]
                continue
            if self.instance is not None:
                if current is None:
                    current = AccountDetailSerializer(self.instance, context=self.context).data
                if data[name] == current.get(name):
                    continue
            errors[name] = [_read_only_message(name, self.instance)]
        if errors:
            raise serializers.ValidationError(errors)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not company_name_key(value):
            raise serializers.ValidationError(
                f"The name {value!r} has no letters or digits: enter the company's name."
            )
        return value

    def validate_domain(self, value: str) -> str:
        if not value.strip():
            return ""
        try:
            domain = normalize_domain(value) or ""
        except UnparsedValue as error:
            raise serializers.ValidationError(
                _unparsed_message(value.strip(), "a domain", error, DOMAIN_EXAMPLE)
            ) from error
        unchanged = self.instance is not None and domain == self.instance.domain
        # Checked on the text as sent, since apps.apple.com normalizes to apple.com.
        company_name = self.initial_data.get("name") if isinstance(self.initial_data, dict) else ""
        if not isinstance(company_name, str) or not company_name:
            company_name = getattr(self.instance, "name", "") or ""
        if domain and not unchanged and is_third_party_url(value, company_name=company_name):
            raise serializers.ValidationError(third_party_message(value.strip()))
        return domain

    def validate_website(self, value: str) -> str:
        if not value.strip():
            return ""
        if self._unchanged("website", value):
            # Imports keep a website they cannot read, flagged for review.
            return value
        try:
            return website_url(value) or ""
        except UnparsedValue as error:
            raise serializers.ValidationError(
                _unparsed_message(
                    value.strip(),
                    "a website",
                    error,
                    "Enter a web address such as https://example.com.",
                )
            ) from error

    def validate_country(self, value: str) -> str:
        if not value:
            return value
        error = country_code_error(value)
        if error is not None:
            raise serializers.ValidationError(error.messages)
        # As on the account page: UK becomes GB.
        return normalize_country(value) or ""

    def validate_revenue_currency(self, value: str) -> str:
        code = value.upper()
        if code and pycountry.currencies.get(alpha_3=code) is None:
            raise serializers.ValidationError(
                f"{value!r} is not an ISO 4217 currency code: use one such as USD or EUR."
            )
        return code

    def _unchanged(self, name: str, value: Any) -> bool:
        """Return whether ``value`` is the account's current value of the field ``name``.

        Limits apply only to changed values, so that the body of a GET can be sent back
        with PUT, even with a longer description that an import stored.
        """
        return self.instance is not None and getattr(self.instance, name) == value

    def validate_description(self, value: str) -> str:
        if self.instance is not None and value == self.instance.description.strip():
            # Trimmed by the field, so keep the stored text as it is.
            return self.instance.description
        if len(value) > MAX_DESCRIPTION_LENGTH:
            raise serializers.ValidationError(
                f"The description is {len(value):,} characters long, more than the "
                f"{MAX_DESCRIPTION_LENGTH:,} allowed: shorten it."
            )
        return value

    def validate_owner_id(self, value: Any) -> Any:
        request = self.context["request"]
        current = self.instance.owner_id if self.instance is not None else None
        new = value.pk if value is not None else None
        if new == current or rules.can_assign_owner(request.user):
            return value
        # As with "Assign to me" on the pages: an SDR or AE takes an existing unowned account.
        taking = self.instance is not None and current is None and new == request.user.pk
        if taking and may_use_action(request.user, TAKE):
            return value
        raise serializers.ValidationError(
            "Only Sales Managers and Sales Ops can assign an owner, and SDRs and AEs can set "
            "their own id on an unowned account: leave owner_id out."
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        low, high = current("employee_min"), current("employee_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"employee_max": f"employee_max ({high}) is below employee_min ({low}): swap them."}
            )
        # A confirmation for this request only, so it is not an Account field.
        allow_unmapped = attrs.pop("allow_unmapped", False)
        if "name" in attrs:
            attrs["name_key"] = company_name_key(attrs["name"])
        # Related values follow a change, such as the range after a new head count.
        domain_text = self.initial_data.get("domain") if "domain" in attrs else None
        attrs.update(
            api_values_complete(
                self.instance,
                attrs,
                domain_text=domain_text if isinstance(domain_text, str) else None,
                allow_unmapped=allow_unmapped,
            )
        )
        count = current("employee_count")
        low, high = current("employee_min"), current("employee_max")
        if count is not None and count < 1:
            sent = [name for name in ("employee_min", "employee_max") if name in attrs]
            raise serializers.ValidationError(
                {
                    (sent[0] if sent else "employee_count"): "The range gives a head count of "
                    f"{count}: a company has at least 1 employee. Send a range above 0."
                }
            )
        if count is not None and (
            (low is not None and count < low) or (high is not None and count > high)
        ):
            raise serializers.ValidationError(
                {
                    "employee_count": f"employee_count ({count}) is outside the range "
                    f"{low if low is not None else ''}-{high if high is not None else ''}: "
                    "send a count inside it, or send the range too."
                }
            )
        return attrs

    def validate_annual_revenue_usd(self, value: Decimal | None) -> Decimal | None:
        return self._exact_amount("annual_revenue_usd", value)

    def validate_revenue_amount(self, value: Decimal | None) -> Decimal | None:
        return self._exact_amount("revenue_amount", value)

    def _exact_amount(self, name: str, value: Decimal | None) -> Decimal | None:
        """Reject a changed amount with more significant digits than every database keeps."""
        if value is None or self._unchanged(name, value):
            return value
        digits = len(value.normalize().as_tuple().digits)
        if digits <= MAX_EXACT_DIGITS:
            return value
        with localcontext(prec=MAX_EXACT_DIGITS, rounding=ROUND_DOWN):
            example = +value
        raise serializers.ValidationError(
            f"{value} has {digits} significant digits, more than the {MAX_EXACT_DIGITS} that "
            f"are stored exactly: round it, such as to {example:f}."
        )

    def validate_technologies(self, value: list[str]) -> list[str]:
        long_names = long_technologies(value)
        if long_names:
            raise serializers.ValidationError(technology_length_message(long_names[0]))
        technologies = normalize_technologies(value)
        if not self._unchanged("technologies", technologies):
            problem = technology_problem(technologies)
            if problem:
                raise serializers.ValidationError(problem)
        return technologies

    def to_representation(self, instance: Account) -> dict[str, Any]:
        return AccountDetailSerializer(instance, context=self.context).data


class SegmentChangeSerializer(DetailedFieldErrorsMixin, serializers.Serializer):
    """A person's change or confirmation of an account's tag and tier, with the reason."""

    kind = NamedChoiceField(
        choices=[(kind.value, kind.label) for kind in SegmentOverride.PERSON_KINDS],
        noun="a kind of segment change",
        default=SegmentOverride.Kind.MANUAL_TAG,
        help_text="manual_tag needs edit rights on the account, fit_validation those of its AE "
        "or manager, and the review kinds those of a reviewing manager. A review_confirmation "
        "that leaves the account without a tag is rejected.",
    )
    tag = serializers.CharField(
        max_length=200,
        required=False,
        help_text="New tag; leave out to keep it. A changed tag must follow the active "
        "framework's tag template, such as SaaS – Mid-Market – APAC, and is stored as the "
        "framework writes it (case and dashes corrected).",
    )
    tier = NamedChoiceField(
        choices=Tier.choices,
        noun="a tier",
        required=False,
        help_text="New tier; leave out to keep it.",
    )
    reason = LineBreakCharField(
        max_length=MAX_REASON_LENGTH,
        help_text="Why the segment changes, in at most 500 characters (user-perceived "
        "characters, so a flag or an emoji with a skin tone counts once, and each line break "
        "counts once).",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            self._check_fields_known(data)
        return super().to_internal_value(data)

    def _check_fields_known(self, data: Mapping[str, Any]) -> None:
        """Raise ValidationError for unknown fields, which would be dropped without notice."""
        known = list(self.fields)
        errors = {
            name: [unknown_field_message(name, known, "a segment change")]
            for name in data
            if name not in self.fields
        }
        if errors:
            raise serializers.ValidationError(errors)


# How to change each read-only field of a research note, for the error when a POST sends one.
NOTE_READ_ONLY_FIELD_FIXES: dict[str, str] = {
    "status": "a note added through the API is always published",
    "author": "the author is the user who added the note",
    "account_id": "the URL names the account",
    "buying_signal_added": "the portal sets it from the note's kind and date",
}


class ResearchNoteSerializer(DetailedFieldErrorsMixin, serializers.ModelSerializer):
    """A short research finding about an account."""

    author = serializers.CharField(
        source="author.username",
        read_only=True,
        allow_null=True,
        help_text="Username of the author.",
    )
    kind = NamedChoiceField(
        choices=ResearchNote.Kind.choices,
        noun="a kind of note",
        required=False,
        help_text="funding, hire, expansion or other (the default).",
    )
    text = CountedCharField(
        max_length=ResearchNote.MAX_TEXT_LENGTH,
        error_messages={
            "max_length": "Keep the note to {max_length} characters or fewer: shorten it.",
            "blank": "The note is empty: write what you found.",
        },
    )

    class Meta:
        model = ResearchNote
        fields = [
            "id",
            "account_id",
            "kind",
            "status",
            "text",
            "source_url",
            "happened_on",
            "author",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "account_id", "status", "author", "created_at", "updated_at"]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            self._check_fields_writable(data)
        return super().to_internal_value(data)

    def _check_fields_writable(self, data: Mapping[str, Any]) -> None:
        """Raise ValidationError for unknown and read-only fields, which would be dropped."""
        writable = [name for name, field in self.fields.items() if not field.read_only]
        errors: dict[str, list[str]] = {}
        for name in data:
            if name in writable:
                continue
            if name in self.fields:
                fix = NOTE_READ_ONLY_FIELD_FIXES.get(name, "the portal sets it")
                errors[name] = [f"{name} is read-only: {fix}, so leave it out."]
            else:
                errors[name] = [unknown_field_message(name, writable, "a research note")]
        if errors:
            raise serializers.ValidationError(errors)


class ResearchNoteCreatedSerializer(ResearchNoteSerializer):
    """A research note just added, with the buying signal it added to the account."""

    buying_signal_added = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Buying signal that the note added to the account, such as recent funding; "
        "null when it added none, because of its kind, its date (more than a year ago) or a "
        "signal that the account already has.",
    )

    class Meta(ResearchNoteSerializer.Meta):
        fields = [*ResearchNoteSerializer.Meta.fields, "buying_signal_added"]
        read_only_fields = [*ResearchNoteSerializer.Meta.read_only_fields, "buying_signal_added"]


class ResearchNoteChangedSerializer(ResearchNoteCreatedSerializer):
    """A research note just changed, with the buying signals it added and removed."""

    buying_signal_removed = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Buying signal that the change took off the account, because the note no "
        "longer gives it; null when it removed none, also when another published note or "
        "another source still gives the signal.",
    )

    class Meta(ResearchNoteCreatedSerializer.Meta):
        fields = [*ResearchNoteCreatedSerializer.Meta.fields, "buying_signal_removed"]
        read_only_fields = [
            *ResearchNoteCreatedSerializer.Meta.read_only_fields,
            "buying_signal_removed",
        ]


class ScoreRecordSerializer(serializers.ModelSerializer):
    """One stored segmentation result of an account, with the points per criterion."""

    framework_version = serializers.IntegerField(source="framework.version", read_only=True)
    run_id = serializers.IntegerField(read_only=True, allow_null=True)
    explanation = serializers.JSONField(
        read_only=True, help_text="Per criterion: dimension, label, outcome, points and reason."
    )

    class Meta:
        model = ScoreRecord
        fields = [
            "id",
            "framework_version",
            "run_id",
            "score",
            "tier",
            "tag",
            "route",
            "size_band",
            "geography",
            "needs_enrichment",
            "missing_fields",
            "explanation",
            "created_at",
        ]
        read_only_fields = fields
