"""Create framework version 1, "B2B software default", approved and active.

A new installation can score accounts right after migrating, and the team edits a draft
copy of this version instead of starting from an empty form. Nothing is created when any
framework already exists, because the team has then set up its own.
"""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

NAME = "B2B software default"

# Size bands follow LinkedIn's head-count ranges (51-200, 201-500, 501-1000, 1001-5000).
# Revenue bounds are used only when the head count is unknown. The maximum is exclusive.
SIZE_BANDS = [
    ("SMB", 1, 200, None, Decimal("50000000")),
    ("Mid-Market", 201, 1000, Decimal("50000000"), Decimal("1000000000")),
    ("Enterprise", 1001, None, Decimal("1000000000"), None),
]

# ISO 3166-1 alpha-2 codes per sales region. XK (Kosovo) is user-assigned but common in
# data providers' exports. AQ, BV, GS, HM and TF are left out on purpose: they get the
# framework's unmapped geography label.
LATAM = (
    "AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GT GY HN HT JM "
    "KN KY LC MF MQ MS MX NI PA PE PY SR SV SX TC TT UY VC VE VG"
)
EMEA = (
    "AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BW BY CD CF CG CH CI CM CV CY CZ DE DJ "
    "DK DZ EE EG EH ER ES ET FI FO FR GA GB GE GG GH GI GM GN GQ GR GW HR HU IE IL IM IQ "
    "IR IS IT JE JO KE KG KM KW KZ LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU "
    "MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS RU RW SA SC SD SE SH SI SJ SK SL SM SN "
    "SO SS ST SY SZ TD TG TJ TM TN TR TZ UA UG UZ VA XK YE YT ZA ZM ZW"
)
APAC = (
    "AF AU BD BN BT CC CK CN CX FJ FM HK ID IN IO JP KH KI KP KR LA LK MH MM MN MO MV MY "
    "NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TK TL TO TV TW VN VU WF WS"
)
# The United States and its territories share the label "US", as in the tag
# "HealthTech – Enterprise – US".
NORTH_AMERICA = {
    "US": "US",
    "PR": "US",
    "VI": "US",
    "GU": "US",
    "AS": "US",
    "MP": "US",
    "UM": "US",
    "CA": "Canada",
    "BM": "North America",
    "GL": "North America",
    "PM": "North America",
}

CRITERIA = [
    {
        "dimension": "industry",
        "label": "Target industry",
        "operator": "in",
        "values": ["SaaS", "FinTech", "HealthTech"],
        "weight": 30,
        "is_must_have": True,
        # Industry weighs most, so an unknown one earns nothing rather than lifting
        # unverified accounts.
        "unknown_policy": "no_points",
    },
    {
        "dimension": "company_size",
        "label": "Target company size",
        "operator": "in",
        "values": ["Mid-Market", "Enterprise"],
        "weight": 25,
        # An unknown size or country earns half the points, between a match and a mismatch.
        "unknown_policy": "half",
    },
    {
        "dimension": "geography",
        "label": "Target geography",
        "operator": "in",
        "values": ["North America", "EMEA", "APAC"],
        "weight": 20,
        "unknown_policy": "half",
    },
    {
        "dimension": "revenue",
        "label": "Revenue of $50M or more",
        "operator": "range",
        "min_value": Decimal("50000000"),
        "weight": 10,
        # Private companies rarely publish revenue, and the size band covers scale.
        "unknown_policy": "neutral",
    },
    {
        "dimension": "technology",
        "label": "Cloud and data stack",
        "operator": "any_of",
        # Display names as the importer's technology normalizer writes them. Matching
        # ignores case.
        "values": [
            "AWS",
            "Microsoft Azure",
            "Google Cloud",
            "Kubernetes",
            "Snowflake",
            "Salesforce",
            "HubSpot",
            "Machine Learning",
            "cloud",
            "devops",
            "data",
        ],
        "weight": 10,
        "unknown_policy": "neutral",
    },
    {
        "dimension": "buying_signals",
        "label": "Recent buying signal",
        "operator": "any_of",
        "values": [
            "hiring",
            "recent funding",
            "funding",
            "leadership change",
            "expansion",
            "new product launch",
            "technology change",
            "intent surge",
        ],
        "weight": 5,
        # No recorded signal is evidence of no recent trigger, so it earns no points
        # instead of leaving the dimension out.
        "unknown_policy": "no_points",
    },
]


def geography_rows():
    rows = [(country, "North America", label) for country, label in NORTH_AMERICA.items()]
    for region, codes in (("LATAM", LATAM), ("EMEA", EMEA), ("APAC", APAC)):
        rows.extend((country, region, region) for country in codes.split())
    return rows


def create_default_framework(apps, schema_editor):
    Framework = apps.get_model("segmentation", "Framework")
    Criterion = apps.get_model("segmentation", "Criterion")
    SizeBand = apps.get_model("segmentation", "SizeBand")
    GeographyMapping = apps.get_model("segmentation", "GeographyMapping")

    if Framework.objects.exists():
        return

    now = timezone.now()
    framework = Framework.objects.create(
        version=1,
        name=NAME,
        status="approved",
        summary=(
            "Targets SaaS, FinTech and HealthTech companies of Mid-Market and Enterprise size "
            "in North America, EMEA and APAC."
        ),
        tag_template="{industry} – {size_band} – {geography}",
        high_tier_min_score=70,
        medium_tier_min_score=40,
        high_tier_route="Outbound",
        medium_tier_route="",
        low_tier_route="Nurture",
        unmapped_geography_label="Rest of World",
        submitted_at=now,
        approved_at=now,
    )
    Criterion.objects.bulk_create(
        Criterion(framework=framework, position=position, **fields)
        for position, fields in enumerate(CRITERIA)
    )
    SizeBand.objects.bulk_create(
        SizeBand(
            framework=framework,
            name=name,
            min_employees=min_employees,
            max_employees=max_employees,
            min_revenue_usd=min_revenue,
            max_revenue_usd=max_revenue,
            position=position,
        )
        for position, (name, min_employees, max_employees, min_revenue, max_revenue) in enumerate(
            SIZE_BANDS
        )
    )
    GeographyMapping.objects.bulk_create(
        GeographyMapping(framework=framework, country=country, region=region, label=label)
        for country, region, label in geography_rows()
    )


class Migration(migrations.Migration):

    dependencies = [
        ("segmentation", "0002_industry_taxonomy"),
    ]

    operations = [
        migrations.RunPython(create_default_framework, migrations.RunPython.noop),
    ]
