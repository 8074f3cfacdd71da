"""The OpenAPI schema and the interactive documentation."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

SCHEMA_URL = "/api/v1/schema/"
DOCS_URL = "/api/v1/docs/"


def test_schema_generates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))
    text = output.read_text()
    assert "openapi: 3.0.3" in text
    assert "/api/v1/segments/routes/{route}/members/:" in text
    assert "text/csv" in text


def test_schema_served_as_json(signed_in_api):
    response = signed_in_api.get(SCHEMA_URL, {"format": "json"})
    schema = response.json()
    assert response.status_code == 200
    assert schema["info"]["title"] == "ICP Portal API"
    assert "apiToken" in schema["components"]["securitySchemes"]
    assert "Error" in schema["components"]["schemas"]


@pytest.mark.django_db
def test_schema_needs_sign_in(api_client):
    assert api_client.get(SCHEMA_URL).status_code == 401


def test_docs_use_local_assets(signed_in_api):
    response = signed_in_api.get(DOCS_URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn." not in page
    assert "unpkg" not in page


def test_schema_description_self_contained(signed_in_api):
    description = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()["info"]["description"]
    assert "docs/api.md" not in description
    assert "Authorization: Bearer icp_" in description
    assert "follow `next` until it is null" in description
    assert '{"error": {"code"' in description


def test_docs_list_every_account_filter(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
    # Pagination and format parameters have their own sections, and bom is in "CSV".
    names -= {"cursor", "page_size", "format", "bom"}
    docs = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    section = docs[docs.index("## Filters and incremental sync") : docs.index("## CSV")]
    undocumented = sorted(name for name in names if f"`{name}`" not in section)
    assert undocumented == []


def test_schema_documents_406_for_format(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    responses = schema["paths"]["/api/v1/accounts/"]["get"]["responses"]
    description = schema["info"]["description"]
    assert "406" in responses
    assert "gets 406" in description


def test_schema_lists_violation_month_filter(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/audit-violations/"]["get"]["parameters"]
    month = next(parameter for parameter in parameters if parameter["name"] == "month")
    assert month["in"] == "query"
    assert "YYYY-MM" in month["description"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/accounts/", "/api/v1/segments/saved/{segment_pk}/members/"],
)
def test_schema_lists_csv_bom_parameter(signed_in_api, path):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    parameters = schema["paths"][path]["get"]["parameters"]
    bom = next(parameter for parameter in parameters if parameter["name"] == "bom")
    assert bom["in"] == "query"
    assert bom["schema"]["enum"] == ["1", "true", "0", "false"]
    assert "byte order mark" in bom["description"]


def test_schema_declares_if_none_match(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/accounts/{id}/"]["get"]
    headers = [parameter for parameter in operation["parameters"] if parameter["in"] == "header"]
    assert [parameter["name"] for parameter in headers] == ["If-None-Match"]
    assert "304" in operation["responses"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/segments/tags/{tag}/members/", "tag"),
        ("/api/v1/segments/routes/{route}/members/", "route"),
    ],
)
def test_members_path_parameter_listed_once(signed_in_api, path, name):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    parameters = schema["paths"][path]["get"]["parameters"]
    locations = [parameter["in"] for parameter in parameters if parameter["name"] == name]
    assert locations == ["path"]


def test_account_list_keeps_tag_filter(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
    assert {"tag", "route"} <= names


def test_schema_names_segments_scope(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    saved = schema["paths"]["/api/v1/segments/saved/{id}/"]
    create = schema["paths"]["/api/v1/segments/saved/"]["post"]
    account_patch = schema["paths"]["/api/v1/accounts/{id}/"]["patch"]
    token_create = schema["paths"]["/api/v1/tokens/"]["post"]
    token_scheme = schema["components"]["securitySchemes"]["apiToken"]["description"]
    scopes = schema["components"]["schemas"]["ScopesEnum"]["enum"]
    segments_note = "An API token needs the `segments` or `write` scope for this request."
    assert segments_note in create["description"]
    for method in ("put", "patch", "delete"):
        assert segments_note in saved[method]["description"], method
    assert "needs the `write` scope" in account_patch["description"]
    assert "`segments`" not in account_patch["description"]
    assert "scope" not in saved["get"].get("description", "")
    assert "a request with an API token gets 403" in token_create["description"]
    assert "`segments`" in token_scheme
    assert scopes == ["read", "segments", "write"]
    assert "Marketing may hold `segments` but not `write`" in schema["info"]["description"]


def test_schema_lists_note_changes(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/accounts/{account_pk}/notes/{id}/"]
    assert set(operations) - {"parameters"} == {"get", "patch", "delete"}
    response = operations["patch"]["responses"]["200"]["content"]["application/json"]
    assert response["schema"]["$ref"] == "#/components/schemas/ResearchNoteChanged"
    fields = schema["components"]["schemas"]["ResearchNoteChanged"]["properties"]
    assert "buying_signal_added" in fields
    assert "buying_signal_removed" in fields


def test_schema_documents_allow_unmapped(signed_in_api):
    schema = signed_in_api.get(SCHEMA_URL, {"format": "json"}).json()
    properties = schema["components"]["schemas"]["AccountWriteRequest"]["properties"]

    assert properties["allow_unmapped"]["type"] == "boolean"
    assert properties["allow_unmapped"]["writeOnly"] is True
    assert "Save as unmapped anyway" in properties["allow_unmapped"]["description"]
    assert "gets 400 naming it" in properties["industry_raw"]["description"]
