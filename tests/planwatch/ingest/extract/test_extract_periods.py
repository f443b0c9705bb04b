"""The extractor on plan documents of other periods (tests/fixtures/plans/other_periods/, synthetic):
the plan, the base, target and annual-target years come from the document, in every layout."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from planwatch.core.catalog import Catalog
from planwatch.ingest.extract import extract_document
from planwatch.ingest.extract.__main__ import main

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "plans"
OTHER = FIXTURES / "other_periods"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(FIXTURES / "reference")


def _years(row: dict[str, str]) -> tuple[str, str, str]:
    return row["plan"], row["baseline_year"], row["target_year"]


def test_cell_per_line_15th_plan_with_annual_targets_and_a_14th_completion_table(catalog: Catalog) -> None:
    result = extract_document(OTHER / "cell_per_line_15th_yearly.txt", catalog)
    assert result.layout == "cell_per_line" and result.messages == []
    first, second = result.rows
    assert _years(first) == ("15th", "2025", "2030")
    assert [first[f"target_{y}"] for y in range(2026, 2031)] == ["93", "94", "95", "96", "97"]
    assert (first["baseline_value"], first["target_value"], first["indicator_code"]) == ("92", "97", "TST_COVERAGE")
    assert "target_2025" not in first and "target_2021" not in first  # no columns of another period
    assert (second["indicator_code"], second["target_2028"]) == ("TST_BEDS", "43")
    # the 十四五 results the 15th plan prints: the previous plan, its last year
    assert [(c["plan"], c["target_year"], c["target_value"], c["actual_value"]) for c in result.completion] == [
        ("14th", "2025", "90", "92"), ("14th", "2025", "12", "11")]


def test_annual_target_years_not_printed_are_the_periods(catalog: Catalog) -> None:
    (row,) = extract_document(OTHER / "cell_per_line_15th_years_not_printed.txt", catalog).rows
    assert _years(row) == ("15th", "2025", "2030")
    assert [row[f"target_{y}"] for y in range(2026, 2031)] == ["93", "94", "95", "96", "97"]


def test_pipe_table_of_a_16th_plan_named_in_the_long_form(catalog: Catalog) -> None:
    result = extract_document(OTHER / "pipe_table_16th.txt", catalog)  # 第十六个五年规划
    assert result.layout == "pipe_table"
    assert [(_years(r), r["baseline_value"], r["target_value"], r["breakdown"]) for r in result.rows] == [
        (("16th", "2030", "2035"), "99", "100", "urban"), (("16th", "2030", "2035"), "90", "98", "")]


def test_flattened_15th_plan_splits_glued_digits_or_says_why_not(catalog: Catalog) -> None:
    result = extract_document(OTHER / "flattened_15th.txt", catalog)
    assert result.layout == "flattened"
    rows = {r["seq"]: r for r in result.rows}
    assert {_years(r) for r in rows.values()} == {("15th", "2025", "2030")}  # 十五五 in the title, not 十四五 after it
    assert (rows["1"]["baseline_value"], rows["1"]["target_value"]) == ("70", "90")
    assert (rows["3"]["baseline_value"], rows["3"]["target_value"]) == ("40", "45")
    assert rows["2"]["target_value"] == "" and "2 fitting readings" in rows["2"]["ambiguous"]


def test_prose_targets_without_a_year_take_the_periods_last_year(catalog: Catalog) -> None:
    result = extract_document(OTHER / "prose_15th.txt", catalog)
    got = {(p["indicator_code"], p["plan"], p["target_year"], p["target_value"]) for p in result.prose}
    assert got == {("TST_COVERAGE", "15th", "2030", "98"), ("TST_BEDS", "15th", "2030", "45"),
                   ("TST_STANDARD", "15th", "2030", "1200")}  # the last one names no year


def test_a_document_without_a_period_name_goes_by_the_target_year(catalog: Catalog) -> None:
    rows = extract_document(OTHER / "cell_per_line_no_period_name.txt", catalog).rows
    assert {_years(r) for r in rows} == {("15th", "2025", "2030")}


def test_a_target_year_that_ends_no_period_is_left_for_the_reviewer(catalog: Catalog, tmp_path: Path) -> None:
    doc = tmp_path / "odd.txt"
    doc.write_text((OTHER / "cell_per_line_no_period_name.txt").read_text(encoding="utf-8")
                   .replace("2030年目标值", "2027年目标值"), encoding="utf-8")
    result = extract_document(doc, catalog)
    assert {r["plan"] for r in result.rows} == {""}
    assert any("plan period not recognised" in m and "fill in `plan`" in m for m in result.messages)


def test_cli_writes_the_documents_annual_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(OTHER / "cell_per_line_15th_yearly.txt"), "--reference-dir", str(FIXTURES / "reference")]) == 0
    reader = csv.DictReader(io.StringIO(capsys.readouterr().out))
    header = reader.fieldnames or []
    assert [c for c in header if c.startswith("target_2")] == [f"target_{y}" for y in range(2026, 2031)]
    assert [r["target_2030"] for r in reader] == ["97", "45"]


def test_a_15th_plan_draft_loads_with_its_own_annual_columns(planwatch_home: Path) -> None:
    import duckdb

    from planwatch.core.config import Settings
    from planwatch.ingest.load_plans import load_plans
    from planwatch.core.periods import Quarter
    from planwatch.core.types import RunContext

    settings = Settings.from_env()
    # the real catalog has no 示例市: name the region with --region-code's equivalent, a real city's file name
    text = (OTHER / "cell_per_line_15th_yearly.txt").read_text(encoding="utf-8").replace("示例市", "昆山市")
    (settings.plans_dir / "kunshan_15th.txt").write_text(text, encoding="utf-8")
    metrics = load_plans(settings, RunContext("t", Quarter(2026, 2)))
    assert metrics["draft_rows"] == 2
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        rows = con.execute("select plan, target_2025, target_2030 from raw.plan_indicators "
                           "where review_status = 'draft' order by seq").fetchall()
        reviewed = con.execute("select count(*) from raw.plan_indicators where review_status = 'reviewed' "
                               "and target_2021 is not null").fetchone()
    finally:
        con.close()
    assert rows == [("15th", None, "97"), ("15th", None, "45")]
    assert reviewed == (17,)  # Jinjiang's annual targets of the 14th plan are still there
