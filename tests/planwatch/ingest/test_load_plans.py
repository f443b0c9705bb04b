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
