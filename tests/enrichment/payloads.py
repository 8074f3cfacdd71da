"""Provider responses shaped like the examples in each provider's API documentation.

The companies are made up; field names, nesting and value formats follow the documented
responses.
"""

import base64
import json
import time

# Apollo: GET /api/v1/organizations/enrich?domain=...
APOLLO_ORGANIZATION = {
    "id": "60140f36569f1500a4f838d6",
    "name": "Northwind Analytics",
    "website_url": "http://www.northwind-analytics.com",
    "blog_url": None,
    "linkedin_url": "http://www.linkedin.com/company/northwind-analytics",
    "twitter_url": "https://twitter.com/northwindhq",
    "facebook_url": None,
    "primary_phone": {},
    "founded_year": 2016,
    "primary_domain": "northwind-analytics.com",
    "industry": "information technology & services",
    "estimated_num_employees": 240,
    "industries": ["information technology & services"],
    "raw_address": "12 Rue de la République, Lyon, Auvergne-Rhône-Alpes 69002, FR",
    "city": "Lyon",
    "state": "Auvergne-Rhône-Alpes",
    "postal_code": "69002",
    "country": "France",
    "short_description": "Northwind Analytics builds revenue dashboards for B2B sales teams.",
    "annual_revenue_printed": "12.5M",
    "annual_revenue": 12500000,
    "total_funding": 1803855,
    "total_funding_printed": "1.8M",
    "latest_funding_round_date": "2023-03-01T00:00:00.000+00:00",
    "latest_funding_stage": "Series A",
    "funding_events": [
        {
            "id": "64582db543e9cf000158501e",
            "date": "2023-03-01T00:00:00.000+00:00",
            "news_url": None,
            "type": "Series A",
            "investors": "",
            "amount": "1.8M",
            "currency": "$",
        }
    ],
    "technology_names": ["Salesforce", "Hubspot", "Google Tag Manager", "react"],
    "current_technologies": [
        {"uid": "salesforce", "name": "Salesforce", "category": "CRM"},
        {"uid": "hubspot", "name": "Hubspot", "category": "Marketing Automation"},
    ],
}
APOLLO_RESPONSE = {"organization": APOLLO_ORGANIZATION}

# Clearbit: GET /v2/companies/find?domain=...
CLEARBIT_COMPANY = {
    "id": "3f5d6a4e-1b59-4d17-9e5a-2c4c3a1b0f77",
    "name": "Brightwave",
    "legalName": "Brightwave GmbH",
    "domain": "brightwave.io",
    "domainAliases": [],
    "site": {"phoneNumbers": [], "emailAddresses": []},
    "category": {
        "sector": "Information Technology",
        "industryGroup": "Software & Services",
        "industry": "Internet Software & Services",
        "subIndustry": "Internet Software & Services",
        "sicCode": "73",
        "naicsCode": "54",
    },
    "tags": ["SaaS", "B2B"],
    "description": "Brightwave runs customer data pipelines for mid-market retailers.",
    "foundedYear": 2014,
    "location": "Friedrichstraße 68, 10117 Berlin, Germany",
    "geo": {
        "streetNumber": "68",
        "streetName": "Friedrichstraße",
        "subPremise": None,
        "city": "Berlin",
        "postalCode": "10117",
        "state": "Berlin",
        "stateCode": "BE",
        "country": "Germany",
        "countryCode": "DE",
    },
    "logo": "https://logo.clearbit.com/brightwave.io",
    "facebook": {"handle": None, "likes": None},
    "linkedin": {"handle": "company/brightwave"},
    "twitter": {"handle": "brightwave", "id": "379327241", "followers": 24340},
    "crunchbase": {"handle": "organization/brightwave"},
    "emailProvider": False,
    "type": "private",
    "ticker": None,
    "phone": None,
    "metrics": {
        "alexaUsRank": 1974,
        "alexaGlobalRank": 6163,
        "employees": 900,
        "employeesRange": "251-1K",
        "marketCap": None,
        "raised": 283700000,
        "annualRevenue": None,
        "estimatedAnnualRevenue": "$100M-$250M",
        "fiscalYearEnd": None,
    },
    "indexedAt": "2021-12-24T02:50:54.380Z",
    "tech": ["google_analytics", "hubspot", "aws_route_53", "react"],
    "parent": {"domain": None},
}


def fake_jwt(lifetime_seconds: int = 3600) -> str:
    """Return an unsigned token with an ``exp`` claim, shaped like ZoomInfo's JWT."""

    def encode(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    header = encode({"alg": "HS512", "typ": "JWT"})
    claims = encode({"sub": "api-user", "exp": int(time.time()) + lifetime_seconds})
    return f"{header}.{claims}.c2lnbmF0dXJl"


# ZoomInfo: POST /enrich/company
ZOOMINFO_COMPANY = {
    "id": 344589814,
    "name": "Harbor Freight Logistics",
    "website": "www.harborfreight-logistics.com",
    "domainList": ["harborfreight-logistics.com"],
    "revenue": 50000,
    "revenueRange": "$25 mil. - $50 mil.",
    "employeeCount": 320,
    "employeeRange": "250 to 499",
    "city": "Oakland",
    "state": "California",
    "country": "United States",
    "primaryIndustry": ["Transportation"],
    "industries": ["Transportation", "Freight & Logistics Services"],
    "descriptionList": [
        {"description": "Harbor Freight Logistics moves container freight on the US West Coast."}
    ],
    "socialMediaUrls": [
        {
            "type": "LINKED_IN",
            "url": "http://www.linkedin.com/company/harbor-freight-logistics",
            "followerCount": "",
        },
        {
            "type": "FACEBOOK",
            "url": "http://www.facebook.com/harborfreightlogistics",
            "followerCount": "",
        },
    ],
    "techAttributes": [
        {
            "tag": "25420",
            "categoryParent": "CRM",
            "category": "Customer Relationship Management",
            "vendor": "Salesforce, Inc.",
            "product": "Salesforce",
            "attribute": "334.194.1",
            "website": "https://www.salesforce.com",
            "logo": None,
            "domain": "salesforce.com",
            "createdTime": "2016-08-11T14:14:27.000Z",
            "modifiedTime": "2018-10-10T06:45:20.000Z",
            "description": "Customer relationship management software.",
        }
    ],
    "totalFundingAmount": 12000,
    "recentFundingAmount": 8000,
    "recentFundingDate": "2022-06-04T07:00:00.000Z",
}


def zoominfo_response(companies: list[dict], match_status: str = "FULL_MATCH") -> dict:
    return {
        "success": True,
        "data": {
            "outputFields": [["id", "name", "website"]],
            "result": [
                {
                    "input": {"companywebsite": "http://www.harborfreight-logistics.com"},
                    "data": companies,
                    "matchStatus": match_status,
                }
            ],
        },
    }
