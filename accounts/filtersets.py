"""Filters and ordering of the account list, shared by the list page and the REST API."""

import difflib
import re
from collections.abc import Callable, Iterable
from functools import cache, reduce
from operator import or_
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.html import format_html, format_html_join
from django_filters.rest_framework import FilterSet
from django_filters.widgets import BooleanWidget

from segmentation.models import Industry
from segmentation.tags import active_tag_checker

from . import selectors
from .models import (
    REVIEW_FLAG_IMPORT_KEY,
    Account,
    ImportRun,
    ImportRunAccount,
    Tier,
    VerificationStatus,
)
from .normalizers import UnparsedValue, company_name_key, normalize_country, normalize_domain

OWNER_ME = "me"
OWNER_NONE = "none"
INDUSTRY_UNMAPPED = "unmapped"
TIER_NONE = "none"
# Geography filter value of accounts without a geography: never scored, or without a
# country. NOTE: a geography label spelled exactly "none" in a framework's map would be
# shadowed by it.
GEOGRAPHY_NONE = "none"
# The largest primary key of a 64-bit integer column, as PostgreSQL bigint and SQLite
# INTEGER store it. A larger id would make the database driver raise OverflowError.
MAX_ID = 2**63 - 1

# Conditions for an account that lacks a mandatory field, keyed by the ``missing_field``
# value. They read the stored values, not the latest score, so they hold for accounts that
# were never scored. The dashboards count with the same conditions, so a chart's number
# equals the row count of the list it links to.
MISSING_FIELD_CONDITIONS: dict[str, Q] = {
    "industry": Q(industry__isnull=True),
    "size": Q(
        employee_count__isnull=True,
        employee_min__isnull=True,
        employee_max__isnull=True,
        annual_revenue_usd__isnull=True,
    ),
    "geography": Q(country=""),
}
MISSING_FIELD_CHOICES = [
    ("industry", "Industry"),
    ("size", "Company size (no head count or revenue)"),
    ("geography", "Geography (no country)"),
]
# An account missing any mandatory field. ``complete=true`` matches its negation.
INCOMPLETE = reduce(or_, MISSING_FIELD_CONDITIONS.values())
# Filters of the "Data quality" group of the list page's filter form.
DATA_QUALITY_FILTERS = (
    "verification_status",
    "missing_field",
    "complete",
    "flagged",
    "import_run",
    "flagged_by_import",
)

# Ordering parameter → model field or expression key. Parameters missing here order by
# the field of the same name.
# NOTE: names sort in the column's collation, which under PostgreSQL's C or C.UTF-8 and
# SQLite's BINARY is code point order: "Zeta Corp" before "apple Inc", "Ärzte" after "Zeta".
# An ICU collation on Account.name would fix it, but it rebuilds account_name_id_idx and
# account_country_name_id_idx, slows comparisons, and has no SQLite equivalent.
ORDERING_FIELDS = {
    "name": "name",
    "domain": "domain",
    "industry": "industry__name",
    "size_band": "size_band",
    "geography": "geography",
    "tag": "tag",
    "tier": "tier",
    "score": "score",
    "owner": "owner",
    "needs_enrichment": "needs_enrichment",
    "country": "country",
    "route": "route",
    "employee_count": "employee_count",
    "annual_revenue_usd": "annual_revenue_usd",
    "updated_at": "updated_at",
    "id": "id",
}

# Nullable columns sort their empty values last in both directions, so that PostgreSQL
# and SQLite return the same order.
NULLABLE_ORDERING_FIELDS = {
    "industry__name",
    "score",
    "employee_count",
    "annual_revenue_usd",
}

# The owner sorts as people file names: by last name, then first name. A user without a
# last name files under the first name, and one without any name under the login, which
# is also what the list shows for them. The login then keeps two owners of the same name
# apart. Case is ignored, as in the owner filter's options. Each key is NULL for an
# account without an owner, so unassigned accounts sort last in both directions.
OWNER_NAME_KEYS: tuple[tuple[str, Any], ...] = (
    (
        "owner",
        Lower(
            Case(
                When(owner__last_name__gt="", then=F("owner__last_name")),
                When(owner__first_name__gt="", then=F("owner__first_name")),
                default=F("owner__username"),
            )
        ),
    ),
    (
        "owner.first_name",
        Case(
            When(owner__last_name__gt="", then=Lower(F("owner__first_name"))),
            When(owner__isnull=False, then=Value("")),
            default=None,
            output_field=CharField(),
        ),
    ),
    ("owner.username", F("owner__username")),
)

# Ordering keys that sort by several expressions: each entry lists (name, expression)
# pairs, compared in turn. The names identify the columns in keyset cursors.
COMPOUND_ORDERINGS: dict[str, tuple[tuple[str, Any], ...]] = {"owner": OWNER_NAME_KEYS}

TIER_RANK = Case(
    When(tier=Tier.HIGH, then=Value(3)),
    When(tier=Tier.MEDIUM, then=Value(2)),
    When(tier=Tier.LOW, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)

SELECT_CLASS = "form-select form-select-sm"
INPUT_CLASS = "form-control form-control-sm"


Choices = list[tuple[str, str]]


# Minimum similarity (difflib's ratio) between an unknown parameter and a filter name for the
# parameter to count as a misspelling: "teir" and "tier" score 0.75.
MISSPELLING_CUTOFF = 0.75


def misspelt_filters(
    parameters: Iterable[str],
    filter_names: Iterable[str],
    other_parameters: Iterable[str],
) -> dict[str, str]:
    """Return each parameter that looks like a misspelt filter name, with that name.

    Filter names, ``other_parameters`` and names that start with "_" are never misspelt.
    """
    known = list(filter_names)
    misspelt = {}
    for name in parameters:
        if name in known or name in other_parameters or name.startswith("_"):
            continue
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=MISSPELLING_CUTOFF)
        if close:
            misspelt[name] = close[0]
    return misspelt


def validate_id_in_range(value: str) -> None:
    """Reject a numeric filter value above ``MAX_ID``, which no row can have as its id."""
    if value.isdigit() and int(value) > MAX_ID:
        raise ValidationError(
            "%(value)s is not a valid id: an id is at most %(max)s.",
            code="id_out_of_range",
            params={"value": value, "max": MAX_ID},
        )


def with_blank(label: str, choices: Callable[[], Choices]) -> Callable[[], Choices]:
    """Wrap a choices function so that its list starts with an empty option."""

    def load() -> Choices:
        return [("", label), *choices()]

    return load


class LazySelect(forms.Select):
    """Select whose options come from a function called once each time it renders.

    The REST API never renders the filter form, so it runs none of the choice queries.
    A value from the URL that is not among the options is added as one, so the form
    still shows a filter that is in effect.
    """

    def __init__(self, load_choices: Callable[[], Choices], attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.load_choices = load_choices

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        choices = self.load_choices()
        known_values = {str(choice_value) for choice_value, _ in choices}
        if value not in (None, "") and str(value) not in known_values:
            choices.append((str(value), str(value)))
        self.choices = choices
        return super().get_context(name, value, attrs)


class SuggestionsInput(forms.TextInput):
    """Text input with a datalist of suggestions from a function called when it renders.

    The browser offers the suggestions as the user types but takes any other text too.
    The REST API never renders the filter form, so it runs no suggestion query.
    """

    def __init__(
        self, load_suggestions: Callable[[], list[str]], attrs: dict | None = None
    ) -> None:
        super().__init__(attrs)
        self.load_suggestions = load_suggestions

    def render(self, name: str, value: object, attrs: dict | None = None, renderer=None) -> str:
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-suggestions"
        attrs["list"] = list_id
        field = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "", '<option value="{}"></option>', ((text,) for text in self.load_suggestions())
        )
        return field + format_html('<datalist id="{}">{}</datalist>', list_id, options)


def unknown_value_error(
    value: str, kind: str, known: list[str], none_value: str = ""
) -> ValidationError:
    """Return the error for a filter value outside ``known``, listing the known values.

    ``none_value``, when given, is the value that matches accounts without one, and the
    message names it too. The value goes into ``params``, since django-filter formats
    every message with them and a value with a % sign would otherwise break the formatting.
    """
    params = {"value": value, "kind": kind, "known": ", ".join(known), "none": none_value}
    none_hint = f", or %(none)s for accounts without a {kind}" if none_value else ""
    if not known:
        fix = "use %(none)s for accounts without one" if none_value else "leave it out"
        message = f"“%(value)s” is not a %(kind)s: no scored framework version has any, so {fix}."
        return ValidationError(message, code="invalid_choice", params=params)
    same_case = [option for option in known if option.casefold() == value.casefold()]
    if same_case:
        params["same_case"] = same_case[0]
        message = (
            "“%(value)s” is not a %(kind)s of any scored framework version: did you mean "
            f"%(same_case)s? Use one of %(known)s{none_hint}."
        )
    else:
        message = (
            "“%(value)s” is not a %(kind)s of any scored framework version: use one of "
            f"%(known)s{none_hint}."
        )
    return ValidationError(message, code="invalid_choice", params=params)


class KnownValueField(forms.CharField):
    """Text that must be one of the options of its LazySelect widget.

    A value outside them matches no account, so it is rejected instead of returning an
    empty list. The options load only when a value is given, and AccountFilterSet caches
    them per request, so the rendered select does not load them again. ``none_value``
    is an option that matches accounts without a value, left out of the known values
    that an error lists.
    """

    def __init__(
        self, *args, kind: str, none_value: str = "", any_case: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.none_value = none_value
        self.any_case = any_case

    def to_python(self, value: object) -> str:
        """Return the value, in the option's spelling when ``any_case`` allows another case."""
        text = super().to_python(value)
        if not self.any_case or text in self.empty_values:
            return text
        key = text.casefold()
        for option, _label in self.widget.load_choices():
            if str(option).casefold() == key:
                return str(option)
        return text

    def validate(self, value: str) -> None:
        super().validate(value)
        if value in self.empty_values or (self.none_value and value == self.none_value):
            return
        options = [str(option) for option, _ in self.widget.load_choices()]
        known = [option for option in options if option not in ("", self.none_value)]
        if value not in known:
            raise unknown_value_error(value, self.kind, known, self.none_value)


class KnownValueFilter(django_filters.CharFilter):
    """A filter whose value must be one of the options of its LazySelect widget."""

    field_class = KnownValueField


class AnyCaseChoiceField(django_filters.fields.ChoiceField):
    """A choice field that takes a choice's value in any case, such as HIGH for high."""

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        key = text.casefold()
        for choice, _label in self.choices:
            if str(choice).casefold() == key:
                return str(choice)
        return text


class AnyCaseChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter that takes a choice's value in any case."""

    field_class = AnyCaseChoiceField


INDUSTRY_FORMAT = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def validate_industry_known(value: str) -> None:
    """Reject an industry id or slug that no industry of the taxonomy has.

    Values that the format validators reject are left to them, so a malformed value gets
    one message and an id too large for the database is never queried.
    """
    if value == INDUSTRY_UNMAPPED or not INDUSTRY_FORMAT.fullmatch(value):
        return
    industries = Industry.objects.all()
    if value.isdigit():
        if int(value) > MAX_ID or industries.filter(pk=int(value)).exists():
            return
    elif industries.filter(slug=value).exists():
        return
    choices = selectors.industry_choices()
    slugs = [slug for slug, _ in choices]
    params = {"value": value, "slugs": ", ".join(slugs), "unmapped": INDUSTRY_UNMAPPED}
    # A slug or name in another case, such as SaaS for saas, gets the slug as a hint.
    key = value.casefold()
    same = [
        slug
        for slug, name in [*choices, (INDUSTRY_UNMAPPED, INDUSTRY_UNMAPPED)]
        if key in (slug.casefold(), name.casefold())
    ]
    if same:
        params["same"] = same[0]
        message = (
            "“%(value)s” is not the id or slug of an industry: did you mean %(same)s? Use one "
            "of %(slugs)s, or %(unmapped)s for accounts without an industry."
        )
    else:
        message = (
            "“%(value)s” is not the id or slug of an industry: use one of %(slugs)s, or "
            "%(unmapped)s for accounts without an industry."
        )
    raise ValidationError(message, code="invalid_choice", params=params)


COUNTRY_CODE_EXAMPLES = "US, GB or DE"


def country_code_error(value: str) -> ValidationError | None:
    """Return the error for a value that is no ISO 3166-1 alpha-2 code, None for a code.

    UK counts as the code of GB. A country name or three-letter code that the country
    normalizer reads, such as usa or Germany, gets its two-letter code as a hint.
    """
    text = value.strip()
    try:
        code = normalize_country(text) if 0 < len(text) <= 100 else None
    except UnparsedValue:
        code = None
    if code and len(text) == 2 and text.isalpha():
        return None
    params = {"value": value, "code": code, "examples": COUNTRY_CODE_EXAMPLES}
    if code:
        message = (
            "“%(value)s” is not an ISO 3166-1 alpha-2 country code: did you mean %(code)s? "
            "Use a two-letter code such as %(examples)s."
        )
    else:
        message = (
            "“%(value)s” is not an ISO 3166-1 alpha-2 country code: use one such as %(examples)s."
        )
    return ValidationError(message, code="invalid_choice", params=params)


def validate_country_code(value: str) -> None:
    """Reject a value that is no ISO 3166-1 alpha-2 code, naming it (UK is taken as GB)."""
    error = country_code_error(value)
    if error is not None:
        raise error


def validate_owner_known(value: str) -> None:
    """Reject an owner id that no user has, even a deactivated one.

    Values that the format validators reject are left to them, as for the industry.
    """
    if not value.isdigit() or int(value) > MAX_ID:
        return
    if get_user_model().objects.filter(pk=int(value)).exists():
        return
    raise ValidationError(
        "“%(value)s” is not the id of a user: use an owner's user id, as owner_id in the "
        "account list shows it, %(me)s for your accounts or %(none)s for unassigned ones.",
        code="invalid_choice",
        params={"value": value, "me": OWNER_ME, "none": OWNER_NONE},
    )


def validate_import_run_known(value: str) -> None:
    """Reject an import id that no import has.

    Values that the format validators reject are left to them, as for the owner.
    """
    if not value.isdigit() or int(value) > MAX_ID:
        return
    if ImportRun.objects.filter(pk=int(value)).exists():
        return
    raise ValidationError(
        "%(value)s is not the id of an import: use the number of an import on the Imports "
        "page, as in /accounts/imports/<id>/.",
        code="invalid_choice",
        params={"value": value},
    )


# The import id filters accept a known import's number.
IMPORT_ID_VALIDATORS = [
    RegexValidator(r"^[0-9]+$", message="Enter the id of an import, such as 12."),
    validate_id_in_range,
    validate_import_run_known,
]


def review_flags_raised_by(queryset: QuerySet[Account], import_run_id: int) -> QuerySet[Account]:
    """Narrow accounts to those with a review flag that stores the import's id.

    Django has no JSON containment lookup on SQLite, the database of ``make run``, so
    there the flags are searched with SQLite's json_each table function.
    """
    connection = connections[queryset.db]
    if connection.vendor != "sqlite":
        return queryset.filter(review_flags__contains=[{REVIEW_FLAG_IMPORT_KEY: import_run_id}])
    # NOTE: the test suite runs on PostgreSQL only, so this SQLite query is checked by hand.
    table = connection.ops.quote_name(Account._meta.db_table)
    has_flag = RawSQL(
        f"EXISTS (SELECT 1 FROM json_each({table}.review_flags) AS flag "
        "WHERE json_extract(flag.value, %s) = %s)",
        (f"$.{REVIEW_FLAG_IMPORT_KEY}", import_run_id),
        output_field=BooleanField(),
    )
    return queryset.filter(has_flag)


def industry_options() -> Choices:
    return [(INDUSTRY_UNMAPPED, "No industry"), *selectors.industry_choices()]


def with_no_geography(labels: Callable[[], Choices]) -> Callable[[], Choices]:
    """Wrap a geography labels function so that its list starts with "No geography"."""

    def load() -> Choices:
        return [(GEOGRAPHY_NONE, "No geography"), *labels()]

    return load


def owner_options() -> Choices:
    return [(OWNER_ME, "Me"), (OWNER_NONE, "Unassigned"), *selectors.owner_choices()]


class StrictBooleanWidget(BooleanWidget):
    """BooleanWidget that returns an unknown value as typed, so the field rejects it.

    BooleanWidget turns any other text into None, so ``needs_enrichment=maybe`` would
    silently filter nothing.
    """

    def value_from_datadict(self, data, files, name: str) -> object:
        known = super().value_from_datadict(data, files, name)
        value = data.get(name)
        if known is None and value not in (None, ""):
            return value
        return known


class YesNoField(forms.NullBooleanField):
    """A true/false filter value: true, false, 1, 0, yes or no. Other text is invalid."""

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValidationError(
            "“%(value)s” is not true or false: use true or false, or leave the filter out.",
            code="invalid",
            params={"value": value},
        )


class YesNoFilter(django_filters.BooleanFilter):
    """A true/false filter that rejects other values instead of ignoring them."""

    field_class = YesNoField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class AnyYesNoWidget(StrictBooleanWidget):
    """Select for a true/false filter whose empty option reads "Any"."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


# Separators that people type between and inside the parts of a tag: spaces, hyphen-minus,
# en dash and em dash, as segmentation.tags reads the dashes.
TAG_SEPARATORS = re.compile(r"[\s\-–—]+")


def tag_match_key(text: str) -> str:
    """Return the text in the form that partial tag matching compares.

    Case does not count, and a run of spaces and dashes of any kind counts as one
    separator, so "saas-mid" and "mid market" are found in "SaaS – Mid-Market – APAC".
    """
    return TAG_SEPARATORS.sub("-", text.strip()).casefold()


class AccountOrderingFilter(django_filters.OrderingFilter):
    """Comma-separated ordering that always ends with the id, so every order is total.

    A total order keeps page boundaries stable: no row repeats or goes missing between
    pages as long as the data does not change. Tier sorts by rank (Low < Medium < High),
    the owner by name (see OWNER_NAME_KEYS), and empty values of nullable columns sort
    last in both directions.
    """

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return qs
        expressions: list[OrderBy] = []
        seen: set[str] = set()
        for param in value:
            if not param:
                continue
            descending = param.startswith("-")
            name = self.param_map.get(param.lstrip("-"), param.lstrip("-"))
            if name in seen:
                continue
            seen.add(name)
            expressions.extend(self.order_expressions(name, descending))
        if "id" not in seen:
            expressions.append(F("id").asc())
        return qs.order_by(*expressions)

    @staticmethod
    def order_expressions(name: str, descending: bool) -> list[OrderBy]:
        if name == "tier":
            return [TIER_RANK.desc() if descending else TIER_RANK.asc()]
        if name in COMPOUND_ORDERINGS:
            return [
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
                for _key, expression in COMPOUND_ORDERINGS[name]
            ]
        nulls_last = True if name in NULLABLE_ORDERING_FIELDS else None
        if descending:
            return [F(name).desc(nulls_last=nulls_last)]
        return [F(name).asc(nulls_last=nulls_last)]


class AccountFilterSet(FilterSet):
    """Account filters of the list page and ``/api/v1/accounts/``.

    ``owner=me`` needs the requesting user, taken from ``request`` or the ``user``
    argument. Without a signed-in user it matches no account.
    """

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        max_length=255,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or domain", "class": INPUT_CLASS}
        ),
    )
    industry = django_filters.CharFilter(
        method="filter_industry",
        label="Industry",
        validators=[
            RegexValidator(
                r"^[-a-zA-Z0-9_]{1,100}$",
                message="Enter an industry id, an industry slug such as saas, or unmapped.",
            ),
            validate_id_in_range,
            validate_industry_known,
        ],
        widget=LazySelect(
            with_blank("Any industry", industry_options),
            attrs={"class": SELECT_CLASS},
        ),
    )
    size_band = KnownValueFilter(
        label="Size band",
        kind="size band",
        widget=LazySelect(
            with_blank("Any size", selectors.size_band_choices),
            attrs={"class": SELECT_CLASS},
        ),
    )
    geography = KnownValueFilter(
        method="filter_geography",
        label="Geography",
        kind="geography",
        none_value=GEOGRAPHY_NONE,
        help_text=f"A geography label of the framework, or {GEOGRAPHY_NONE} for accounts "
        "without one.",
        widget=LazySelect(
            with_blank("Any geography", with_no_geography(selectors.geography_choices)),
            attrs={"class": SELECT_CLASS},
        ),
    )
    region = KnownValueFilter(
        method="filter_region",
        label="Region",
        kind="region",
        max_length=100,
        help_text="A region of the geography map, such as North America: every geography in it.",
        widget=LazySelect(
            with_blank("Any region", selectors.region_choices),
            attrs={"class": SELECT_CLASS},
        ),
    )
    tier = AnyCaseChoiceFilter(
        method="filter_tier",
        label="Tier",
        choices=[*Tier.choices, (TIER_NONE, "Not scored")],
        error_messages={
            "invalid_choice": "“%(value)s” is not a tier: use one of "
            + ", ".join([*Tier.values, TIER_NONE])
            + f" ({TIER_NONE} for accounts never scored)."
        },
        empty_label="Any tier",
        widget=forms.Select(attrs={"class": SELECT_CLASS}),
    )
    tag = django_filters.CharFilter(
        method="filter_tag",
        label="Exact tag",
        max_length=200,
        help_text="A whole tag, such as SaaS – Mid-Market – APAC, compared in the active "
        "framework's spelling.",
        widget=forms.TextInput(
            attrs={"placeholder": "SaaS – Mid-Market – APAC", "class": INPUT_CLASS}
        ),
    )
    tag_contains = django_filters.CharFilter(
        method="filter_tag_contains",
        label="Tag",
        max_length=200,
        help_text="Part of a tag, such as mid-market, in any case, with spaces or any dash "
        "between words.",
        widget=SuggestionsInput(
            selectors.tags_in_use,
            attrs={"placeholder": "SaaS or Mid-Market", "class": INPUT_CLASS},
        ),
    )
    needs_enrichment = YesNoFilter(
        label="Needs enrichment",
        widget=AnyYesNoWidget(attrs={"class": SELECT_CLASS}),
    )
    owner = django_filters.CharFilter(
        method="filter_owner",
        label="Owner",
        validators=[
            RegexValidator(
                r"^(me|none|[0-9]+)$",
                message="Enter a user id, me or none.",
            ),
            validate_id_in_range,
            validate_owner_known,
        ],
        widget=LazySelect(
            with_blank("Any owner", owner_options),
            attrs={"class": SELECT_CLASS},
        ),
    )
    country = django_filters.CharFilter(
        method="filter_country",
        label="Country",
        validators=[validate_country_code],
        widget=forms.TextInput(
            attrs={
                "placeholder": "US",
                "maxlength": "2",
                "size": "3",
                "autocapitalize": "characters",
                "class": INPUT_CLASS,
            }
        ),
    )
    route = KnownValueFilter(
        label="Route",
        kind="route",
        any_case=True,
        widget=LazySelect(
            with_blank("Any route", selectors.route_choices),
            attrs={"class": SELECT_CLASS},
        ),
    )
    verification_status = django_filters.ChoiceFilter(
        label="Verification",
        choices=VerificationStatus.choices,
        error_messages={
            "invalid_choice": "“%(value)s” is not a verification status: use one of "
            + ", ".join(VerificationStatus.values)
            + "."
        },
        empty_label="Any verification",
        widget=forms.Select(attrs={"class": SELECT_CLASS}),
    )
    missing_field = django_filters.ChoiceFilter(
        method="filter_missing_field",
        label="Missing data",
        choices=MISSING_FIELD_CHOICES,
        error_messages={
            "invalid_choice": "“%(value)s” is not a field that can be missing: use one of "
            + ", ".join(value for value, _label in MISSING_FIELD_CHOICES)
            + "."
        },
        empty_label="Any",
        widget=forms.Select(attrs={"class": SELECT_CLASS}),
    )
    complete = YesNoFilter(
        method="filter_complete",
        label="Industry, size and country known",
        widget=AnyYesNoWidget(attrs={"class": SELECT_CLASS}),
    )
    flagged = YesNoFilter(
        method="filter_flagged",
        label="Flagged for review",
        help_text="Accounts with values that an import could not interpret.",
        widget=AnyYesNoWidget(attrs={"class": SELECT_CLASS}),
    )
    import_run = django_filters.CharFilter(
        method="filter_import_run",
        label="Import",
        help_text="The id of an import: the accounts it created or updated.",
        validators=IMPORT_ID_VALIDATORS,
        widget=forms.TextInput(
            attrs={"placeholder": "Import id", "inputmode": "numeric", "class": INPUT_CLASS}
        ),
    )
    flagged_by_import = django_filters.CharFilter(
        method="filter_flagged_by_import",
        label="Flagged by import",
        help_text="The id of an import: its accounts that still have a review flag it raised.",
        validators=IMPORT_ID_VALIDATORS,
        widget=forms.TextInput(
            attrs={"placeholder": "Import id", "inputmode": "numeric", "class": INPUT_CLASS}
        ),
    )
    ordering = AccountOrderingFilter(
        fields=[(field, param) for param, field in ORDERING_FIELDS.items()],
        error_messages={
            "invalid_choice": "“%(value)s” is not a field to order by: use one of "
            + ", ".join(ORDERING_FIELDS)
            + ", with a leading - for descending, separated by commas."
        },
        label="Order by",
        help_text="Comma-separated fields; a leading minus sorts descending.",
    )

    class Meta:
        model = Account
        fields: list[str] = []

    def __init__(
        self,
        data=None,
        queryset: QuerySet[Account] | None = None,
        *,
        request=None,
        prefix: str | None = None,
        user: AbstractBaseUser | AnonymousUser | None = None,
    ) -> None:
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        self.user = user if user is not None else getattr(request, "user", None)
        # Each option list loads at most once per filter set, for the validation of a value
        # and for the rendered select. The geography and region selects read their
        # options with the same queries.
        size_bands = cache(selectors.size_band_choices)
        self.filters["size_band"].extra["widget"].load_choices = with_blank("Any size", size_bands)
        routes = cache(selectors.route_choices)
        self.filters["route"].extra["widget"].load_choices = with_blank("Any route", routes)
        options = cache(selectors.geography_options)
        self.filters["geography"].extra["widget"].load_choices = with_blank(
            "Any geography", with_no_geography(lambda: options()[0])
        )
        self.filters["region"].extra["widget"].load_choices = with_blank(
            "Any region", lambda: options()[1]
        )
        # The tag_contains filter reads the tags in use afresh, and the suggestions reuse
        # that read. Without the filter, the suggestions come from a recent cached read.
        self.tags_in_use = cache(selectors.tags_in_use)
        self.filters["tag_contains"].extra["widget"].load_suggestions = self._tag_suggestions

    def _tag_suggestions(self) -> list[str]:
        if self.tags_in_use.cache_info().currsize:
            return self.tags_in_use()
        return selectors.tag_suggestions()

    def fields_in_group(self, data_quality: bool) -> list[forms.BoundField]:
        """Return the bound fields of the main filter row or of the data quality group."""
        return [
            self.form[name]
            for name in self.form.fields
            if name != "ordering"
            and (name in DATA_QUALITY_FILTERS) == data_quality
            and (name != "tag" or self.exact_tag_shown)
        ]

    @property
    def exact_tag_shown(self) -> bool:
        """Return True when the exact tag filter has a value or an error, as from a chart link.

        The form's Tag field is ``tag_contains``. The exact ``tag`` filter shows only when
        it is in effect, so that the user sees it and can clear it.
        """
        field = self.form["tag"]
        return field.value() not in (None, "") or bool(field.errors)

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return self.fields_in_group(data_quality=False)

    @property
    def data_quality_fields(self) -> list[forms.BoundField]:
        return self.fields_in_group(data_quality=True)

    @property
    def data_quality_active(self) -> bool:
        """Return True when a data quality filter has a value or an error, so the group opens."""
        return any(
            field.value() not in (None, "") or field.errors for field in self.data_quality_fields
        )

    def filter_search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        """Match names and domains as typed, and as the importer normalizes them.

        The query's name key (``company_name_key``: quotes, punctuation, accents and case
        removed) is looked for in ``name_key``, so ``lowe's`` finds "Lowe’s" and
        ``mcdonald`` finds "McDonald’s". A query that reads as a URL or host name is also
        looked for as its registrable domain, so ``https://www.walmart.com/`` finds
        walmart.com.
        """
        # NOTE: icontains and contains cannot use an index, so search scans the table.
        # Add a trigram index (PostgreSQL pg_trgm) if search slows down on large tables.
        value = value.strip()
        if not value:
            return queryset
        condition = Q(name__icontains=value) | Q(domain__icontains=value)
        key = company_name_key(value)
        if key:
            condition |= Q(name_key__contains=key)
        if "." in value and " " not in value:
            try:
                domain = normalize_domain(value)
            except UnparsedValue:
                domain = None
            if domain:
                condition |= Q(domain__icontains=domain)
        return queryset.filter(condition)

    def filter_industry(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        if value == INDUSTRY_UNMAPPED:
            return queryset.filter(industry__isnull=True)
        if value.isdigit():
            return queryset.filter(industry_id=int(value))
        return queryset.filter(industry__slug=value)

    def filter_owner(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        if value == OWNER_NONE:
            return queryset.filter(owner__isnull=True)
        if value == OWNER_ME:
            if self.user is None or not self.user.is_authenticated:
                return queryset.none()
            return queryset.filter(owner_id=self.user.pk)
        return queryset.filter(owner_id=int(value))

    def filter_country(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        # Stored codes are normalized, so UK finds the accounts stored as GB.
        try:
            code = normalize_country(value) or value.upper()
        except UnparsedValue:
            code = value.upper()
        return queryset.filter(country=code)

    def filter_tag(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        # The tag editor stores the active framework's spelling, so "saas - smb - us"
        # finds the accounts tagged "SaaS – SMB – US".
        value = value.strip()
        if not value:
            return queryset
        tags = active_tag_checker()
        spelled = tags.spelling(value) if tags is not None else value
        return queryset.filter(selectors.TAG_IN_EFFECT, tag__in={value, spelled})

    def filter_tag_contains(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        # A LIKE '%...%' condition cannot use an index, so it would read every account. The
        # distinct tags are few (see selectors.tags_in_use), so they are matched here, and
        # the database then finds the accounts by tag through the (tag, score key, id) index.
        key = tag_match_key(value)
        if not key:
            return queryset
        matches = [tag for tag in self.tags_in_use() if key in tag_match_key(tag)]
        return queryset.filter(selectors.TAG_IN_EFFECT, tag__in=matches)

    def filter_region(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        return queryset.filter(geography__in=selectors.region_labels(value))

    def filter_geography(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        if value == GEOGRAPHY_NONE:
            return queryset.filter(geography="")
        return queryset.filter(geography=value)

    def filter_tier(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        if value == TIER_NONE:
            return queryset.filter(tier="")
        return queryset.filter(tier=value)

    def filter_missing_field(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        return queryset.filter(MISSING_FIELD_CONDITIONS[value])

    def filter_complete(self, queryset: QuerySet[Account], name: str, value: bool) -> QuerySet:
        if value:
            return queryset.exclude(INCOMPLETE)
        return queryset.filter(INCOMPLETE)

    def filter_import_run(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet:
        # The unique (import_run, account) index finds the run's links, so PostgreSQL can
        # read the run's accounts by primary key instead of scanning the account table.
        links = ImportRunAccount.objects.filter(import_run_id=int(value), account_id=OuterRef("pk"))
        return queryset.filter(Exists(links))

    def filter_flagged_by_import(
        self, queryset: QuerySet[Account], name: str, value: str
    ) -> QuerySet:
        import_run_id = int(value)
        # The run's links narrow the accounts first, as for filter_import_run.
        links = ImportRunAccount.objects.filter(
            import_run_id=import_run_id, account_id=OuterRef("pk")
        )
        return review_flags_raised_by(queryset.filter(Exists(links)), import_run_id)

    def filter_flagged(self, queryset: QuerySet[Account], name: str, value: bool) -> QuerySet:
        if value:
            return queryset.exclude(review_flags=[])
        return queryset.filter(review_flags=[])
