import codecs
import gzip
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import roles
from accounts.models import Account, ImportMapping, ImportRun
from accounts.normalizers.names import company_name_key
from accounts.workspace import header_signature
from tests.import_locks import import_in_progress

UPLOAD_URL = reverse("accounts:import-upload")
LIST_URL = reverse("accounts:import-list")

HUBSPOT_CSV = (
    "Company name;Company Domain Name;Number of Employees;Annual Revenue;Industry;Country/Region\n"
    "Acme;acme.example;250;12000000;Computer Software;United States\n"
    ";;50;;;Germany\n"
    "Globex;globex.example;lots of people;;;Germany\n"
    "=cmd|' /C calc'!A0;;;;;\n"
)
GERMAN_CSV = "Firma,Webseite,Mitarbeiter\nAcme GmbH,acme.de,120\nBeta AG,beta.de,40\n"


def upload(client, content: bytes | str, name: str = "export.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD_URL, {"file": SimpleUploadedFile(name, data)})


def token_of(response) -> str:
    match = re.search(r"/imports/new/([0-9a-f]{32})/mapping/", response["Location"])
    assert match is not None, response["Location"]
    return match[1]


def upload_error(client, content: bytes | str, name: str = "export.csv") -> str:
    response = upload(client, content, name)
    assert response.status_code == 422
    match = re.search(r'id="id_file-error" role="alert">(.*?)</div>', response.content.decode())
    assert match is not None
    return match[1]


@pytest.fixture
def ops(client, sales_ops):
    client.force_login(sales_ops)
    return client


def mapping_data(response) -> dict[str, str]:
    """Return the mapping form's prefilled values, as a browser would post them."""
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value not in (None, False):
            data[name] = str(value)
    return data


# Step 1: upload ------------------------------------------------------------------------


def test_upload_redirects_to_mapping(ops):
    response = upload(ops, HUBSPOT_CSV)
    assert response.status_code == 302
    assert token_of(response)


def test_upload_form_states_limits(ops):
    html = ops.get(UPLOAD_URL).content.decode()
    assert "at most 200 MB" in html
    assert 'accept=".csv,.tsv,.json,.txt"' in html


def test_upload_rejects_other_extension(ops):
    error = upload_error(ops, "a,b\n1,2\n", name="accounts.xlsx")
    assert "“accounts.xlsx” has .xlsx: upload a .csv, .tsv, .json or .txt file" in error


def test_upload_accepts_tsv(ops):
    response = upload(ops, "name\twebsite\nAcme\tacme.example\n", name="export.tsv")
    assert response.status_code == 302
    token = token_of(response)
    inspection = ops.get(reverse("accounts:import-mapping", args=[token])).context["inspection"]
    assert inspection.delimiter == "\t"


def test_upload_rejects_empty_file(ops):
    error = upload_error(ops, b"")
    assert error == "“export.csv” is empty: export the file again with a header row."


def test_upload_rejects_workbook_named_csv(ops):
    error = upload_error(ops, b"PK\x03\x04" + b"\x00" * 200)
    assert "is an Excel workbook (.xlsx) or a ZIP archive, not a CSV or JSON text file" in error


def test_upload_rejects_binary_data(ops):
    error = upload_error(ops, b"name,website\n\x00\x01\x02\x03binary\x00\n")
    assert "binary data" in error


def test_upload_rejects_binary_tail(ops):
    # The rows make more than the first 8 KiB, which every upload check reads.
    rows = "".join(f"Firma {index} Müller,firma{index}.example\n" for index in range(300))
    blob = gzip.compress(rows.encode(), mtime=0)

    error = upload_error(ops, f"name,website\n{rows}".encode() + blob)

    assert error.startswith("“export.csv” contains binary data on lines 302")
    assert "(it looks like a gzip archive)" in error
    assert not ImportRun.objects.exists()


def test_upload_rejects_truncated_csv(ops):
    error = upload_error(ops, "name,website,employees\nAcme,acme.example,250\nBeta,beta.ex")
    assert "has 2 of 3 columns" in error
    assert "cut off" in error


def test_upload_rejects_unclosed_quote(ops):
    error = upload_error(ops, 'name,description\nAcme,"Makes anvils and')
    assert "ends inside a quoted value" in error


def test_upload_rejects_truncated_json(ops):
    error = upload_error(ops, '[{"name": "Acme"}, {"name": "Be', name="export.json")
    assert "ends before its JSON array is closed" in error


def test_upload_rejects_file_without_header(ops):
    error = upload_error(ops, "Acme,acme.example,250\nBeta,beta.example,40\n")
    assert "looks like data" in error
    assert "add a header row" in error


def test_upload_rejects_header_only(ops):
    error = upload_error(ops, "name,website\n")
    assert "has a header row but no data rows" in error


def test_upload_rejects_large_file(ops, settings):
    settings.ICP_IMPORT_MAX_UPLOAD_BYTES = 100
    error = upload_error(ops, "name,website\n" + "Acme,acme.example\n" * 20)
    assert "larger than the 100 bytes an upload may have" in error


def test_upload_rejects_deep_json(ops):
    error = upload_error(ops, "[" * 1500 + "]" * 1500, name="deep.json")
    assert "nested more than 32 levels deep" in error


def test_rejected_upload_is_deleted(ops, media_root):
    upload(ops, b"PK\x03\x04" + b"\x00" * 200)
    assert not list((media_root / "import-uploads").glob("*/*"))


# Step 2: mapping -----------------------------------------------------------------------


def test_mapping_shows_detection(ops):
    token = token_of(upload(ops, HUBSPOT_CSV))
    html = ops.get(reverse("accounts:import-mapping", args=[token])).content.decode()
    assert 'data-testid="detected-encoding">UTF-8<' in html
    assert 'data-testid="detected-delimiter">semicolon<' in html
    assert 'data-testid="detected-layout">hubspot<' in html
    assert 'data-testid="detected-rows">4<' in html


def test_mapping_detects_layout_without_optional_column(ops):
    content = (
        "Symbol,Security,GICS Sub-Industry,Headquarters Location,Date added,CIK,Founded\n"
        'MMM,3M,Industrial Conglomerates,"Saint Paul, Minnesota",1957-03-04,66740,1902\n'
    )
    token = token_of(upload(ops, content))
    response = ops.get(reverse("accounts:import-mapping", args=[token]))
    html = response.content.decode()
    initial = response.context["form"].initial

    assert 'data-testid="detected-layout">sp500<' in html
    assert "the file has no GICS Sector column of the sp500 layout" in html
    assert initial["column_0"] == "ticker"
    assert initial["column_1"] == "name"
    assert initial["column_2"] == "sub_industry"
    assert initial["column_3"] == "location"
    assert initial["column_5"] == "cik"


def test_mapping_prefills_detected_fields(ops):
    token = token_of(upload(ops, HUBSPOT_CSV))
    response = ops.get(reverse("accounts:import-mapping", args=[token]))
    initial = response.context["form"].initial
    assert initial["column_0"] == "name"
    assert initial["column_1"] == "domain"
    assert initial["column_2"] == "employees"
    assert initial["column_5"] == "country"


def test_mapping_shows_sample_values(ops):
    token = token_of(upload(ops, HUBSPOT_CSV))
    html = ops.get(reverse("accounts:import-mapping", args=[token])).content.decode()
    assert "<span>acme.example</span>" in html


def test_upload_detects_utf16(ops):
    content = codecs.BOM_UTF16_LE + "name,website\nMüller,mueller.example\n".encode("utf-16-le")
    token = token_of(upload(ops, content))
    html = ops.get(reverse("accounts:import-mapping", args=[token])).content.decode()
    assert 'data-testid="detected-encoding">UTF-16<' in html
    assert 'data-testid="detected-delimiter">comma<' in html


def test_upload_reads_json_array(ops):
    content = json.dumps([{"name": "Acme", "website": "acme.example"}])
    token = token_of(upload(ops, content, name="companies.json"))
    html = ops.get(reverse("accounts:import-mapping", args=[token])).content.decode()
    assert '<dd class="col-sm-4">JSON</dd>' in html
    assert 'data-testid="detected-rows">1<' in html


def test_mapping_requires_identity_column(ops):
    token = token_of(upload(ops, GERMAN_CSV))
    url = reverse("accounts:import-mapping", args=[token])
    response = ops.post(url, {"currency": "USD", "revenue_multiplier": "1"})
    assert response.status_code == 422
    assert "No column is mapped to the company name, website or domain" in (
        response.content.decode()
    )


def test_mapping_saved_and_reused(ops, sales_ops):
    token = token_of(upload(ops, GERMAN_CSV))
    url = reverse("accounts:import-mapping", args=[token])
    response = ops.post(
        url,
        {
            "column_0": "name",
            "column_1": "website",
            "column_2": "employees",
            "currency": "EUR",
            "revenue_multiplier": "1000",
            "save_mapping": "on",
            "mapping_name": "German CRM",
        },
    )
    saved = ImportMapping.objects.get()
    assert response.status_code == 302
    assert saved.name == "German CRM"
    assert saved.created_by == sales_ops
    assert saved.header_signature == header_signature(["Firma", "Webseite", "Mitarbeiter"])
    assert saved.mapping["columns"] == {
        "Firma": "name",
        "Webseite": "website",
        "Mitarbeiter": "employees",
    }

    again = token_of(upload(ops, "FIRMA,Mitarbeiter,Webseite\nGamma,3,gamma.de\n"))
    reused = ops.get(reverse("accounts:import-mapping", args=[again]))
    initial = reused.context["form"].initial
    assert 'data-testid="saved-mapping-used"' in reused.content.decode()
    assert initial["column_0"] == "name"
    assert initial["column_1"] == "employees"
    assert initial["column_2"] == "website"
    assert initial["currency"] == "EUR"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("manual", "Source “manual” is reserved"),
        ("unrecorded", "Source “unrecorded” is reserved"),
        ("hub spot", "Source “hub spot” is invalid"),
        (
            "a" * 60,
            f"Source “{'a' * 60}” is 60 characters long, more than the 50 allowed: use a "
            "shorter name such as hubspot.",
        ),
    ],
)
def test_mapping_rejects_bad_source(ops, source, message):
    token = token_of(upload(ops, GERMAN_CSV))
    response = ops.post(
        reverse("accounts:import-mapping", args=[token]),
        {"column_0": "name", "source": source, "currency": "USD", "revenue_multiplier": "1"},
    )
    assert response.status_code == 422
    assert message in response.content.decode()


def test_mapping_rejects_unknown_currency(ops):
    token = token_of(upload(ops, GERMAN_CSV))
    response = ops.post(
        reverse("accounts:import-mapping", args=[token]),
        {"column_0": "name", "currency": "XYZ", "revenue_multiplier": "1"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Currency “XYZ” is not an ISO 4217 currency code" in html
    assert "such as EUR" in html


def test_mapping_lowers_source(ops, django_capture_on_commit_callbacks):
    token, _ = preview(
        ops,
        GERMAN_CSV,
        {
            "column_0": "name",
            "column_1": "website",
            "source": "German-CRM",
            "currency": "USD",
            "revenue_multiplier": "1",
        },
    )
    run = start(ops, token, django_capture_on_commit_callbacks)
    assert run.source == "german-crm"


def test_saving_mapping_requires_name(ops):
    token = token_of(upload(ops, GERMAN_CSV))
    response = ops.post(
        reverse("accounts:import-mapping", args=[token]),
        {"column_0": "name", "currency": "USD", "revenue_multiplier": "1", "save_mapping": "on"},
    )
    assert response.status_code == 422
    assert "Name the mapping to save it" in response.content.decode()
    assert not ImportMapping.objects.exists()


def test_detected_mapping_can_replace_saved(ops, sales_ops):
    ImportMapping.objects.create(
        name="Odd",
        header_signature=header_signature(["Firma", "Webseite", "Mitarbeiter"]),
        mapping={"columns": {"Firma": "description", "Webseite": "website"}},
        created_by=sales_ops,
    )
    token = token_of(upload(ops, GERMAN_CSV))
    url = reverse("accounts:import-mapping", args=[token])
    assert ops.get(url).context["form"].initial["column_0"] == "description"
    assert ops.get(url, {"use": "detected"}).context["form"].initial["column_0"] == ""


# Step 3: preview -----------------------------------------------------------------------


def preview(ops, content: str, mapping: dict[str, str] | None = None):
    token = token_of(upload(ops, content))
    url = reverse("accounts:import-mapping", args=[token])
    data = mapping if mapping is not None else mapping_data(ops.get(url))
    response = ops.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return token, ops.get(reverse("accounts:import-preview", args=[token]))


def test_preview_shows_row_results(ops):
    _token, response = preview(ops, HUBSPOT_CSV)
    statuses = [row.status for row in response.context["rows"]]
    assert statuses == ["ok", "rejected", "flagged", "ok"]


def test_preview_shows_rejection_reason(ops):
    _token, response = preview(ops, HUBSPOT_CSV)
    html = response.content.decode()
    assert "the row has no company name and no website or domain" in html


def test_preview_shows_review_flags(ops):
    _token, response = preview(ops, HUBSPOT_CSV)
    flagged = response.context["rows"][2]
    assert flagged.values["name"] == "Globex"
    assert any(
        "employees" in problem and "lots of people" in problem for problem in flagged.problems
    )


def test_preview_flags_huge_revenue(ops):
    content = (
        "Company name;Company Domain Name;Annual Revenue\n"
        "Acme;acme.example;12000000\n"
        "Huge;huge.example;100000000000000000000000000\n"
    )
    _token, response = preview(ops, content)
    rows = response.context["rows"]
    assert response.status_code == 200
    assert [row.status for row in rows] == ["ok", "flagged"]
    assert any("too large: check the unit" in problem for problem in rows[1].problems)


def test_preview_names_account_a_row_updates(ops):
    Account.objects.create(name="Amazon.com", name_key="amazon", domain="amazon.com", country="US")
    Account.objects.create(name="Globex", name_key="globex", domain="globex.example")
    content = (
        "Company name;Company Domain Name;Number of Employees;Country/Region\n"
        "Amazon Web Services;aws.amazon.com;100000;United States\n"
        "Globex;globex.example;40;Germany\n"
        "Initech;initech.example;30;Germany\n"
    )

    _token, response = preview(ops, content)

    aws, globex, initech = response.context["rows"]
    html = response.content.decode()
    assert aws.updates == "Amazon.com"
    assert aws.status == "flagged"
    assert any('"Amazon Web Services"' in problem for problem in aws.problems)
    assert globex.updates == "Globex"
    assert globex.status == "ok"
    assert initech.updates == ""
    assert "updates Amazon.com" in html
    assert response.context["counts"]["flagged"] == 1
    assert not Account.objects.filter(name="Initech").exists()


def test_preview_names_line_a_row_merges_with(ops):
    content = (
        "Company name;Company Domain Name;Number of Employees;Country/Region\n"
        "Dup Co;dupco.example;100;United States\n"
        "Dup Co Inc;www.dupco.example;90000;Germany\n"
        "Dup Co;dupco.example;110;United States\n"
        "Initech;initech.example;30;Germany\n"
    )

    _token, response = preview(ops, content)

    first, disagreeing, agreeing, initech = response.context["rows"]
    html = response.content.decode()
    assert first.merges_with is None
    assert (disagreeing.merges_with, disagreeing.status) == (2, "flagged")
    assert any(
        problem.startswith('employees: line 3 gives employees "90000", but line 2')
        for problem in disagreeing.problems
    )
    assert any(
        problem.startswith('location: line 3 gives location "Germany"')
        for problem in disagreeing.problems
    )
    assert (agreeing.merges_with, agreeing.status) == (2, "ok")
    assert agreeing.problems == []
    assert initech.merges_with is None
    assert "merges with line 2" in html
    assert not Account.objects.exists()


def test_preview_shows_revenue_after_unit(ops):
    mapping = {
        "column_0": "name",
        "column_1": "website",
        "column_2": "revenue",
        "currency": "USD",
        "revenue_multiplier": "1000000",
    }
    content = 'Company,Website,Revenue ($M)\nAcme,acme.example,"514,405"\n'
    _token, response = preview(ops, content, mapping)
    row = response.context["rows"][0]
    html = response.content.decode()
    assert row.values["revenue_usd"] == "$514B"
    assert "from 514,405" in html


def test_preview_warns_of_columns_feeding_one_field(ops):
    mapping = {"column_0": "name", "column_1": "name", "column_2": "website", "currency": "USD"}
    mapping["revenue_multiplier"] = "1"
    content = "Record ID,Company,Website\n2001,Acme,acme.example\n"
    _token, response = preview(ops, content, mapping)
    html = response.content.decode()
    assert response.context["rows"][0].values["name"] == "2001"
    assert (
        "Columns “Record ID” and “Company” both feed the field name: each row takes the first "
        "of them that is not empty, in that order." in html
    )


def test_preview_without_shared_fields_has_no_warning(ops):
    _token, response = preview(ops, "name,website\nAcme,acme.example\n")
    assert 'data-testid="shared-fields"' not in response.content.decode()


def test_preview_escapes_file_values(ops):
    _token, response = preview(ops, "name,website\n<script>x</script>,x.example\n")
    html = response.content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_preview_shows_at_most_twenty_rows(ops):
    content = "name,website\n" + "".join(f"Co {n},co{n}.example\n" for n in range(30))
    _token, response = preview(ops, content)
    assert len(response.context["rows"]) == 20


def test_preview_asks_to_confirm_with_count(ops):
    _token, response = preview(ops, HUBSPOT_CSV)
    assert 'data-confirm="Import 4 rows from export.csv?' in response.content.decode()


# Step 4: run ---------------------------------------------------------------------------


def start(ops, token: str, capture):
    with capture(execute=True):
        response = ops.post(reverse("accounts:import-start", args=[token]))
    assert response.status_code == 302
    return ImportRun.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_start_runs_import_in_background(ops, sales_ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    run = start(ops, token, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created_by == sales_ops
    assert run.file_name == "export.csv"
    assert run.source == "hubspot"
    assert run.rows_read == 4
    assert run.rejected == 1
    assert Account.objects.filter(domain="acme.example").exists()


def test_start_with_custom_mapping(ops, django_capture_on_commit_callbacks):
    token, _ = preview(
        ops,
        GERMAN_CSV,
        {
            "column_0": "name",
            "column_1": "website",
            "column_2": "employees",
            "source": "german-crm",
            "currency": "EUR",
            "revenue_multiplier": "1",
        },
    )
    run = start(ops, token, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    acme = Account.objects.get(domain="acme.de")
    assert run.source == "german-crm"
    assert acme.name == "Acme GmbH"
    assert acme.employee_count == 120


def test_started_wizard_leads_to_its_import(ops, django_capture_on_commit_callbacks):
    token, _ = preview(
        ops, GERMAN_CSV, {"column_0": "name", "currency": "USD", "revenue_multiplier": "1"}
    )
    run = start(ops, token, django_capture_on_commit_callbacks)
    response = ops.get(reverse("accounts:import-preview", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:import-detail", args=[run.pk])


def test_second_start_names_earlier_import(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    run = start(ops, token, django_capture_on_commit_callbacks)
    response = ops.post(reverse("accounts:import-start", args=[token]), follow=True)
    assert response.redirect_chain == [(reverse("accounts:import-detail", args=[run.pk]), 302)]
    assert f"This file was already imported as import {run.pk}." in response.content.decode()
    assert ImportRun.objects.count() == 1


def test_unknown_upload_token_is_404(ops):
    response = ops.get(reverse("accounts:import-preview", args=["0" * 32]))
    assert response.status_code == 404


def test_status_shows_summary_when_finished(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    run = start(ops, token, django_capture_on_commit_callbacks)
    html = ops.get(reverse("accounts:import-status", args=[run.pk])).content.decode()
    assert 'aria-valuenow="100"' in html
    assert 'data-testid="import-summary"' in html
    assert 'hx-trigger="every 1s"' not in html
    assert reverse("accounts:import-report", args=[run.pk]) in html


def test_status_links_to_flagged_accounts(ops, sales_ops):
    run = ImportRun.objects.create(
        source="csv",
        file_name="crm.csv",
        status=ImportRun.Status.SUCCEEDED,
        rows_read=10,
        created=10,
        flagged=3,
        created_by=sales_ops,
    )
    html = ops.get(reverse("accounts:import-status", args=[run.pk])).content.decode()
    assert f"{reverse('accounts:account-list')}?flagged_by_import={run.pk}" in html


def test_status_shows_unchanged_count(ops, sales_ops):
    run = ImportRun.objects.create(
        source="csv",
        file_name="crm.csv",
        status=ImportRun.Status.SUCCEEDED,
        rows_read=10,
        updated=3,
        unchanged=7,
        created_by=sales_ops,
    )

    html = ops.get(reverse("accounts:import-status", args=[run.pk])).content.decode()

    assert 'data-testid="import-unchanged">7</dd>' in html


def test_status_polls_while_running(ops, sales_ops):
    run = ImportRun.objects.create(
        source="csv",
        file_name="big.csv",
        status=ImportRun.Status.RUNNING,
        total_rows=200,
        rows_read=50,
        created_by=sales_ops,
    )
    with import_in_progress(run):
        html = ops.get(reverse("accounts:import-status", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html
    assert "50 of 200 rows read." in html


def test_running_progress_stays_below_complete(ops, sales_ops):
    run = ImportRun.objects.create(
        source="csv",
        file_name="big.csv",
        status=ImportRun.Status.RUNNING,
        total_rows=200,
        rows_read=200,
        created_by=sales_ops,
    )
    html = ops.get(reverse("accounts:import-status", args=[run.pk])).content.decode()
    assert 'aria-valuenow="99"' in html


def test_detail_page_embeds_status(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    run = start(ops, token, django_capture_on_commit_callbacks)
    html = ops.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    assert 'id="import-status"' in html
    assert "Import finished" in html


def test_report_download_neutralizes_formulas(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, "name,website\nAcme,acme.example\n,=cmd|x\n")
    run = start(ops, token, django_capture_on_commit_callbacks)
    response = ops.get(reverse("accounts:import-report", args=[run.pk]))
    text = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{run.pk}-rejected-rows.csv"'
    )
    assert text.splitlines()[0] == "name,website,line,reason,extra_cells"
    assert text.splitlines()[1].startswith(",'=cmd|x,3,")


def finished_run(user, media_root, rejected: bool = True) -> ImportRun:
    report = media_root / "import-reports" / "run-1-export-rejected.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("name,line,reason\nx,2,bad\n", encoding="utf-8")
    return ImportRun.objects.create(
        source="csv",
        file_name="export.csv",
        status=ImportRun.Status.SUCCEEDED,
        rejected=1,
        report_path=str(report) if rejected else "",
        created_by=user,
    )


def test_report_hidden_from_other_sdr(client, sdr, sdr2, media_root):
    run = finished_run(sdr, media_root)
    client.force_login(sdr2)
    assert client.get(reverse("accounts:import-report", args=[run.pk])).status_code == 404


def test_report_available_to_creator(client, sdr, media_root):
    run = finished_run(sdr, media_root)
    client.force_login(sdr)
    assert client.get(reverse("accounts:import-report", args=[run.pk])).status_code == 200


def test_report_available_to_sales_ops(client, sdr, sales_ops, media_root):
    run = finished_run(sdr, media_root)
    client.force_login(sales_ops)
    assert client.get(reverse("accounts:import-report", args=[run.pk])).status_code == 200


def test_report_denied_to_marketing(client, sdr, marketing, media_root):
    run = finished_run(sdr, media_root)
    client.force_login(marketing)
    assert client.get(reverse("accounts:import-report", args=[run.pk])).status_code == 403


def test_report_outside_report_folder_is_404(ops, sales_ops, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\n", encoding="utf-8")
    run = ImportRun.objects.create(
        source="csv", file_name="x.csv", report_path=str(secret), created_by=sales_ops
    )
    assert ops.get(reverse("accounts:import-report", args=[run.pk])).status_code == 404


def test_run_without_report_is_404(client, sdr, media_root):
    run = finished_run(sdr, media_root, rejected=False)
    client.force_login(sdr)
    assert client.get(reverse("accounts:import-report", args=[run.pk])).status_code == 404


# Past imports and access ---------------------------------------------------------------


def test_sdr_lists_own_imports(client, sdr, sdr2, media_root):
    own = finished_run(sdr, media_root)
    other = finished_run(sdr2, media_root)
    client.force_login(sdr)
    runs = list(client.get(LIST_URL).context["runs"])
    assert own in runs
    assert other not in runs


def test_sales_ops_lists_every_import(client, sdr, sdr2, sales_ops, media_root):
    finished_run(sdr, media_root)
    finished_run(sdr2, media_root)
    client.force_login(sales_ops)
    assert len(client.get(LIST_URL).context["runs"]) == 2


def test_wizard_of_another_session_is_404(client, ops, sdr):
    token = token_of(upload(ops, HUBSPOT_CSV))
    client.force_login(sdr)
    assert client.get(reverse("accounts:import-mapping", args=[token])).status_code == 404


def test_upload_requires_csrf_token(sales_ops):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_ops)
    response = strict.post(
        UPLOAD_URL, {"file": SimpleUploadedFile("export.csv", HUBSPOT_CSV.encode())}
    )
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("role", [roles.AE, roles.MARKETING, roles.SALES_LEADERSHIP])
def test_wizard_denied_to_roles_without_import(client, make_user, role):
    client.force_login(make_user(role, username=f"user-{role}"))
    assert client.get(UPLOAD_URL).status_code == 403
    assert client.get(LIST_URL).status_code == 403
    assert upload(client, HUBSPOT_CSV).status_code == 403


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER, roles.SALES_OPS])
def test_wizard_open_to_importing_roles(client, make_user, role):
    client.force_login(make_user(role, username=f"user-{role}"))
    assert client.get(UPLOAD_URL).status_code == 200


def test_preview_warns_same_file(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    first = start(ops, token, django_capture_on_commit_callbacks)
    data = {"column_0": "name", "column_1": "domain", "currency": "USD", "revenue_multiplier": "1"}

    _token, response = preview(ops, HUBSPOT_CSV, {**data, "source": "trade-show"})

    html = response.content.decode()
    assert 'data-testid="same-file"' in html
    assert f"same content as import run {first.pk} (source “hubspot”" in html
    assert 'name="allow_same_file"' in html


def test_start_same_file_rejected(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    start(ops, token, django_capture_on_commit_callbacks)
    data = {"column_0": "name", "column_1": "domain", "currency": "USD", "revenue_multiplier": "1"}
    token, _ = preview(ops, HUBSPOT_CSV, {**data, "source": "trade-show"})

    response = ops.post(reverse("accounts:import-start", args=[token]), follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("accounts:import-preview", args=[token])
    assert "the “Import as a second source” checkbox" in html
    assert ImportRun.objects.count() == 1


def test_start_same_file_allowed(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    start(ops, token, django_capture_on_commit_callbacks)
    data = {"column_0": "name", "column_1": "domain", "currency": "USD", "revenue_multiplier": "1"}
    token, _ = preview(ops, HUBSPOT_CSV, {**data, "source": "trade-show"})

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(
            reverse("accounts:import-start", args=[token]), {"allow_same_file": "1"}
        )

    assert response.status_code == 302
    second = ImportRun.objects.get(source="trade-show")
    assert second.allow_same_file is True
    assert second.status == ImportRun.Status.SUCCEEDED


def test_preview_same_source_no_warning(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    start(ops, token, django_capture_on_commit_callbacks)

    _token, response = preview(ops, HUBSPOT_CSV)

    assert 'data-testid="same-file"' not in response.content.decode()


def test_preview_of_reimport_counts_unchanged(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    start(ops, token, django_capture_on_commit_callbacks)

    token, response = preview(ops, HUBSPOT_CSV)
    again = start(ops, token, django_capture_on_commit_callbacks)

    rows = response.context["rows"]
    html = response.content.decode()
    outcomes = response.context["outcomes"]
    assert [row.outcome for row in rows] == ["unchanged", "", "unchanged", "unchanged"]
    assert [row.updates for row in rows] == ["", "", "", ""]
    assert rows[0].unchanged == "Acme"
    assert "updates Acme" not in html
    assert "matches Acme, nothing new" in html
    assert outcomes == {"created": 0, "updated": 0, "unchanged": 3, "merged": 0}
    assert (again.created, again.updated, again.unchanged, again.merged) == (0, 0, 3, 0)


def test_preview_new_value_counts_updated(ops, django_capture_on_commit_callbacks):
    token, _ = preview(ops, HUBSPOT_CSV)
    start(ops, token, django_capture_on_commit_callbacks)
    changed = HUBSPOT_CSV.replace("Acme;acme.example;250;", "Acme;acme.example;900;")

    _token, response = preview(ops, changed)

    rows = response.context["rows"]
    assert [row.outcome for row in rows] == ["updated", "", "unchanged", "unchanged"]
    assert rows[0].updates == "Acme"
    assert response.context["outcomes"]["updated"] == 1


DELTA_CSV = (
    "Company name,Website,Number of Employees,Country\n"
    "Totally Different Corp,https://www.deltashiftfinance.example,300,US\n"
    "Delta Shift Finance,deltashiftfinance.example,310,US\n"
    "Airbnb Holdings,airbnb.com,5000,US\n"
    "New Co Zeta,zetanewco.example,50,DE\n"
)


def name_flags(account: Account) -> list[dict]:
    return [flag for flag in account.review_flags if flag["field"] == "name"]


def test_second_import_flags_other_name_again(ops, sdr2, django_capture_on_commit_callbacks):
    delta = Account.objects.create(
        name="Delta Shift Finance, LLC",
        name_key=company_name_key("Delta Shift Finance, LLC"),
        domain="deltashiftfinance.example",
        country="US",
    )
    token, first_preview = preview(ops, DELTA_CSV)
    first_run = start(ops, token, django_capture_on_commit_callbacks)
    ops.force_login(sdr2)

    token, second_preview = preview(ops, DELTA_CSV)
    second_run = start(ops, token, django_capture_on_commit_callbacks)

    delta.refresh_from_db()
    first_run.refresh_from_db()
    second_run.refresh_from_db()
    row = second_preview.context["rows"][0]
    [flag] = name_flags(delta)
    assert first_preview.context["rows"][0].status == "flagged"
    assert row.status == "flagged"
    assert row.updates == "Delta Shift Finance, LLC"
    assert any('"Totally Different Corp"' in problem for problem in row.problems)
    assert [row.status for row in second_preview.context["rows"][1:]] == ["ok", "ok", "ok"]
    assert first_run.flagged == 1
    assert second_run.flagged == 1
    assert flag["value"] == "Totally Different Corp"
    assert flag["import_run"] == second_run.pk


def test_preview_flag_speaks_of_future(ops):
    Account.objects.create(
        name="Delta Shift Finance, LLC",
        name_key=company_name_key("Delta Shift Finance, LLC"),
        domain="deltashiftfinance.example",
        country="US",
    )

    _token, response = preview(ops, DELTA_CSV)

    [problem] = response.context["rows"][0].problems
    assert "Its values will be recorded as observations of this account." in problem
    assert "were recorded" not in problem


def test_preview_flags_later_row_other_name(ops):
    Account.objects.create(
        name="Delta Shift Finance, LLC",
        name_key=company_name_key("Delta Shift Finance, LLC"),
        domain="deltashiftfinance.example",
        country="US",
    )
    content = (
        "Company name,Website,Number of Employees,Country\n"
        "Delta Shift Finance,deltashiftfinance.example,310,US\n"
        "Totally Different Corp,https://www.deltashiftfinance.example,300,US\n"
        "Totally Different Corp,deltashiftfinance.example,305,US\n"
    )

    _token, response = preview(ops, content)

    statuses = [row.status for row in response.context["rows"]]
    assert statuses == ["ok", "flagged", "ok"]
