"""Values set through the API are a person's entries, as on the account page."""

import csv
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.services import accounts_import
from enrichment.models import Observation
from segmentation.models import Industry

LIST_URL = "/api/v1/accounts/"
HEADER = ["Company", "Website", "# Employees", "Annual Revenue", "Company Country"]


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep these checks of stored values independent of the scoring engine."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)
    monkeypatch.setattr("accounts.services._segment_accounts", lambda run, ids: None)


@pytest.fixture
def import_apollo(tmp_path):
    """Import one Apollo row for Anvil Peak with the given head count and revenue."""

    def run(employees: str, revenue: str, name: str = "export.csv") -> Account:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerow(["Anvil Peak", "anvilpeak.com", employees, revenue, "Germany"])
        accounts_import(path)
        return Account.objects.get(domain="anvilpeak.com")

    return run


def patch(client, account: Account, data: dict) -> dict:
    response = client.patch(f"{LIST_URL}{account.pk}/", data, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_count_replaces_imported_range(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")

    body = patch(client_for(sdr), account, {"employee_count": 460})

    account.refresh_from_db()
    assert (account.employee_count, account.employee_min, account.employee_max) == (460, 460, 460)
    assert (body["employee_min"], body["employee_max"]) == (460, 460)
    entry = Observation.objects.get(account=account, field="employees", source="manual")
    assert entry.entered_by == sdr
    assert entry.source_detail == "API"
    assert entry.value["count"] == 460


def test_range_sets_count(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")

    patch(client_for(sdr), account, {"employee_min": 1000, "employee_max": 5000})

    account.refresh_from_db()
    assert (account.employee_min, account.employee_max) == (1000, 5000)
    assert account.employee_count == 3000


def test_dollars_replace_original_amount(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "EUR 3M")

    patch(client_for(sdr), account, {"annual_revenue_usd": "40000000"})

    account.refresh_from_db()
    assert account.annual_revenue_usd == Decimal("40000000.00")
    assert (account.revenue_amount, account.revenue_currency) == (Decimal("40000000.00"), "USD")


def test_amount_converted_to_dollars(client_for, sdr, import_apollo, settings):
    settings.ICP_CURRENCY_RATES_TO_USD = {"EUR": Decimal("1.10")}
    account = import_apollo("51-200", "$12.5M")

    patch(client_for(sdr), account, {"revenue_amount": "2000000", "revenue_currency": "eur"})

    account.refresh_from_db()
    assert (account.revenue_amount, account.revenue_currency) == (Decimal("2000000.00"), "EUR")
    assert account.annual_revenue_usd == Decimal("2200000.00")


def test_dollars_with_usd_replace_old_amount(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "EUR 3M")

    body = patch(
        client_for(sdr), account, {"annual_revenue_usd": "5000000", "revenue_currency": "USD"}
    )

    account.refresh_from_db()
    assert account.annual_revenue_usd == Decimal("5000000.00")
    assert account.revenue_amount == Decimal("5000000.00")
    assert account.revenue_currency == "USD"
    assert body["revenue_amount"] == "5000000.00"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"annual_revenue_usd": "5000000", "revenue_currency": "GBP"},
            "revenue_amount",
            "without revenue_amount, so the amount in GBP is unknown",
        ),
        (
            {"annual_revenue_usd": "5000000", "revenue_currency": ""},
            "revenue_currency",
            "revenue_currency is empty",
        ),
        (
            {"annual_revenue_usd": "5000000", "revenue_amount": "1", "revenue_currency": "USD"},
            "revenue_amount",
            "revenue_amount 1.00 USD differs from annual_revenue_usd 5000000.00",
        ),
        (
            {"annual_revenue_usd": "5000000", "revenue_amount": "4000000"},
            "revenue_amount",
            "revenue_amount 4000000.00 USD differs from annual_revenue_usd 5000000.00",
        ),
    ],
)
def test_contradicting_revenue_rejected(client_for, sdr, import_apollo, data, field, message):
    account = import_apollo("51-200", "$12.5M")

    response = client_for(sdr).patch(f"{LIST_URL}{account.pk}/", data, format="json")

    assert response.status_code == 400
    assert message in response.json()["error"]["fields"][field][0]
    account.refresh_from_db()
    assert account.annual_revenue_usd == Decimal("12500000.00")
    assert account.revenue_amount == Decimal("12500000.00")


def test_created_dollars_and_amount_must_agree(client_for, sdr):
    data = {"name": "Cobalt", "annual_revenue_usd": "5000000", "revenue_amount": "4000000"}

    response = client_for(sdr).post(LIST_URL, data, format="json")

    assert response.status_code == 400
    assert (
        "differs from annual_revenue_usd" in response.json()["error"]["fields"]["revenue_amount"][0]
    )
    assert not Account.objects.filter(name="Cobalt").exists()


def test_dollars_with_own_rate_accepted(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    data = {"annual_revenue_usd": "3300000", "revenue_amount": "3000000", "revenue_currency": "EUR"}

    patch(client_for(sdr), account, data)

    account.refresh_from_db()
    assert account.annual_revenue_usd == Decimal("3300000.00")
    assert (account.revenue_amount, account.revenue_currency) == (Decimal("3000000.00"), "EUR")


def test_large_conversion_rounded_to_digits(client_for, sdr, import_apollo, settings):
    settings.ICP_CURRENCY_RATES_TO_USD = {"EUR": Decimal("1.17")}
    account = import_apollo("51-200", "$12.5M")

    body = patch(
        client_for(sdr), account, {"revenue_amount": "123456789012345", "revenue_currency": "EUR"}
    )

    account.refresh_from_db()
    assert account.revenue_amount == Decimal("123456789012345")
    assert account.annual_revenue_usd == Decimal("144444443144444.00")
    assert body["annual_revenue_usd"] == "144444443144444.00"


def test_later_import_keeps_value(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    patch(client_for(sdr), account, {"employee_count": 460, "country": "FR"})

    account = import_apollo("51-200", "$12.5M", name="again.csv")

    assert (account.employee_count, account.employee_min, account.employee_max) == (460, 460, 460)
    assert account.country == "FR"


def test_unchanged_values_record_nothing(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    before = Observation.objects.count()

    patch(client_for(sdr), account, {"country": "DE", "city": account.city})

    assert Observation.objects.count() == before


def test_created_values_are_entries(client_for, sdr):
    response = client_for(sdr).post(
        LIST_URL,
        {"name": "Blue Harbor", "domain": "blueharbor.example", "employee_count": 80},
        format="json",
    )

    assert response.status_code == 201, response.json()
    account = Account.objects.get(pk=response.json()["id"])
    assert (account.employee_min, account.employee_max) == (80, 80)
    fields = set(
        Observation.objects.filter(account=account, source="manual").values_list("field", flat=True)
    )
    assert fields == {"employees", "domain"}


def test_industry_label_follows_id(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")

    patch(client_for(sdr), account, {"industry_id": industry.pk})

    account.refresh_from_db()
    assert account.industry_raw == industry.name


def test_industry_label_is_looked_up(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")

    patch(client_for(sdr), account, {"industry_raw": industry.name.upper()})

    account.refresh_from_db()
    assert account.industry_id == industry.pk
    entry = Observation.objects.get(account=account, field="industry", source="manual")
    assert entry.value == {"industry_id": industry.pk, "label": industry.name.upper()}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"employee_count": None}, "employee_count"),
        ({"employee_min": None, "employee_max": None}, "employee_min"),
        ({"annual_revenue_usd": None}, "annual_revenue_usd"),
        ({"country": ""}, "country"),
        ({"industry_id": None}, "industry_id"),
    ],
)
def test_clearing_rejected(client_for, sdr, import_apollo, industry, data, field):
    account = import_apollo("51-200", "$12.5M")
    patch(client_for(sdr), account, {"industry_id": industry.pk})
    before = Observation.objects.count()

    response = client_for(sdr).patch(f"{LIST_URL}{account.pk}/", data, format="json")

    assert response.status_code == 400
    assert "cannot be emptied" in response.json()["error"]["fields"][field][0]
    assert Observation.objects.count() == before


def test_unchanged_put_keeps_raw_values(client_for, sdr, import_apollo):
    account = import_apollo("8K+", "$12.5M")
    client = client_for(sdr)
    body = client.get(f"{LIST_URL}{account.pk}/").json()
    names = ["name", "domain", "country", "employee_count", "employee_min", "employee_max"]
    names += ["annual_revenue_usd", "revenue_amount", "revenue_currency"]

    response = client.put(
        f"{LIST_URL}{account.pk}/", {name: body[name] for name in names}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response["ETag"] == client.get(f"{LIST_URL}{account.pk}/")["ETag"]
    updated_at = account.updated_at
    account.refresh_from_db()
    assert account.updated_at == updated_at
    assert account.employee_approximate is True
    assert account.employee_raw == "8K+"
    assert account.revenue_raw == "$12.5M"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"revenue_amount": "900000000000000", "revenue_currency": "GBP"},
            "revenue_amount",
            "too large to store",
        ),
        ({"employee_count": 0}, "employee_count", "must be at least 1"),
        ({"employee_min": 0, "employee_max": 0}, "employee_min", "at least 1 employee"),
        ({"annual_revenue_usd": "999999999999999999"}, "annual_revenue_usd", "too large"),
        ({"country": "ZZ"}, "country", "“ZZ” is not an ISO 3166-1 alpha-2 country code"),
        (
            {"country": "usa"},
            "country",
            "“usa” is not an ISO 3166-1 alpha-2 country code: did you mean US?",
        ),
        ({"revenue_currency": "XYZ"}, "revenue_currency", "'XYZ' is not an ISO 4217"),
        ({"description": "x" * 5001}, "description", "more than the 5,000 allowed"),
        ({"revenue_currency": ""}, "revenue_currency", "send its currency code"),
        (
            {"employee_count": 15000, "employee_min": 201, "employee_max": 500},
            "employee_count",
            "outside the range 201-500",
        ),
        (
            {"employee_count": 50, "employee_min": 100, "employee_max": 200},
            "employee_count",
            "outside the range 100-200",
        ),
    ],
)
def test_invalid_values_rejected(client_for, sdr, import_apollo, settings, data, field, message):
    settings.ICP_CURRENCY_RATES_TO_USD = {"GBP": Decimal("1.27")}
    account = import_apollo("51-200", "$12.5M")

    response = client_for(sdr).patch(f"{LIST_URL}{account.pk}/", data, format="json")

    assert response.status_code == 400
    assert message in response.json()["error"]["fields"][field][0]


def test_technologies_normalized(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")

    body = patch(client_for(sdr), account, {"technologies": ["salesforce", "Salesforce", " AWS "]})

    assert body["technologies"] == ["Salesforce", "AWS"]


def test_technology_emoji_rejected(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")

    response = client_for(sdr).patch(
        f"{LIST_URL}{account.pk}/", {"technologies": ["AWS", "🚀"]}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["technologies"][0]
    assert "“🚀” is not a technology name" in message


@pytest.mark.parametrize("length", [65, 100, 101])
def test_technology_long_name_rejected(client_for, sdr, import_apollo, length):
    account = import_apollo("51-200", "$12.5M")
    name = ("Enterprise Data Platform " * 5)[: length - 1] + "X"

    response = client_for(sdr).patch(
        f"{LIST_URL}{account.pk}/", {"technologies": ["AWS", name]}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["technologies"][0]
    assert f"“{name[:60]}" in message
    assert f"is {length} characters long, over the limit of 64 for a technology name" in message
    account.refresh_from_db()
    assert account.technologies == []


def test_technology_name_at_limit_kept(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    name = "X" * 64

    body = patch(client_for(sdr), account, {"technologies": [name]})

    assert body["technologies"] == [name]


@pytest.mark.parametrize("item", [1, 2.5, True])
def test_technology_not_text_rejected(client_for, sdr, import_apollo, item):
    account = import_apollo("51-200", "$12.5M")

    response = client_for(sdr).patch(
        f"{LIST_URL}{account.pk}/", {"technologies": ["AWS", item]}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["technologies"]["1"][0]
    assert "is not text: send each item as a JSON string" in message
    account.refresh_from_db()
    assert account.technologies == []


def test_created_location_is_plain_text(client_for, sdr):
    response = client_for(sdr).post(LIST_URL, {"name": "Cobalt"}, format="json")

    assert response.status_code == 201
    assert type(response.headers["Location"]) is str


def test_new_country_clears_old_city(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    client = client_for(sdr)
    patch(client, account, {"country": "DE", "region": "BE", "city": "Berlin"})

    body = patch(client, account, {"country": "FR"})

    assert (body["country"], body["region"], body["city"]) == ("FR", "", "")


def test_new_country_keeps_sent_city(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    client = client_for(sdr)
    patch(client, account, {"country": "DE", "region": "BE", "city": "Berlin"})

    body = patch(client, account, {"country": "AT", "region": "BE", "city": "Berlin"})

    assert (body["country"], body["region"], body["city"]) == ("AT", "BE", "Berlin")


def test_country_code_normalized(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")

    body = patch(client_for(sdr), account, {"country": "uk"})

    assert body["country"] == "GB"


def test_industry_label_of_other_industry_rejected(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")
    other, _ = Industry.objects.get_or_create(
        slug="api-test-health", defaults={"name": "API Health"}
    )

    response = client_for(sdr).patch(
        f"{LIST_URL}{account.pk}/",
        {"industry_id": industry.pk, "industry_raw": other.name},
        format="json",
    )

    assert response.status_code == 400
    assert (
        "is another industry than industry_id"
        in response.json()["error"]["fields"]["industry_raw"][0]
    )


def test_industry_own_label_accepted(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")

    body = patch(
        client_for(sdr), account, {"industry_id": industry.pk, "industry_raw": "Payments tech"}
    )

    assert body["industry_raw"] == "Payments tech"


def test_unknown_industry_label_rejected(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")
    patch(client_for(sdr), account, {"industry_id": industry.pk})

    response = client_for(sdr).patch(
        f"{LIST_URL}{account.pk}/", {"industry_raw": "Underwater Robotics"}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["industry_raw"][0]
    assert "Industry 'Underwater Robotics' matches no industry or synonym" in message
    assert industry.name in message
    assert "send allow_unmapped: true" in message
    account.refresh_from_db()
    assert account.industry_id == industry.pk
    assert account.industry_raw == industry.name


def test_unknown_industry_label_allowed(client_for, sdr, import_apollo, industry):
    account = import_apollo("51-200", "$12.5M")
    patch(client_for(sdr), account, {"industry_id": industry.pk})

    body = patch(
        client_for(sdr), account, {"industry_raw": "Underwater Robotics", "allow_unmapped": True}
    )

    account.refresh_from_db()
    assert account.industry_id is None
    assert account.industry_raw == "Underwater Robotics"
    assert body["industry_id"] is None
    assert "allow_unmapped" not in body
    entries = Observation.objects.filter(account=account, field="industry", source="manual")
    assert entries.latest("pk").value == {"industry_id": None, "label": "Underwater Robotics"}


def test_unknown_industry_rejected_on_create(client_for, sales_ops):
    data = {"name": "Kelp Works", "domain": "kelpworks.example", "industry_raw": "Kelp farming"}

    rejected = client_for(sales_ops).post(LIST_URL, data, format="json")
    created = client_for(sales_ops).post(LIST_URL, {**data, "allow_unmapped": True}, format="json")

    assert rejected.status_code == 400
    assert (
        "'Kelp farming' matches no industry"
        in (rejected.json()["error"]["fields"]["industry_raw"][0])
    )
    assert created.status_code == 201, created.json()
    assert created.json()["industry_raw"] == "Kelp farming"
    assert created.json()["industry_id"] is None


def test_unmapped_label_sent_back_accepted(client_for, sdr, import_apollo):
    account = import_apollo("51-200", "$12.5M")
    Account.objects.filter(pk=account.pk).update(industry=None, industry_raw="Kelp farming")

    body = patch(client_for(sdr), account, {"industry_raw": "Kelp farming", "city": "Berlin"})

    assert body["industry_raw"] == "Kelp farming"
    assert body["city"] == "Berlin"


@pytest.mark.parametrize("field", ["annual_revenue_usd", "revenue_amount"])
@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ("100000000000000000000000000", "“100000000000000000000000000”"),
        ("1e27", "“1e27”"),
        ("5000000000000000", "“5000000000000000”"),
        ("9" * 60, f"“{'9' * 39}…”"),
    ],
)
def test_too_large_amount_named(client_for, sdr, import_apollo, field, sent, named):
    account = import_apollo("51-200", "$12.5M")

    response = client_for(sdr).patch(f"{LIST_URL}{account.pk}/", {field: sent}, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["fields"][field][0]
    assert named in message
    assert "too large" in message
    assert "1,000,000,000,000,000" in message
