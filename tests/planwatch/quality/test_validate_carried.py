"""The plan rules read no statistics: their rows are kept between runs (Suite.inputs) and computed
again only when a table they read, or their SQL, changed. The findings must be those of a check from
scratch, and the run must say which it did."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_validate_kept_batch import _apply, _run, _settings, clean  # noqa: E402,F401  (clean: the fixture)

from planwatch.core.periods import Quarter  # noqa: E402
from planwatch.core.suites import load_suites  # noqa: E402
from planwatch.quality import validate  # noqa: E402

SCHEMAS = ("raw", "staging", "intermediate", "marts", "bi", "audit")


def _plan_suite(settings) -> object:  # noqa: ANN001
    params = validate._params(settings, validate.RunContext("x", Quarter.parse("2024Q4")), {})
    return next(s for s in load_suites(settings).raw_suites(params) if s.inputs)


def test_inputs_name_every_table_the_plan_rules_read(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    """A table read but not listed would let its change go unseen and the rows be kept wrongly."""
    suite = _plan_suite(_settings(tmp_path, clean))
    sql = " ".join([suite.batch_sql, *(r.query or "" for r in suite.rules)])
    read = {f"{s}.{t}" for s, t in re.findall(r"\b(" + "|".join(SCHEMAS) + r")\.([a-z_]+)\b", sql)}
    assert read == set(suite.inputs)
    assert all(r.query is not None for r in suite.rules), "a built-in rule reads the batch itself"


def _log_of(caplog: pytest.LogCaptureFixture) -> str:
    return " ".join(r.getMessage() for r in caplog.records if r.getMessage().startswith("rules of plan_consistency"))


def test_plan_rules_rows_kept_while_their_inputs_are_unchanged(tmp_path: Path, clean: tuple[Path, Path],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, clean)
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        first = _run(settings, "q3", "2024Q3")
    assert "computed" in _log_of(caplog)
    plan = {k: v for k, v in first.items() if k[0] == "plan_consistency"}
    assert len(plan) == 6

    # a new quarter of statistics: the plan rules' rows are kept, their findings the same
    caplog.clear()
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        kept = _run(settings, "q4", "2024Q4")
    assert "6 rules' rows kept, their inputs unchanged" in _log_of(caplog)
    assert {k: v for k, v in kept.items() if k[0] == "plan_consistency"} == plan
    assert kept == _run(settings, "q4-fresh", "2024Q4", afresh=True)

    # a plan value out of its unit's bounds, and a catalog bound moved: computed again, as from scratch
    _apply(settings, "update raw.plan_indicators set target_value = '140' "
                     "where region_code = '110101' and indicator_code = 'ELD_NURSING_BED_SHARE'")
    caplog.clear()
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        changed = _run(settings, "q4-plan", "2024Q4")
    assert "computed" in _log_of(caplog)
    within = changed[("plan_consistency", "plan_value_within_unit")]
    assert within[:3] == ("error", False, 1) and '"field": "target_value"' in within[3][0]
    assert changed == _run(settings, "q4-plan-fresh", "2024Q4", afresh=True)

    _apply(settings, "update raw.indicator_rules set upper_bound = 150 where indicator_code = 'ELD_NURSING_BED_SHARE'")
    moved = _run(settings, "q4-bound", "2024Q4")
    assert moved[("plan_consistency", "plan_value_within_unit")][:3] == ("error", True, 0)
    assert moved == _run(settings, "q4-bound-fresh", "2024Q4", afresh=True)


def test_plan_rules_computed_again_when_their_kept_rows_are_gone(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    """A kept table dropped (or a file from an older version without them) is computed, never read empty."""
    import duckdb

    settings = _settings(tmp_path, clean)
    _apply(settings, "update raw.plan_indicators set target_value = '140' "
                     "where region_code = '110101' and indicator_code = 'ELD_NURSING_BED_SHARE'")
    first = _run(settings, "q3", "2024Q3")
    con = duckdb.connect(str(validate._kept_batches(settings, "validate_raw")))
    try:
        con.execute('drop table "plan_consistency__plan_value_within_unit"')
    finally:
        con.close()
    again = _run(settings, "q3-again", "2024Q3")
    assert again[("plan_consistency", "plan_value_within_unit")][:3] == ("error", False, 1)
    assert again == first
