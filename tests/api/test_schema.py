"""The OpenAPI schema and the interactive documentation."""

import pytest
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
