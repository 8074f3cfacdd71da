from django.urls import reverse

from accounts.models import REVIEW_FLAG_IMPORT_KEY, REVIEW_FLAG_LINES_KEY
from accounts.templatetags.account_tags import review_flag_text


def test_file_conflict_flag_reads_as_sentence():
    flag = {
        "field": "industry",
        "value": "Retail",
        "message": 'line 5 gives industry "Retail", but line 2 gave "SaaS".',
        REVIEW_FLAG_LINES_KEY: [2, 5],
        REVIEW_FLAG_IMPORT_KEY: 13,
    }

    text = str(review_flag_text(flag))

    assert text.startswith("<strong>Industry</strong> “Retail” (file lines 2 and 5, ")
    url = reverse("accounts:import-detail", args=[13])
    assert f'<a href="{url}">import 13</a>' in text
    assert text.endswith(
        "): line 5 gives industry &quot;Retail&quot;, but line 2 gave &quot;SaaS&quot;."
    )
    assert "[2, 5]" not in text


def test_flag_keeps_unknown_keys():
    text = str(review_flag_text({"field": "revenue", "raw": "10M-ish", "reason": "not a number"}))

    assert text.startswith("<strong>Revenue</strong>")
    assert "10M-ish" in text
    assert "not a number" in text


def test_plain_text_flag_unchanged():
    assert review_flag_text("Revenue lots could not be read.") == "Revenue lots could not be read."


def test_flag_value_escaped():
    text = str(review_flag_text({"field": "name", "value": "<script>x</script>"}))

    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_flag_value_shows_tab():
    text = str(review_flag_text({"field": "employees", "value": "a\thandful", "message": "x"}))

    assert "“a\\thandful”" in text
    assert "\t" not in text
