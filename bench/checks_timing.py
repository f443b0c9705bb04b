"""Time the suites at benchmark scale: ~2850 regions × 25 indicators × 20 quarters ≈ 1.4M rows.

    .venv/bin/python bench/checks_timing.py [WORKDIR]

Builds a synthetic ingest store and candidate in WORKDIR (default: a temporary folder; about
60 MB), runs planwatch.quality.validate.validate_raw and validate_marts on them and prints the seconds.
The figures in expectations/README.md come from this script.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from planwatch.quality import validate
from planwatch.core.config import Settings
from planwatch.core.db import ensure_ingest_schema
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

REGIONS, INDICATORS, FIRST_YEAR, YEARS = 2850, 25, 2020, 5
UNITS = ("%", "‰", "人", "元/月", "人次")


def build(settings: Settings, run: RunContext) -> int:
    con = duckdb.connect(str(settings.ingest_db))
    ensure_ingest_schema(con)
    con.execute("""create table raw.units as select * from (values ('%', 'share', 1.0), ('‰', 'share', 0.1),
                   ('人', 'persons', 1.0), ('万人', 'persons', 10000.0), ('元/月', 'yuan_per_month', 1.0),
                   ('人次', 'visits', 1.0)) t(unit, dimension, factor)""")
    con.execute("""create table raw.indicators as
        select 'IND_' || lpad(i::varchar, 3, '0') as indicator_code, 'n' as name_zh, 'n' as name_en, 'elderly' as domain,
               ['%', '‰', '人', '元/月', '人次'][i % 5 + 1] as unit,
               case when i % 5 < 2 then 'ratio' when i % 5 = 3 then 'amount' else 'count' end as kind,
               case when i % 5 = 4 then 'flow' else 'stock' end as measure,
               case when i % 3 = 0 then 'decrease' else 'increase' end as direction,
               null::double as lower_bound, null::double as upper_bound,
               i % 5 in (2, 4) as is_integral, i % 5 = 0 as has_components, '' as notes
        from range(?) t(i)""", [INDICATORS])
    con.execute("""create table raw.regions as
        select (110000 + r)::varchar as region_code, 'r' as region_name_zh, 'r' as region_name_en, 'county' as level,
               '110000' as parent_code, '' as parent_name_zh, true as is_simulated from range(?) t(r)""", [REGIONS])
    con.execute("""insert into raw.stat_observations (file_id, file_seq, line_no, region_code, period, period_type,
               indicator_code, breakdown, value, unit, raw_value, raw_unit, numerator, denominator, reported_on,
               source, is_simulated, loaded_at, period_index)
        with q as (select y * 4 + k as qi, y, k from range(?, ?) a(y), range(4) b(k))
        select 'sim', 1, row_number() over (), rg.region_code,
               q.y::varchar || 'Q' || (q.k + 1)::varchar, 'quarter', ind.indicator_code, '',
               case ind.unit when '%' then 40 + (hash(rg.region_code) % 20) + q.qi % 7 * 0.3
                             when '‰' then 900 + (hash(rg.region_code) % 50) + q.qi % 5
                             when '人次' then (q.k + 1) * 1000 + hash(rg.region_code) % 100
                             else 1000 + hash(rg.region_code || ind.indicator_code) % 500 + q.qi % 9 end,
               ind.unit, null, ind.unit,
               case when ind.unit = '%' then 1 end, case when ind.unit = '%' then 1 end,
               null, 'simulated', true, now()::timestamp, q.qi
        from raw.regions rg cross join raw.indicators ind cross join q""", [FIRST_YEAR, FIRST_YEAR + YEARS])
    # numerator/denominator consistent with the value for the share indicators
    con.execute("update raw.stat_observations set numerator = value * 10, denominator = 1000 where unit = '%'")
    con.execute("""create table raw.plan_indicators as
        select rg.region_code, 'r' as region_name, '14th' as plan, '1' as seq, '' as category, 'n' as indicator_name,
               ind.unit, '2020' as baseline_year, '10' as baseline_value, '2025' as target_year,
               case when ind.direction = 'decrease' then '5' else '20' end as target_value,
               'binding' as attribute, '' as target_2021, '' as target_2022, '' as target_2023, '' as target_2024,
               '' as target_2025, '' as breakdown, 'doc' as source_doc, '1' as source_line, ind.indicator_code,
               '' as notes, 'reviewed' as review_status, 'f' as source_file, now()::timestamp as loaded_at
        from raw.regions rg cross join raw.indicators ind""")
    con.execute("""create table raw.plan_completion as
        select region_code, region_name, '13th' as plan, indicator_name, unit, '10' as target_value,
               '10' as actual_value, source_doc, source_line, indicator_code from raw.plan_indicators""")
    con.execute("create table raw.plan_periods as select * from read_csv(?, header = true, all_varchar = true)",
                [str(Path(__file__).resolve().parents[1] / "raw" / "reference" / "plan_periods.csv")])
    rows = con.execute("select count(*) from raw.stat_observations").fetchone()[0]  # type: ignore[index]
    con.execute("checkpoint")
    con.close()

    con = duckdb.connect(str(settings.candidate_db(run.run_id)))
    con.execute("attach ? as ingest (read_only)", [str(settings.ingest_db)])
    con.execute("create schema raw; create schema marts")
    for t in ("indicators", "units", "regions"):
        con.execute(f"create table raw.{t} as select * from ingest.raw.{t}")
    con.execute("""create table marts.fct_indicator_progress as
        select o.region_code, o.indicator_code, o.breakdown, o.period, o.value as actual_value,
               10.0 as baseline_value, 20.0 as target_value, 'on_track' as status, true as is_simulated
        from ingest.raw.stat_observations o""")
    con.execute("create table marts.dim_region as select * from raw.regions")
    con.execute("create table marts.dim_indicator as select * from raw.indicators")
    con.execute("create table marts.fct_plan_completion as select region_code, indicator_code, 10.0 as target_value, "
                "10.0 as actual_value from ingest.raw.plan_completion")
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_plan_targets_converted as select region_code || '|' || indicator_code "
                "as plan_target_id, region_code, plan, indicator_code, '' as breakdown, source_doc, source_line "
                "from ingest.raw.plan_indicators")
    con.execute("create table intermediate.int_plan_bases_chained as select plan_target_id, "
                "10.0 as printed_baseline_value, 10.0 as previous_plan_actual, '2020Q4' as previous_plan_actual_period "
                "from intermediate.int_plan_targets_converted")
    con.execute("detach ingest")
    con.close()
    return int(rows)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    workdir = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="planwatch-dq-bench-"))
    settings = Settings(home=workdir)
    settings.ensure_dirs()
    run = RunContext("benchmark", Quarter(FIRST_YEAR + YEARS - 1, 4))
    t0 = time.perf_counter()
    rows = build(settings, run)
    t1 = time.perf_counter()
    import great_expectations  # noqa: F401  (import time reported apart)
    t2 = time.perf_counter()
    raw = validate.validate_raw(settings, run)
    t3 = time.perf_counter()
    marts = validate.validate_marts(settings, run)
    t4 = time.perf_counter()
    print(f"rows={rows} build={t1 - t0:.1f}s gx_import={t2 - t1:.1f}s validate_raw={t3 - t2:.1f}s "
          f"validate_marts={t4 - t3:.1f}s raw={raw} marts={marts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
