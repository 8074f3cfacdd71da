"""Deterministic generator of realistic, invented companies for demos and benchmarks.

The same seed always yields the same rows. Rows follow the column layout of an Apollo
company export and carry the mess real exports have: employee counts as ranges, open
ranges and free text, revenue in several currencies and formats, countries written in
different ways, missing values, and repeated companies under name and website variants.
No real company data is used: names are built from word lists.
"""

import csv
import random
from collections.abc import Iterator
from pathlib import Path

APOLLO_COLUMNS = (
    "Company",
    "Website",
    "# Employees",
    "Industry",
    "Company City",
    "Company State",
    "Company Country",
    "Annual Revenue",
    "Technologies",
)

NAME_FIRST = (
    "Anvil",
    "Blue",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Nimbus",
    "Onyx",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Tidal",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Drift",
    "Echo",
    "Fern",
    "Glacier",
    "Helix",
    "Indigo",
    "Jade",
)
NAME_SECOND = (
    "Peak",
    "Labs",
    "Works",
    "Systems",
    "Analytics",
    "Health",
    "Pay",
    "Cloud",
    "Data",
    "Logic",
    "Bridge",
    "Forge",
    "Path",
    "Signal",
    "Stack",
    "Ledger",
    "Care",
    "Metrics",
    "Shift",
    "Grid",
    "Point",
    "Wave",
    "Scale",
    "Flow",
)
LEGAL_SUFFIXES = ("Inc.", "Inc", "LLC", "Ltd", "GmbH", "", "", "", "Corp.", "plc")

# Industry labels as LinkedIn, Apollo and CRMs write them; weights make software common.
INDUSTRIES = (
    ("Computer Software", 18),
    ("Information Technology & Services", 10),
    ("Internet", 6),
    ("Financial Services", 8),
    ("Banking", 3),
    ("Insurance", 3),
    ("Hospital & Health Care", 6),
    ("Health, Wellness & Fitness", 2),
    ("Medical Devices", 3),
    ("Retail", 5),
    ("Manufacturing", 5),
    ("Marketing & Advertising", 4),
    ("Real Estate", 3),
    ("Education Management", 3),
    ("Telecommunications", 2),
    ("Logistics & Supply Chain", 3),
    ("Oil & Energy", 2),
    ("Construction", 2),
    ("Venture Capital & Private Equity", 1),
    ("Blockchain Services", 1),
    ("Gaming", 1),
    ("", 5),
)

# City, state or region, country as exports write it, and a relative weight.
LOCATIONS = (
    (("San Francisco", "CA", "United States"), 8),
    (("New York", "NY", "USA"), 7),
    (("Austin", "Texas", "US"), 4),
    (("Boston", "MA", "United States"), 4),
    (("Chicago", "Illinois", "United States"), 3),
    (("Seattle", "WA", ""), 3),
    (("Toronto", "Ontario", "Canada"), 3),
    (("London", "", "United Kingdom"), 6),
    (("Manchester", "England", "UK"), 2),
    (("Berlin", "", "Germany"), 4),
    (("Paris", "Île-de-France", "France"), 3),
    (("Amsterdam", "", "Netherlands"), 2),
    (("Stockholm", "", "Sweden"), 2),
    (("Dublin", "", "Ireland"), 2),
    (("Tel Aviv", "Tel Aviv District", "Israel"), 2),
    (("Singapore", "", "Singapore"), 4),
    (("Sydney", "NSW", "Australia"), 3),
    (("Bengaluru", "KA", "India"), 4),
    (("Tokyo", "", "Japan"), 2),
    (("São Paulo", "SP", "Brazil"), 2),
    (("Mexico City", "", "Mexico"), 1),
    (("", "", ""), 4),
)

EMPLOYEE_STYLES = (
    ("range", 45),
    ("exact", 35),
    ("open", 6),
    ("approximate", 4),
    ("missing", 7),
    ("free_text", 3),
)
LINKEDIN_RANGES = (
    (1, 10),
    (11, 50),
    (51, 200),
    (201, 500),
    (501, 1000),
    (1001, 5000),
    (5001, 10000),
)
TECHNOLOGIES = (
    "Salesforce",
    "HubSpot",
    "AWS",
    "Google Cloud",
    "Azure",
    "Snowflake",
    "Segment",
    "Stripe",
    "Zendesk",
    "Intercom",
    "React",
    "Kubernetes",
    "PostgreSQL",
    "MongoDB",
    "Marketo",
    "Outreach",
    "Gong",
    "Slack",
    "Jira",
    "Datadog",
    "Shopify",
    "WordPress",
)


def _weighted(rng: random.Random, choices: tuple) -> object:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights, k=1)[0]


NAME_THIRD = (
    "",
    "AI",
    "Bio",
    "Robotics",
    "Networks",
    "Technologies",
    "Group",
    "Software",
    "Finance",
    "Security",
    "Energy",
    "Media",
    "Mobility",
)


def _name_pool(rng: random.Random) -> list[str]:
    """Return every first/second/third word combination in a seeded random order."""
    pool = [
        f"{first} {second} {third}".strip()
        for first in NAME_FIRST
        for second in NAME_SECOND
        for third in NAME_THIRD
    ]
    rng.shuffle(pool)
    return pool


def _company_name(rng: random.Random, pool: list[str], index: int) -> str:
    base = pool[index % len(pool)]
    # Past the pool's size a round number keeps names unique for large benchmark runs.
    if index >= len(pool):
        base = f"{base} {index // len(pool)}"
    suffix = rng.choice(LEGAL_SUFFIXES)
    return f"{base}, {suffix}" if suffix and rng.random() < 0.3 else f"{base} {suffix}".strip()


def _domain(name: str) -> str:
    words = [word for word in name.replace(",", " ").split() if word not in LEGAL_SUFFIXES]
    return "".join(words).lower() + ".example"


def _website(rng: random.Random, domain: str) -> str:
    style = rng.random()
    if style < 0.45:
        return f"https://www.{domain}"
    if style < 0.7:
        return f"http://{domain}/"
    if style < 0.85:
        return domain
    if style < 0.95:
        return f"https://www.{domain}/about?utm_source=apollo"
    return ""


def _employees(rng: random.Random) -> tuple[str, int | None]:
    """Return the employee cell and the head count it stands for (None when unknown)."""
    style = _weighted(rng, EMPLOYEE_STYLES)
    low, high = rng.choices(LINKEDIN_RANGES, weights=(20, 25, 22, 14, 8, 7, 4), k=1)[0]
    if style == "range":
        return f"{low:,}-{high:,}", (low + high) // 2
    if style == "exact":
        count = rng.randint(low, high)
        return str(count), count
    if style == "open":
        return "10,001+", 10001
    if style == "approximate":
        thousands = rng.randint(1, 20)
        return f"{thousands}K+", thousands * 1000
    if style == "free_text":
        return f"{low} employees + {rng.randint(5, 60)} contractors", None
    return "", None


def _revenue(rng: random.Random, employees: int | None) -> str:
    if employees is None or rng.random() < 0.15:
        return ""
    usd = employees * rng.randint(90_000, 320_000)
    style = rng.random()
    if style < 0.4:
        return f"{usd:,}"
    if style < 0.6:
        return f"${usd / 1_000_000:.1f}M"
    if style < 0.7 and usd >= 1_000_000_000:
        return f"${usd / 1_000_000_000:.2f}B"
    if style < 0.85:
        return f"€{usd / 1_080_000:.0f}M"
    return str(usd)


def generate_companies(count: int, *, seed: int = 2026) -> Iterator[dict[str, str]]:
    """Yield ``count`` company rows in Apollo's export layout.

    About 3 % of rows repeat an earlier company with another website spelling or legal
    suffix, so an importer sees duplicates to merge.
    """
    rng = random.Random(seed)
    pool = _name_pool(rng)
    produced: list[dict[str, str]] = []
    for index in range(count):
        if produced and rng.random() < 0.03:
            original = rng.choice(produced)
            row = dict(original)
            row["Company"] = original["Company"].replace(",", "").replace(" Inc.", " Inc")
            row["Website"] = "HTTP://WWW." + _domain(original["Company"]).upper() + "/"
            yield row
            continue

        name = _company_name(rng, pool, index)
        employee_cell, head_count = _employees(rng)
        city, state, country = _weighted(rng, LOCATIONS)
        technology_count = rng.choice((0, 1, 2, 3, 4))
        row = {
            "Company": name,
            "Website": _website(rng, _domain(name)),
            "# Employees": employee_cell,
            "Industry": _weighted(rng, INDUSTRIES),
            "Company City": city,
            "Company State": state,
            "Company Country": country,
            "Annual Revenue": _revenue(rng, head_count),
            "Technologies": ", ".join(rng.sample(TECHNOLOGIES, technology_count)),
        }
        if len(produced) < 5000:
            produced.append(row)
        yield row


def write_companies_csv(path: Path, count: int, *, seed: int = 2026) -> Path:
    """Write ``count`` generated companies to a UTF-8 CSV file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=APOLLO_COLUMNS)
        writer.writeheader()
        writer.writerows(generate_companies(count, seed=seed))
    return path
