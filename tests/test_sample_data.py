from accounts.sample_data import APOLLO_COLUMNS, generate_companies


def test_sample_data_is_deterministic():
    first = list(generate_companies(200, seed=7))
    second = list(generate_companies(200, seed=7))
    assert first == second


def test_sample_data_seed_changes_rows():
    assert list(generate_companies(50, seed=1)) != list(generate_companies(50, seed=2))


def test_sample_data_rows_have_apollo_columns():
    for row in generate_companies(100):
        assert tuple(row) == APOLLO_COLUMNS


def test_sample_data_contains_messy_values():
    rows = list(generate_companies(2000))
    employee_cells = [row["# Employees"] for row in rows]
    assert any("-" in cell for cell in employee_cells)
    assert any(cell.endswith("K+") for cell in employee_cells)
    assert any("contractors" in cell for cell in employee_cells)
    assert any(cell == "" for cell in employee_cells)
    assert any(row["Annual Revenue"].startswith("€") for row in rows)
    assert any(row["Company Country"] == "" for row in rows)


def test_sample_data_repeats_some_companies():
    rows = list(generate_companies(2000))
    assert any(row["Website"].startswith("HTTP://WWW.") for row in rows)
