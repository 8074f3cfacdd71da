import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import clean_company_name, company_name_key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Anvil Peak, Inc.", "Anvil Peak Inc"),
        ("Anvil Peak Inc", "ANVIL PEAK INC."),
        ("Anvil Peak, Inc.", "anvil peak"),
        ("Walmart ", "Walmart Inc."),
        ("Alphabet Inc. (Class A)", "Alphabet"),
        ("Alphabet Inc. Class C", "Alphabet"),
        ("Estée Lauder Companies (The)", "The Estée Lauder Companies Inc."),
        ("Estée Lauder Companies (The)", "Estee Lauder Companies"),
        ("Tiffany & Co.", "Tiffany"),
        ("JPMorgan Chase & Co.", "JPMorgan Chase"),
        ("AT&T Inc.", "AT & T"),
        ("AT&T", "AT and T"),
        ("Procter & Gamble Co", "Procter and Gamble"),
        ("Coca-Cola Company", "Coca Cola"),
        ("Acme Holdings, L.L.C.", "Acme Holdings LLC"),
        ("Banco Santander, S.A.", "Banco Santander"),
        ("Banco Santander, S. A.", "Banco Santander"),
        ("Equinor ASA", "Equinor"),
        ("Novo Nordisk A/S", "Novo Nordisk"),
        ("Ørsted A/S", "Orsted"),
        ("Siemens AG", "Siemens"),
        ("Henkel AG & Co. KGaA", "Henkel"),
        ("SAP SE", "SAP"),
        ("Acme GmbH", "Acme"),
        ("Acme Pty Ltd", "Acme"),
        ("Acme Pte. Ltd.", "Acme"),
        ("Infosys Private Limited", "Infosys"),
        ("Infosys Pvt. Ltd.", "Infosys"),
        ("Acme Sdn Bhd", "Acme"),
        ("Philips N.V.", "Philips"),
        ("Acme B.V.", "Acme"),
        ("Nokia Oyj", "Nokia"),
        ("Volvo AB", "Volvo"),
        ("Ferrari S.p.A.", "Ferrari"),
        ("Acme S.r.l.", "Acme"),
        ("Acme SARL", "Acme"),
        ("Toyota K.K.", "Toyota"),
        ("BP p.l.c.", "BP"),
        ("Acme LP", "Acme"),
        ("Acme LLP", "Acme"),
        ("Alibaba Group Holding Ltd ADR", "Alibaba Group Holding"),
        ("Acme Corp.", "Acme Corporation"),
        ("Acme Incorporated", "Acme"),
        ("Acme Limited", "Acme"),
        ("Acme Co., Ltd.", "Acme"),
        ("\u201cAcme\u201d Inc", "Acme"),
        ("Acme\u00a0 Rockets", "Acme Rockets"),
        ("Acme 🚀 Rockets", "Acme Rockets"),
        ("Acme Rockets[1]", "Acme Rockets"),
        ("ＡＣＭＥ", "Acme"),
        ("U.S. Bancorp", "US Bancorp"),
        ("Yahoo!", "Yahoo"),
        ("The Home Depot, Inc.", "Home Depot"),
    ],
)
def test_name_key_matches_same_company(first: str, second: str) -> None:
    assert company_name_key(first) == company_name_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Lowe’s", "Lowe's Companies"),
        ("Anvil Peak", "Anvil Labs"),
        ("Apple", "Apple Hospitality REIT"),
        ("Acme Holdings", "Acme"),
        ("Acme Group", "Acme"),
        ("Acme Technologies", "Acme"),
        ("Estée Lauder Companies", "Estée Lauder"),
        ("Meta", "Metal"),
        ("ガス", "カス"),
        ("Acme Private", "Acme"),
    ],
)
def test_name_key_keeps_companies_apart(first: str, second: str) -> None:
    assert company_name_key(first) != company_name_key(second)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Anvil Peak, Inc.", "anvil peak"),
        ("Estée Lauder Companies (The)", "estee lauder companies"),
        ("Lowe’s", "lowes"),
        ("Lowe's", "lowes"),
        ("AT&T Inc.", "at and t"),
        ("Alphabet Inc. (Class A)", "alphabet"),
        ("Inc.", "inc"),
        ("The", "the"),
        ("Company Inc", "company inc"),
        ("The Company", "the company"),
        ("🚀🚀", "🚀🚀"),
        ("", ""),
        ("  ", ""),
        ("Straße GmbH", "strasse"),
        ("株式会社トヨタ", "株式会社トヨタ"),
    ],
)
def test_name_key_exact_values(name: str, expected: str) -> None:
    assert company_name_key(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Anvil Peak  ", "Anvil Peak"),
        ("Anvil\u00a0\u00a0Peak", "Anvil Peak"),
        ("Anvil\n Peak\t", "Anvil Peak"),
        ("Anvil Peak[1]", "Anvil Peak"),
        ("Anvil Peak [note 2]", "Anvil Peak"),
        ("Estée Lauder Companies (The)", "The Estée Lauder Companies"),
        ("Estée Lauder Companies, The", "The Estée Lauder Companies"),
        ("Estée Lauder Companies (the)", "The Estée Lauder Companies"),
        ("Breathe", "Breathe"),
        ("Acme 🚀", "Acme 🚀"),
        ("👩\u200d💻 Devs", "👩\u200d💻 Devs"),
        ("Anvil\u200bPeak", "AnvilPeak"),
        ("Anvil\x00 Peak", "Anvil Peak"),
        ("Société Générale", "Société Générale"),
        ("שלום בע״מ", "שלום בע״מ"),
    ],
)
def test_clean_name_for_display(name: str, expected: str) -> None:
    assert clean_company_name(name) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_company_name_key_never_crashes(name: str) -> None:
    key = company_name_key(name)
    assert key == key.strip()
    if name.strip():
        assert key != "" or not any(char.isprintable() for char in name.strip())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_clean_company_name_never_crashes(name: str) -> None:
    cleaned = clean_company_name(name)
    assert cleaned == cleaned.strip()


def test_clean_name_decodes_references() -> None:
    assert clean_company_name("Johnson &amp; Johnson") == "Johnson & Johnson"
    assert clean_company_name("Proctor &#38; Gamble") == "Proctor & Gamble"
    assert clean_company_name("AT&T") == "AT&T"


def test_name_key_decodes_references() -> None:
    assert company_name_key("Johnson &amp; Johnson") == company_name_key("Johnson & Johnson")
