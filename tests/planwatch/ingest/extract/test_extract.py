"""The extractor on small synthetic plan documents (tests/fixtures/plans/, no real prose)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from planwatch.core.catalog import Catalog
from planwatch.core.errors import FileRefused
from planwatch.ingest.extract import extract_document
from planwatch.ingest.extract.__main__ import main
from planwatch.ingest.extract.detect import detect_layout
from planwatch.ingest.extract.glued import ValueRules, split
from planwatch.ingest.extract.header import parse_header

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "plans"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(FIXTURES / "reference")


def by_seq(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["seq"] or r["indicator_name"]: r for r in rows}


def test_no_table_gives_zero_rows_and_says_so(catalog: Catalog) -> None:
    result = extract_document(FIXTURES / "no_table_prose_only.txt", catalog)
    assert result.layout == "prose"
    assert result.rows == [] and result.completion == [] and result.prose == []
    assert any("no indicator table found" in m for m in result.messages)
    assert result.region_code == "990100"


def test_cell_per_line_joins_broken_names_and_keeps_missing_values_empty(catalog: Catalog) -> None:
    result = extract_document(FIXTURES / "cell_per_line_broken_name.txt", catalog)
    assert result.layout == "cell_per_line"
    rows = by_seq(result.rows)
    assert list(rows) == ["1", "2", "3", "4"]
    first = rows["1"]
    assert first["indicator_name"] == "示例服务覆盖率"  # printed over two lines
    assert (first["baseline_value"], first["target_value"]) == ("", "90")  # '--' stays empty
    assert first["indicator_code"] == "TST_COVERAGE" and first["attribute"] == "binding"
    assert first["source_line"] == "10"  # the line of the sequence number
    assert first["ambiguous"] == ""
    assert (rows["2"]["baseline_value"], rows["2"]["target_value"]) == ("", "12")  # '*' stays empty
    lone = rows["3"]
    assert (lone["baseline_value"], lone["target_value"]) == ("", "35")
    assert "one value for 2 columns" in lone["ambiguous"]
    unknown = rows["4"]
    assert unknown["indicator_code"] == "" and "not in the alias table" in unknown["notes"]
    assert (unknown["baseline_year"], unknown["target_year"]) == ("2020", "2025")


def test_pipe_table_carries_category_and_reads_breakdown(catalog: Catalog) -> None:
    result = extract_document(FIXTURES / "pipe_table_category_span.txt", catalog)
    assert result.layout == "pipe_table"
    got = [(r["category"], r["indicator_name"], r["breakdown"], r["baseline_value"], r["target_value"],
            r["source_line"]) for r in result.rows]
    assert got == [
        ("社会救助", "城市居民保障率", "urban", "98", "100", "11"),
        ("社会救助", "农村保障率", "rural", "", "100", "17"),
        ("社会事务", "示例服务覆盖率", "", "50", "80", "24"),
    ]


def test_flattened_splits_glued_digits_by_rules_and_flags_the_rest(catalog: Catalog) -> None:
    path = FIXTURES / "flattened_glued_digits.txt"
    text = path.read_text(encoding="utf-8")
    result = extract_document(path, catalog)
    assert result.layout == "flattened"
    rows = by_seq(result.rows)
    assert (rows["1"]["baseline_value"], rows["1"]["target_value"], rows["1"]["ambiguous"]) == ("55", "70", "")
    assert rows["1"]["category"] == rows["2"]["category"] == "甲类"
    assert (rows["2"]["baseline_value"], rows["2"]["target_value"]) == ("2", "18")
    assert "every cell filled" in rows["2"]["ambiguous"]
    assert (rows["3"]["baseline_value"], rows["3"]["target_value"]) == ("", "100")
    assert rows["3"]["ambiguous"]
    undecided = rows["4"]
    assert (undecided["baseline_value"], undecided["target_value"]) == ("", "")
    assert "fitting readings" in undecided["ambiguous"]
    for row in result.rows:  # offsets are Python str indices into the whole document
        offset = int(row["source_line"])
        assert text[offset:offset + len(row["indicator_name"])] == row["indicator_name"]


def test_prose_targets_keep_redacted_values_empty_and_skip_the_background(catalog: Catalog) -> None:
    result = extract_document(FIXTURES / "prose_goals_redacted.txt", catalog)
    got = [(p["indicator_name"], p["target_value"], p["unit"], p["comparator"], p["source_line"],
            p["indicator_code"]) for p in result.prose]
    assert got == [
        ("示例服务覆盖率", "95", "%", ">=", "3", "TST_COVERAGE"),
        ("每千名老人拥有床位数", "40", "张", ">=", "3", "TST_BEDS"),
        ("救助标准", "", "元/月", ">=", "3", "TST_STANDARD"),
    ]
    assert "redacted" in result.prose[2]["ambiguous"]


@pytest.mark.parametrize(("digits", "unit_bounds", "direction", "want", "flagged"), [
    ("5570", (0, 100), "", ("55", "70"), False),
    ("100100", (0, 100), "", ("100", "100"), False),
    ("99.87100", (0, 100), "", ("99.87", "100"), False),
    ("100", (0, 100), "increase", ("", "100"), False),  # 10/0 falls to the direction rule
    ("16.950", (0, 100), "increase", ("16.9", "50"), False),  # '6.950' is not a printed number
    ("218", (None, None), "increase", ("2", "18"), True),
    ("1590", (None, None), "", ("", ""), True),
])
def test_glued_digit_rules(digits: str, unit_bounds: tuple[float | None, float | None], direction: str,
                           want: tuple[str, str], flagged: bool) -> None:
    rules = ValueRules(unit_bounds[0], unit_bounds[1], False, direction, "test")
    values, reason = split(digits, ["baseline", "target"], rules)
    assert (values["baseline"], values["target"]) == want
    assert bool(reason) == flagged


def test_headers_name_their_columns() -> None:
    spec = parse_header("序号主要指标单位2020年度目标值指标属性20212022202320242025")
    assert spec is not None and spec.kind == "indicators"
    assert spec.roles == ["seq", "name", "unit", "baseline", "target_2021", "target_2022", "target_2023",
                          "target_2024", "target_2025", "attribute"]
    completion = parse_header("序号项目和指标计量单位20152020年目标值2020年完成情况")
    assert completion is not None and completion.kind == "completion"
    assert (completion.baseline_year, completion.target_year) == ("2015", "2020")
    assert parse_header("单位属性") is None


def test_layout_detection() -> None:
    assert detect_layout("标题\n" + "正文" * 200) == "flattened"
    assert detect_layout("a |\n" * 6) == "pipe_table"
    assert detect_layout("标题\n序号\n指标名称\n") == "cell_per_line"
    assert detect_layout("标题\n正文。\n") == "prose"


def test_unreadable_document_is_refused_with_its_name(tmp_path: Path, catalog: Catalog) -> None:
    bad = tmp_path / "gbk_plan.txt"
    bad.write_bytes("序号".encode("gbk"))
    with pytest.raises(FileRefused, match="gbk_plan.txt"):
        extract_document(bad, catalog)


def test_cli_writes_csv_with_ambiguous_column_and_counts_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(FIXTURES / "flattened_glued_digits.txt"), "--reference-dir", str(FIXTURES / "reference")])
    out, err = capsys.readouterr()
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 and "ambiguous" in rows[0]
    assert "4 rows found, 3 ambiguous" in err


def test_cli_region_override_and_no_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(FIXTURES / "no_table_prose_only.txt"), "--completion", "--region-code", "990000",
                 "--reference-dir", str(FIXTURES / "reference")])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0].startswith("region_code,region_name,plan,seq")
    assert len(out.splitlines()) == 1
    assert "no indicator table found" in err and "region 990000" in err
