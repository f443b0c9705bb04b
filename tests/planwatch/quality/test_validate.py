"""The data-quality gate: every rule fires on a fixture that breaks it, with its severity, and a
blocking failure leaves the published warehouse byte-for-byte as it was."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "dq"))
import dqdata  # noqa: E402

from planwatch.serve import publish as publish_mod  # noqa: E402
from planwatch.run import pipeline, runlog  # noqa: E402
from planwatch.quality import validate  # noqa: E402
from planwatch.core.config import Settings  # noqa: E402
from planwatch.core.errors import ChecksFailed, ConfigError  # noqa: E402
from planwatch.core.periods import Quarter  # noqa: E402
from planwatch.core.types import RunContext  # noqa: E402

RUN = RunContext("run_2024Q4", Quarter.parse(dqdata.RUN_QUARTER))

# fixture (bad/<target>/<defect>.sql) -> (suite, expectation, severity, a value the sample must show)
CASES = {
    "ingest/share_above_100_percent": ("raw_statistics", "value_within_catalog_bounds", "error", "110101"),
    "ingest/per_mille_above_1000": ("raw_statistics", "value_within_catalog_bounds", "error", "110102"),
    "ingest/negative_count": ("raw_statistics", "value_within_catalog_bounds", "error", "110105"),
    "ingest/negative_amount": ("raw_statistics", "value_within_catalog_bounds", "error", "AST_DIBAO_STANDARD"),
    "ingest/growth_below_catalog_lower_bound": ("raw_statistics", "value_within_catalog_bounds", "error",
                                                "SOC_ORG_GROWTH"),
    "ingest/fractional_count": ("raw_statistics", "count_values_integral", "error", "2024Q1"),
    "ingest/ratio_disagrees_with_components": ("raw_statistics", "ratio_matches_components", "error", "2023Q3"),
    "ingest/unknown_region_code": ("raw_statistics", "region_code_known", "error", "999999"),
    "ingest/unknown_indicator_code": ("raw_statistics", "indicator_code_known", "error", "ELD_UNKNOWN_THING"),
    "ingest/missing_quarter": ("raw_statistics", "complete_for_closed_quarters", "warn", "2024Q3"),
    "ingest/stock_jump": ("raw_statistics", "stock_quarter_jump", "warn", "110105"),
    "ingest/outside_history": ("raw_statistics", "value_within_region_history", "warn", "110102"),
    "ingest/binding_without_target": ("plan_consistency", "binding_indicator_has_target", "error", "110101"),
    "ingest/target_wrong_side_of_baseline": ("plan_consistency", "target_direction_matches_baseline", "error",
                                             "AST_DIBAO_PERSONS"),
    "ingest/maintain_target_differs": ("plan_consistency", "target_direction_matches_baseline", "error",
                                       "CHD_ORPHAN_PLACEMENT"),
    "ingest/annual_targets_not_monotonic": ("plan_consistency", "annual_targets_monotonic", "warn", "110105"),
    "ingest/plan13_actual_differs_from_plan14_baseline": ("plan_consistency",
                                                          "previous_plan_actual_matches_baseline", "warn", "110101"),
    "ingest/plan_target_above_unit": ("plan_consistency", "plan_value_within_unit", "error", "target_value"),
    "ingest/plan_unknown_indicator": ("plan_consistency", "plan_codes_known", "error", "ELD_MADE_UP"),
    "candidate/printed_baseline_differs_from_previous_actual": ("plan_bases",
                                                                "printed_baseline_matches_previous_plan_actual",
                                                                "warn", "110101"),
    "candidate/progress_actual_above_bound": ("fct_indicator_progress", "values_within_catalog_bounds", "error",
                                              "actual_value"),
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clean ingest store and candidate, built once and copied by each test."""
    root = tmp_path_factory.mktemp("dq_clean")
    ingest = dqdata.build_ingest(root / "ingest.duckdb")
    candidate = dqdata.build_candidate(root / "candidate.duckdb", ingest)
    return ingest, candidate


def _settings(tmp_path: Path, clean: tuple[Path, Path], published: bool = True) -> Settings:
    settings = Settings(home=tmp_path)
    settings.ensure_dirs()
    shutil.copy2(clean[0], settings.ingest_db)
    shutil.copy2(clean[1], settings.candidate_db(RUN.run_id))
    if published:  # an earlier run's warehouse, which a failed run must leave alone
        shutil.copy2(clean[1], settings.published_db)
    return settings


def _findings(settings: Settings) -> dict[tuple[str, str], tuple]:
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        rows = con.execute("select suite, expectation, severity, success, unexpected_count, sample "
                           "from audit.dq_results where run_id = ?", [RUN.run_id]).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): r[2:] for r in rows}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rule_count(settings: Settings, kind: str) -> int:
    suites = validate.load_suites(settings)
    params = validate._params(settings, RUN, {})
    return sum(len(s.rules) for s in getattr(suites, f"{kind}_suites")(params))


def test_clean_data_passes_every_rule(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    settings = _settings(tmp_path, clean, published=False)
    # through the pipeline, which records what the stage returns in the run log
    raw = pipeline.run_stage("validate_raw", str(RUN.quarter), RUN.run_id, settings)
    marts = validate.validate_marts(settings, RUN)
    assert raw["expectations"] == _rule_count(settings, "raw") == 14
    assert raw["passed"] == raw["expectations"] and raw["failed_error"] == raw["failed_warn"] == 0
    assert marts["expectations"] == _rule_count(settings, "mart") and marts["passed"] == marts["expectations"]
    findings = _findings(settings)
    assert len(findings) == raw["expectations"] + marts["expectations"]
    assert all(f[1] for f in findings.values())
    # the superseded 140 % (older file_seq) and the 2025Q1 row (after the run's quarter) were not judged
    assert findings[("raw_statistics", "value_within_catalog_bounds")][2] == 0
    assert (settings.reports_dir / "data_docs" / "index.html").exists()
    index = (settings.reports_dir / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert "raw_statistics" in index and "fct_indicator_progress" in index
    run = runlog.read_run(settings, RUN.run_id)
    assert run is not None and run["metrics"]["validate_raw"]["passed"] == 14


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_reports_its_fixture(tmp_path: Path, clean: tuple[Path, Path], case: str) -> None:
    suite, expectation, severity, key = CASES[case]
    settings = _settings(tmp_path, clean)
    before = _sha(settings.published_db)
    target, defect = case.split("/")
    dqdata.apply_sql(settings.ingest_db if target == "ingest" else settings.candidate_db(RUN.run_id),
                     dqdata.BAD / target / f"{defect}.sql")

    validate.validate_raw(settings, RUN)
    validate.validate_marts(settings, RUN)

    found_severity, success, unexpected, sample = _findings(settings)[(suite, expectation)]
    assert (found_severity, success) == (severity, False)
    assert unexpected is not None and unexpected >= 1
    assert key in sample, f"{key} not in the sample {sample}"

    if severity == "error":
        with pytest.raises(ChecksFailed) as info:
            pipeline.run_stage("publish", str(RUN.quarter), RUN.run_id, settings)
        assert f"{suite}.{expectation}" in info.value.failed
        assert _sha(settings.published_db) == before
        assert settings.candidate_db(RUN.run_id).exists()
        run = runlog.read_run(settings, RUN.run_id)
        assert run is not None and run["status"] == "not_published" and not run["published"]
        assert f"{suite}.{expectation}" in run["reason"]
    else:
        # a warning publishes, with the finding in the published warehouse for BI
        publish_mod.publish(settings, RUN)
        assert _sha(settings.published_db) != before
        con = duckdb.connect(str(settings.published_db), read_only=True)
        try:
            row = con.execute("select severity, success from audit.dq_results where run_id = ? and suite = ? "
                              "and expectation = ?", [RUN.run_id, suite, expectation]).fetchone()
        finally:
            con.close()
        assert row == ("warn", False)


def test_sudden_drop_of_rows_blocks(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    settings = _settings(tmp_path, clean, published=False)
    # the published warehouse has twice the progress rows this candidate has
    dqdata.build_candidate(settings.published_db, settings.ingest_db, rows_factor=2)
    before = _sha(settings.published_db)
    validate.validate_raw(settings, RUN)
    metrics = validate.validate_marts(settings, RUN)
    assert metrics["failed_error"] == 1
    severity, success, unexpected, sample = _findings(settings)[("fct_indicator_progress", "row_count_not_dropped")]
    assert (severity, success) == ("error", False)
    rows = json.loads(sample)[0]
    assert rows["rows"] == 144 and rows["min_rows"] == int(288 * 0.8)
    assert ("dim_region", "row_count_not_dropped") in _findings(settings)  # same size: checked, passed
    with pytest.raises(ChecksFailed):
        publish_mod.publish(settings, RUN)
    assert _sha(settings.published_db) == before


def test_a_rule_that_cannot_run_fails_instead_of_passing(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    settings = _settings(tmp_path, clean, published=False)
    con = duckdb.connect(str(settings.candidate_db(RUN.run_id)))
    con.execute("drop table raw.indicator_rules")
    con.close()
    validate.validate_marts(settings, RUN)
    severity, success, unexpected, sample = _findings(settings)[("fct_indicator_progress",
                                                                 "values_within_catalog_bounds")]
    assert (severity, success, unexpected) == ("error", False, None)
    assert "indicator_rules" in json.loads(sample)[0]["exception"]


def test_bad_thresholds_name_the_file(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    code = tmp_path / "code"
    shutil.copytree(Settings(home=tmp_path).expectations_dir, code / "expectations")
    thresholds = code / "expectations" / "thresholds.yml"
    thresholds.write_text(thresholds.read_text(encoding="utf-8").replace("jump_factor: 3.0", "jump_factor: three"),
                          encoding="utf-8")
    settings = Settings(home=tmp_path / "home", code_root=code)
    settings.ensure_dirs()
    shutil.copy2(clean[0], settings.ingest_db)
    with pytest.raises(ConfigError, match=r"thresholds\.yml.*jump_factor"):
        validate.validate_raw(settings, RUN)
    validate.load_suites(Settings(home=tmp_path))  # put the repository's suites back for other tests


def test_log_stays_readable(tmp_path: Path, clean: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, clean, published=False)
    dqdata.apply_sql(settings.ingest_db, dqdata.BAD / "ingest" / "stock_jump.sql")
    with caplog.at_level(logging.INFO):
        validate.validate_raw(settings, RUN)
    chatter = [r for r in caplog.records if r.name.startswith(("great_expectations", "sqlalchemy"))
               and r.levelno < logging.WARNING]
    assert chatter == []
    assert len(caplog.records) < 20
    assert any("stock_quarter_jump" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize("side_by_side", ["1", "0"])
def test_the_next_heavy_import_starts_with_the_statistics_load(side_by_side: str) -> None:
    """run_all starts a heavy import with the statistics load: side by side dbt's (its checks run in a
    process of their own, planwatch.run.pipeline.before_stage) and with publish altair's, else GX's, whose
    import chatter stays at warnings. The stage waits for it. A fresh interpreter: this test process has both imported."""
    import os
    import subprocess

    code = (
        "import sys, logging\n"
        "from planwatch.core import background_import\n"
        "from planwatch.quality import validate\n"
        "from planwatch.run.pipeline import before_stage\n"
        "assert 'great_expectations' not in sys.modules and 'dbt.cli.main' not in sys.modules\n"
        "before_stage('load_plans')\n"
        "assert background_import._threads == {}, 'not before the statistics load'\n"
        "before_stage('load_statistics')\n"
        "(module, first), = background_import._threads.items()\n"
        "before_stage('load_statistics')\n"
        "assert background_import._threads == {module: first}, 'a second call starts no second import'\n"
        "background_import.wait_for_import(module)\n"
        "assert not first.is_alive() and module in sys.modules\n"
        "before_stage('publish')\n"
        "later = sorted(set(background_import._threads) - {module})\n"
        "print(module, *later, logging.getLogger('great_expectations').level)\n"
    )
    env = {**os.environ, "PLANWATCH_SIDE_BY_SIDE": side_by_side}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                         cwd=Path(__file__).resolve().parents[3], env=env)
    assert out.returncode == 0, out.stderr
    # side by side the report's chart library too, beside publish (GX, which imports it, is not there)
    expected = ["dbt.cli.main", "altair"] if side_by_side == "1" else ["great_expectations"]
    assert out.stdout.split() == [*expected, str(logging.WARNING)]


def test_data_docs_render_new_and_missing_pages_only(tmp_path: Path, clean: tuple[Path, Path]) -> None:
    """A check renders the pages of its own results (and of any stored result whose page is
    missing), not every page ever stored again; the index lists every run's results."""
    settings = _settings(tmp_path, clean, published=False)
    docs = settings.reports_dir / "data_docs"
    validate.validate_raw(settings, RUN)
    first = sorted(docs.glob("validations/*/*/*/*.html"))
    assert [p.parent.parent.parent.name for p in first] == ["plan_consistency", "raw_statistics"]
    stamps = {p: p.stat().st_mtime_ns for p in first}
    missing = first[0]
    missing.unlink()  # e.g. someone cleared part of the site

    later = RunContext("run_2024Q4_again", RUN.quarter)
    validate.validate_raw(settings, later)
    pages = sorted(docs.glob("validations/*/*/*/*.html"))
    assert len(pages) == 4  # two runs' results of the two raw suites
    assert missing.is_file(), "a stored result's missing page is rendered again"
    assert first[1].stat().st_mtime_ns == stamps[first[1]], "an existing page of an earlier run is kept as is"
    assert (docs / "expectations" / "raw_statistics.html").is_file()
    index = (docs / "index.html").read_text(encoding="utf-8")
    run_folders = {p.parent.name for p in pages}
    assert len(run_folders) == 2 and all(folder in index for folder in run_folders)
