"""The plan loader: reviewed files load exactly as printed, drafts are marked, bad files named."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.errors import FileRefused
from planwatch.ingest.load_plans import load_plans
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

from tests.conftest import SEEDS_DIR

RUN = RunContext("test", Quarter(2023, 4))


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_reviewed_files_load_as_printed(planwatch_home: Path) -> None:
    settings = Settings.from_env()
    metrics = load_plans(settings, RUN)
    assert metrics["plan_indicators_files"] == 4
    assert metrics["plan_indicators_rows"] == 68
    assert metrics["plan_completion_rows"] == 51
    assert metrics["rows_unresolved_code"] == 0
    # Taizhou's glued `%5570约束性`: 55 then 70, binding, with the character offset as provenance.
    row = _rows(settings, "select baseline_value, target_value, attribute, source_doc, review_status "
                          "from raw.plan_indicators where region_code = '321200' "
                          "and indicator_code = 'ELD_NURSING_BED_SHARE'")
    assert row == [("55", "70", "binding", "001_b69c0901349877a0.txt", "reviewed")]
    # Values stay strings exactly as printed; nothing is filled in.
    assert _rows(settings, "select count(*) from raw.plan_indicators where baseline_value = '99.87'") == [(1,)]


def test_reload_replaces_instead_of_appending(planwatch_home: Path) -> None:
    settings = Settings.from_env()
    load_plans(settings, RUN)
    load_plans(settings, RUN)
    assert _rows(settings, "select count(*) from raw.plan_indicators") == [(68,)]


def test_unchanged_files_are_not_reloaded_and_an_edit_is(planwatch_home: Path) -> None:
    settings = Settings.from_env()
    assert load_plans(settings, RUN)["unchanged"] is False
    again = load_plans(settings, RUN)
    assert again["unchanged"] is True and again["plan_indicators_rows"] == 68
    # A corrected figure in one reviewed file is picked up by the next load.
    path = settings.plan_indicators_dir / "321200_14th.csv"
    text = path.read_text(encoding="utf-8-sig")
    assert ",55,2025,70," in text
    path.write_text(text.replace(",55,2025,70,", ",55,2025,72,", 1), encoding="utf-8")
    assert load_plans(settings, RUN)["unchanged"] is False
    assert _rows(settings, "select target_value from raw.plan_indicators where region_code = '321200' "
                           "and indicator_code = 'ELD_NURSING_BED_SHARE'") == [("72",)]
    # A table dropped by hand is reloaded even though the files did not change.
    con = duckdb.connect(str(settings.ingest_db))
    con.execute("drop table raw.plan_completion")
    con.close()
    assert load_plans(settings, RUN)["unchanged"] is False
    assert _rows(settings, "select count(*) from raw.plan_completion") == [(51,)]


def test_a_home_moved_elsewhere_loads_nothing_again(planwatch_home: Path, tmp_path: Path) -> None:
    """The input digest names the files relative to raw/ (and the code relative to its folder), so a home
    copied or moved to another folder finds its tables current; a renamed file still counts as a change."""
    settings = Settings.from_env()
    assert load_plans(settings, RUN)["unchanged"] is False
    moved = Settings(home=tmp_path / "moved")
    shutil.copytree(settings.home, moved.home, symlinks=True)
    assert load_plans(moved, RUN)["unchanged"] is True
    path = moved.plan_indicators_dir / "321200_14th.csv"
    path.rename(path.with_name("321200_14th_renamed.csv"))
    assert load_plans(moved, RUN)["unchanged"] is False


def test_a_file_missing_a_column_is_refused_with_its_name(planwatch_home: Path) -> None:
    settings = Settings.from_env()
    bad = settings.plan_indicators_dir / "999999_14th.csv"
    bad.write_text("region_code,indicator_name\n999999,x\n", encoding="utf-8")
    with pytest.raises(FileRefused) as info:
        load_plans(settings, RUN)
    assert "999999_14th.csv" in str(info.value)
    assert "line 1: missing column(s)" in str(info.value) and "target_value" in str(info.value)


def test_new_plan_document_without_review_loads_as_draft(planwatch_home: Path) -> None:
    seed = SEEDS_DIR / "003_08dbb03ef6697d3a.txt"
    if not seed.exists():
        pytest.skip(f"seed documents not found at {SEEDS_DIR}")
    settings = Settings.from_env()
    # Zunyi's reviewed file is removed, so its document is new to the warehouse.
    (settings.plan_indicators_dir / "520300_14th.csv").unlink()
    shutil.copy(seed, settings.plans_dir / seed.name)
    metrics = load_plans(settings, RUN)
    assert metrics["draft_rows"] == 14
    drafts = _rows(settings, "select distinct region_code, review_status, source_file "
                             "from raw.plan_indicators where review_status = 'draft'")
    assert drafts == [("520300", "draft", f"plans/{seed.name}")]


def test_plan_rows_written_in_batches_give_the_same_tables(planwatch_home: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader writes plan rows in batches (a 4x refresh held 2.9 GiB of them at once): one row
    per batch, with a file whose annual columns appear only half-way (target_2030), gives the
    tables, columns and rows in order, of one batch for everything."""
    from planwatch.ingest import load_plans as module

    plans = planwatch_home / "raw" / "plan_indicators"
    text = (plans / "321200_14th.csv").read_text(encoding="utf-8")
    (plans / "321200_x.csv").write_text(text.replace("target_2025", "target_2030", 1), encoding="utf-8")
    settings = Settings.from_env()
    tables = ("plan_indicators", "plan_completion", "plan_prose_targets")
    results = []
    for batch in (1_000_000, 1):
        monkeypatch.setattr(module._StagedRows, "BATCH", batch)
        settings.ingest_db.unlink(missing_ok=True)
        metrics = load_plans(settings, RUN)
        con = duckdb.connect(str(settings.ingest_db), read_only=True)
        try:
            results.append((metrics, {t: ([c[0] for c in con.execute(f"describe raw.{t}").fetchall()],
                                          con.execute(f"select * from raw.{t}").fetchall()) for t in tables}))
        finally:
            con.close()
    (one_metrics, one), (many_metrics, many) = results
    assert one == many and one_metrics == many_metrics
    columns, rows = one["plan_indicators"]
    assert len(rows) == one_metrics["plan_indicators_rows"] > 68
    annual = [c for c in columns if c.startswith("target_2")]
    assert annual == ["target_2021", "target_2022", "target_2023", "target_2024", "target_2025", "target_2030"]
    assert columns[-2:] == ["review_status", "source_file"]


def test_plan_cells_read_column_by_column_as_the_rows_were(planwatch_home: Path) -> None:
    """The loader reads a plan file column by column (no dict per row): a short row reads '' (NULL)
    in its missing columns, cells beyond the header are dropped, blank lines skipped, cells
    stripped, and a file with a header only adds no rows."""
    settings = Settings.from_env()
    plans = settings.plan_indicators_dir
    text = (plans / "321200_14th.csv").read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    width = len(header.split(","))
    columns = header.split(",")
    first = ["990001", " 测试县 ", "14th", "1"] + [""] * (width - 4)
    code_at = columns.index("indicator_code")
    first[code_at] = "ELD_NURSING_BED_SHARE"
    (plans / "990001_14th.csv").write_text(
        header + "\n" + ",".join(first) + ",extra,cells\n\n" + "990001,短行\n", encoding="utf-8")
    (plans / "990002_14th.csv").write_text(header + "\n", encoding="utf-8")
    metrics = load_plans(settings, RUN)
    assert metrics["plan_indicators_rows"] == 68 + 2
    rows = _rows(settings, "select region_name, plan, seq, indicator_code, source_file from raw.plan_indicators "
                           "where region_code = '990001' order by seq nulls last")
    assert rows == [("测试县", "14th", "1", "ELD_NURSING_BED_SHARE", "plan_indicators/990001_14th.csv"),
                    ("短行", None, None, None, "plan_indicators/990001_14th.csv")]
    assert metrics["rows_unresolved_code"] == 1  # the short row has no indicator_code
    assert metrics["plan_indicators_files"] == 6


def test_plain_files_split_by_arrow_load_as_the_csv_module_reads_them(planwatch_home: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Files without quotes are split together by Arrow (planwatch.ingest.plan_text), the others by the csv
    module in their turn. With both among them, split in one batch or in many, the tables (columns, rows
    and their order), the metrics and the warnings about unknown codes equal those of the csv module
    reading every file: Unicode whitespace stripped as str.strip strips it, short rows, cells beyond the
    header, blank and blank-looking lines, a BOM, no final newline, a name given twice, a header only,
    a header with a later year, a file with quotes and one with CRLF between the plain ones."""
    from planwatch.ingest import load_plans as module

    plans = planwatch_home / "raw" / "plan_indicators"
    header = (plans / "321200_14th.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    width = len(header)

    def row(region: str, seq: str, code: str, name: str, **cells: str) -> list[str]:
        values = dict(zip(header, [""] * width), region_code=region, plan="14th", seq=seq, indicator_code=code,
                      indicator_name=name, **cells)
        return [values[c] for c in header]

    def line(cells: list[str]) -> str:
        return ",".join(cells)

    spaces = "\u3000\xa0\t\x1c\x85\u2028 \x0b"
    plain = [line(header)] + [
        line(row("990001", f"{spaces}1{spaces}", "ELD_NURSING_BED_SHARE", " 养老床位\u3000", target_value=" 70 ")),
        line(row("990001", "2", "NOT_A_CODE", "未知", notes="a\u2028b\\c")),
        "", "   ", line(row("990001", "3", "", "")) + ",beyond,the,header",
        "990001,短行", "",
    ]
    (plans / "990001_14th.csv").write_text("\ufeff" + "\n".join(plain) + "\n", encoding="utf-8")
    (plans / "990002_14th.csv").write_text("\n".join(plain[:3]), encoding="utf-8")  # no final newline
    twice = header + ["notes", ""]
    (plans / "990003_14th.csv").write_text(
        line(twice) + "\n" + line(row("990003", "1", "NOT_A_CODE", "x") + ["second notes", "nameless"]) + "\n",
        encoding="utf-8")
    (plans / "990004_14th.csv").write_text(line(header) + "\n", encoding="utf-8")
    (plans / "990005_14th.csv").write_text(line(header), encoding="utf-8")
    later = [c.replace("target_2025", "target_2030") for c in header]
    (plans / "990006_14th.csv").write_text(line(later) + "\n" + line(row("990006", "1", "X", "y")) + "\n",
                                           encoding="utf-8")
    (plans / "990007_14th.csv").write_text(line(header) + "\n" + line(row("990007", "1", "Q", '"q"')) + "\n",
                                           encoding="utf-8")
    (plans / "990008_14th.csv").write_text(line(header) + "\r\n" + line(row("990008", "1", "R", "r")) + "\r\n",
                                           encoding="utf-8")
    (plans / "990009_14th.csv").write_text("\n".join(plain), encoding="utf-8")
    settings = Settings.from_env()
    plain_files = []
    read_plain = module.read_plain

    def counted(path: Path, required: list[str]) -> object:
        text = read_plain(path, required)
        if text is not None:
            plain_files.append(path.name)
        return text

    results = []
    for variant in ("one batch", "a batch per file", "csv module only"):
        monkeypatch.setattr(module, "PLAIN_BATCH_CHARS", 1 if variant == "a batch per file" else 4_000_000)
        monkeypatch.setattr(module, "read_plain", (lambda path, required: None) if variant == "csv module only"
                            else counted)
        settings.ingest_db.unlink(missing_ok=True)
        caplog.clear()
        metrics = load_plans(settings, RUN)
        warnings = [r.getMessage() for r in caplog.records if "is not in raw/reference" in r.getMessage()]
        con = duckdb.connect(str(settings.ingest_db), read_only=True)
        try:
            tables = {t: (con.execute(f"describe raw.{t}").fetchall(), con.execute(f"select * from raw.{t}").fetchall())
                      for t in ("plan_indicators", "plan_completion", "plan_prose_targets")}
        finally:
            con.close()
        metrics.pop("seconds", None)
        results.append((metrics, warnings, tables))
    assert results[0] == results[1] == results[2]
    assert sorted({f for f in plain_files if f.startswith("99")}) == ["990001_14th.csv", "990002_14th.csv", "990003_14th.csv", "990004_14th.csv",
                                        "990005_14th.csv", "990006_14th.csv", "990009_14th.csv"]
    metrics, warnings, tables = results[0]
    assert metrics["rows_unresolved_code"] == len(warnings) == 13
    columns = [c[0] for c in tables["plan_indicators"][0]]
    got = [dict(zip(columns, r)) for r in tables["plan_indicators"][1]
           if r[columns.index("source_file")] == "plan_indicators/990001_14th.csv"]
    assert [(r["seq"], r["indicator_name"], r["target_value"]) for r in got] == [
        ("1", "养老床位", "70"), ("2", "未知", None), (None, None, None), ("3", None, None), (None, None, None)]
    assert got[1]["notes"] == "a\u2028b\\c" and got[2]["region_code"] is None and got[4]["region_name"] == "短行"
    assert "target_2030" in columns
