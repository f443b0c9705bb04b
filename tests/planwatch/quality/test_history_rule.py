"""value_within_region_history sums each series' earlier values exactly (whole millionths, a GROUP BY)
instead of a window over every series' history: its rows must be those of the window definition,
for stock and flow series (flows against the same quarter of earlier years), with values that are
not finite, and in every run."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "dq"))
import dqdata  # noqa: E402

from planwatch.core.config import Settings  # noqa: E402
from planwatch.core.periods import Quarter  # noqa: E402
from planwatch.core.suites import load_suites  # noqa: E402
from planwatch.core.types import RunContext  # noqa: E402
from planwatch.quality import validate  # noqa: E402


def _window_definition(qi: int, zscore: float, min_points: int) -> str:
    """The rule as it was written before (bench/README.md, fifth pass): the reference."""
    return f"""with s as (
        select b.region_code, b.indicator_code, b.breakdown, b.period, b.period_index, b.value,
               avg(b.value) over w as history_mean, stddev_samp(b.value) over w as history_sd,
               count(b.value) over w as history_points
        from batch_rows b join raw.indicators i using (indicator_code)
        where b.period_type = 'quarter'
        window w as (partition by b.region_code, b.indicator_code, b.breakdown,
                                  case when i.measure = 'flow' then b.period_index % 4 end
                     order by b.period_index rows between unbounded preceding and 1 preceding))
    select region_code, indicator_code, breakdown, period, value, history_mean, history_sd from s
    where period_index = {qi} and history_points >= {min_points}
      and history_sd > 0 and abs(value - history_mean) > {zscore!r} * history_sd"""


# Moves that make outliers of stock and flow series alike, and values that are not finite: an earlier
# infinity (no finding for its series, however far its value moves) and a current NaN and infinity
# (findings, as with the window).
MOVES = """
-- two and four years earlier for the flow series (the fixture has 2023-2024), so that a flow has enough
-- values of the same quarter
insert into raw.stat_observations
select o.* replace (cast(cast(left(period, 4) as integer) - y.shift as varchar) || substr(period, 5) as period,
                  period_index - 4 * y.shift as period_index, value * (1 + y.shift / 100) as value,
                  line_no + 1000 * y.shift as line_no)
from raw.stat_observations o, (select unnest([2, 4]) as shift) y
where indicator_code in (select indicator_code from raw.indicators where measure = 'flow');
update raw.stat_observations set value = value * 2 + 10
where period = '{quarter}' and (hash(region_code || indicator_code) % 3 = 0
                                or indicator_code in (select indicator_code from raw.indicators where measure = 'flow'));
update raw.stat_observations set value = 'inf'
where region_code = '110101' and indicator_code = 'AST_DIBAO_PERSONS' and period = '2023Q1';
update raw.stat_observations set value = value * 1000
where region_code = '110101' and indicator_code = 'AST_DIBAO_PERSONS' and period = '{quarter}';
update raw.stat_observations set value = 'nan'
where (region_code, indicator_code) in (select region_code, indicator_code from raw.stat_observations
                                        where period = '{quarter}' order by 1, 2 limit 1 offset 1) and period = '{quarter}';
update raw.stat_observations set value = '-inf'
where (region_code, indicator_code) in (select region_code, indicator_code from raw.stat_observations
                                        where period = '{quarter}' order by 1, 2 limit 1 offset 2) and period = '{quarter}';
"""


@pytest.mark.parametrize("quarter", ["2024Q4", "2024Q3"])
def test_history_rule_gives_the_rows_of_its_window_definition(tmp_path: Path, quarter: str) -> None:
    ingest = dqdata.build_ingest(tmp_path / "ingest.duckdb")
    settings = Settings(home=tmp_path)
    q = Quarter.parse(quarter)
    params = validate._params(settings, RunContext("h", q), {})
    suite = load_suites(settings).raw_suites(params)[0]
    rule = next(r for r in suite.rules if r.name == "value_within_region_history")
    con = duckdb.connect(str(ingest))
    try:
        con.execute(MOVES.format(quarter=quarter))
        con.execute(f"create temp table batch_rows as {suite.batch_sql}")
        reference = con.execute(_window_definition(q.index, params.thresholds.history_zscore,
                                                   params.thresholds.history_min_points)).fetchall()
        runs = [con.execute(rule.query).fetchall() for _ in range(3)]
    finally:
        con.close()
    keys = {r[:4] for r in reference}
    assert {r[1] for r in reference} >= {"ELD_SERVICE_VISITS", "CHD_ORPHAN_PLACEMENT"}  # a flow and stocks
    for rows in runs:
        assert {r[:4] for r in rows} == keys
        got = {r[:4]: r for r in rows}
        for ref in reference:
            row = got[ref[:4]]
            assert row[5] == pytest.approx(ref[5], rel=1e-9, nan_ok=True)
            assert row[6] == pytest.approx(ref[6], rel=1e-9, nan_ok=True)
