"""The simulator: deterministic, starts at the plans' baselines, stocks and flows, faults the loader catches."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.ingest.load_statistics import load_statistics
from planwatch.ingest.register import register_files
from planwatch.demo.simulate import DEFAULT_SEED, ensure_demo_statistics, main, simulate

from tests.planwatch.statistics_home import FIXTURES, RUN, TODAY, make_statistics_home


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_statistics_home(tmp_path)


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(out: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(out.glob("*/*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(settings: Settings, tmp_path: Path) -> None:
    simulate(settings, tmp_path / "a", seed=7, faults=True, n_regions=3)
    simulate(settings, tmp_path / "b", seed=7, faults=True, n_regions=3)
    simulate(settings, tmp_path / "c", seed=8, faults=True, n_regions=3)
    a = _hashes(tmp_path / "a")
    assert any(name.endswith(".xlsx") for name in a)
    assert a == _hashes(tmp_path / "b")
    assert a != _hashes(tmp_path / "c")


def test_series_start_at_the_plan_baseline_and_cover_every_quarter(settings: Settings, tmp_path: Path) -> None:
    summary = simulate(settings, tmp_path / "out", seed=DEFAULT_SEED)
    # Fixture plans: 7 series for 320583, 3 for 350582, 20 quarters each.
    assert (summary.regions, summary.series, summary.rows, summary.files) == (2, 10, 200, 40)
    rows = _rows(tmp_path / "out")
    assert {r["source"] for r in rows} == {"simulated"}
    by_key = {(r["region_code"], r["indicator_code"], r["breakdown"], r["period"]): float(r["value"]) for r in rows}
    # Stocks at 2021Q1 are one quarter away from the 2020 baseline: 52 %, 40.5 beds, 5200 persons (0.52 万人).
    assert by_key[("320583", "ELD_NURSING_BED_SHARE", "", "2021Q1")] == pytest.approx(52, abs=1.5)
    assert by_key[("320583", "ELD_BEDS_PER_THOUSAND", "", "2021Q1")] == pytest.approx(40.5, abs=0.6)
    assert by_key[("320583", "AST_LOW_INCOME_PERSONS", "", "2021Q1")] == pytest.approx(5200, abs=60)
    periods = {r["period"] for r in rows}
    assert len(periods) == 20 and min(periods) == "2021Q1" and max(periods) == "2025Q4"


def test_flows_accumulate_through_the_year_and_stocks_do_not(settings: Settings, tmp_path: Path) -> None:
    simulate(settings, tmp_path / "out", seed=DEFAULT_SEED)
    rows = _rows(tmp_path / "out")
    ytd: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r["period"]):
        if r["indicator_code"] in ("AST_TEMP_ASSIST_TIMES", "CHA_DONATIONS"):
            ytd[(r["region_code"] + r["indicator_code"], int(r["period"][:4]))].append(float(r["value"]))
    assert len(ytd) == 15
    for values in ytd.values():
        assert values == sorted(values) and values[0] < 0.3 * values[3]
    # Donations of 320583: 1.2 亿元 in 2020 = 12000 万元; the 2021 total is near it.
    assert ytd[("320583CHA_DONATIONS", 2021)][3] == pytest.approx(12000, rel=0.25)


def test_ratio_rows_carry_consistent_numerators_and_denominators(settings: Settings, tmp_path: Path) -> None:
    simulate(settings, tmp_path / "out", seed=DEFAULT_SEED)
    ratios = [r for r in _rows(tmp_path / "out") if r["numerator"]]
    assert len(ratios) == 80  # two component indicators in each of the two plans, 20 quarters
    for r in ratios:
        scale = 100 if r["unit"] == "%" else 1000
        assert float(r["numerator"]) / float(r["denominator"]) * scale == pytest.approx(float(r["value"]), abs=0.006)
        assert float(r["numerator"]).is_integer()


def test_every_scenario_appears(settings: Settings, tmp_path: Path) -> None:
    summary = simulate(settings, tmp_path / "out", seed=DEFAULT_SEED)
    assert set(summary.scenarios) == {"early", "on_track", "lag", "regress"}
    assert all(n >= 2 for n in summary.scenarios.values())


def test_faults_are_caught_by_the_loader(settings: Settings) -> None:
    out = settings.statistics_dir / "simulated"
    summary = simulate(settings, out, seed=DEFAULT_SEED, faults=True)
    manifest = json.loads((out / "faults.json").read_text(encoding="utf-8"))
    kinds = {f["fault"] for f in manifest["faults"]}
    assert kinds == {"fullwidth_digits", "unit_slip", "unit_not_convertible", "duplicate", "not_a_number", "unknown_region",
                     "unknown_indicator", "future_period", "missing_quarter", "outlier", "late_revision", "gb18030",
                     "utf8_bom", "xlsx"}
    gb = next(f["file"] for f in manifest["faults"] if f["fault"] == "gb18030")
    with pytest.raises(UnicodeDecodeError):
        (out / gb).read_bytes().decode("utf-8")
    missing = next(f["file"] for f in manifest["faults"] if f["fault"] == "missing_quarter")
    assert not (out / missing).exists()

    assert register_files(settings, RUN)["files_new"] == summary.files
    metrics = load_statistics(settings, RUN, today=TODAY)
    assert (metrics["files_loaded"], metrics["files_refused"]) == (summary.files, 0)
    assert metrics["rows_read"] == summary.rows == metrics["rows_loaded"] + metrics["rows_quarantined"]
    for reason in ("duplicate_in_file", "not_a_number", "unknown_region", "unknown_indicator", "future_period",
                   "unit_not_convertible"):
        assert metrics[f"quarantined_{reason}"] == 1, reason
    assert metrics["rows_revising"] > 0

    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        assert con.execute("select count(*) from raw.file_ledger where rows_read <> rows_loaded + rows_quarantined"
                           ).fetchone() == (0,)
        assert con.execute("select count(*) from raw.stat_observations where raw_unit <> unit and raw_unit <> ''"
                           ).fetchone() == (1,)
        assert con.execute("select bool_and(is_simulated) from raw.stat_observations").fetchone() == (True,)
        # The revision corrects the outlier: the latest value is a tenth of the first.
        outlier = next(f for f in manifest["faults"] if f["fault"] == "outlier" and "typed as" in f["detail"])
        code = outlier["detail"].split()[0]
        versions = con.execute(
            "select o.value from raw.stat_observations o join raw.file_ledger l using (file_id) "
            "where o.indicator_code = ? and o.period = '2023Q2' and l.path like ? order by o.file_seq",
            [code, f"%/{outlier['file'].split('/')[0]}/%"]).fetchall()
        assert len(versions) == 2 and versions[0][0] == pytest.approx(10 * versions[1][0], rel=1e-6)
    finally:
        con.close()


def test_synthetic_regions_resolve_through_their_own_reference(settings: Settings) -> None:
    out = settings.statistics_dir / "scale"
    summary = simulate(settings, out, seed=3, n_regions=25)
    assert summary.regions == 27
    with (out / "_reference" / "regions_simulated.csv").open(encoding="utf-8") as fh:
        regions = list(csv.DictReader(fh))
    assert len(regions) == 25 and all(len(r["region_code"]) == 6 and r["region_code"][4:] >= "21" for r in regions)
    assert {r["is_simulated"] for r in regions} == {"true"} and {r["level"] for r in regions} == {"county"}
    assert not {r["region_code"] for r in regions} & {"320583", "350582", "520300"}
    plans = list((out / "_reference" / "plan_indicators").glob("*.csv"))
    with plans[0].open(encoding="utf-8") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == 25 * 6

    assert register_files(settings, RUN)["files_new"] == 60  # 40 city files + 20 county files
    metrics = load_statistics(settings, RUN, today=TODAY)
    assert metrics["rows_quarantined"] == 0
    assert metrics["rows_loaded"] == 200 + 25 * 6 * 20


def test_demo_data_is_written_only_when_raw_statistics_has_no_real_files(settings: Settings) -> None:
    assert ensure_demo_statistics(settings) is True
    demo = settings.statistics_dir / "simulated"
    assert (demo / "faults.json").exists() and any(demo.rglob("*.xlsx"))
    assert ensure_demo_statistics(settings) is False  # already there

    shutil.rmtree(demo)
    (settings.statistics_dir / "320583").mkdir()
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", settings.statistics_dir / "320583" / "2023Q2.csv")
    assert ensure_demo_statistics(settings) is False
    assert not demo.exists()


def test_command_line(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PLANWATCH_HOME", str(settings.home))
    assert main(["--seed", "5", "--faults", "--regions", "2", "--out", str(tmp_path / "cli")]) == 0
    assert "rows in" in capsys.readouterr().out
    assert (tmp_path / "cli" / "_reference" / "regions_simulated.csv").exists()


REPO = Path(__file__).resolve().parents[3]
FLOW_CODES = {row["indicator_code"] for row in csv.DictReader(
    (REPO / "raw" / "reference" / "indicators.csv").open(encoding="utf-8")) if row["measure"] == "flow"}


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 7, 11])
def test_positive_series_never_fall_to_zero(tmp_path: Path, seed: int) -> None:
    # The reviewed plans of the repository: Kunshan's home adaptations (1044 households in 2020, a
    # regressing series under the demo seed) once read 0 for all of 2025.
    settings = Settings(home=tmp_path / "home")
    for sub in ("reference", "plan_indicators", "plan_prose_targets"):
        shutil.copytree(REPO / "raw" / sub, tmp_path / "home" / "raw" / sub)
    settings.statistics_dir.mkdir(parents=True)
    simulate(settings, tmp_path / "out", seed=seed)
    series: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in sorted(_rows(tmp_path / "out"), key=lambda r: r["period"]):
        series[(r["region_code"], r["indicator_code"], r["breakdown"])].append(float(r["value"]))
    assert len(series) >= 80
    # A stock is never zero; a flow may be 0 year-to-date in a first quarter (two new communities a year),
    # never for a whole year.
    flows = {code for _, code, _ in series if code in FLOW_CODES}
    zeros = {key: values for key, values in series.items()
             if min(values if key[1] not in flows else values[3::4]) <= 0}
    assert zeros == {}
    households = series[("320583", "ELD_HOME_ADAPTATION_HOUSEHOLDS", "")]
    assert min(households[-4:]) > 0.2 * 1044 * 0.23  # 2025Q1 year-to-date at least a fifth of a quarter's share


def test_summary_announces_the_deliberate_faults(settings: Settings) -> None:
    from planwatch.demo.simulate import announced_faults

    simulate(settings, settings.statistics_dir / "simulated", seed=DEFAULT_SEED, faults=True)
    [(manifest, kinds)] = announced_faults(settings.statistics_dir)
    assert manifest.name == "faults.json" and kinds["outlier"] == 2 and sum(kinds.values()) == 15
    simulate(settings, settings.statistics_dir / "clean", seed=DEFAULT_SEED)  # no faults: nothing to announce
    assert [m.parent.name for m, _ in announced_faults(settings.statistics_dir)] == ["simulated"]
