"""Suite `raw_statistics`: the statistics as the run will publish them, in the ingest store.

Batch: the latest version (highest `file_seq`, then `line_no`) of every region × indicator ×
breakdown × period in raw.stat_observations, for periods ending in or before the run's quarter.
"""

from __future__ import annotations

from ._common import BOUNDS, KeptBatch, KeptRuleRows, Rule, Suite, SuiteParams, outside_bounds, period_label, stock_jumped

NAME = "raw_statistics"


# The columns the batch reads from raw.stat_observations (and that SOURCES_SQL checksums). Not file_id:
# a 64-character string carried through the window's sort and written for every row (6.3 -> 5.1 s of
# CPU for the national batch, bench/README.md, eleventh pass); file_seq names the file as well, and
# the rules that show a row's file look its file_id up in the ledger (FILE_ID).
COLUMNS = ("region_code, indicator_code, breakdown, period, period_type, value, numerator, denominator, "
           "file_seq, line_no, period_index")  # period_index: written by the loader (Quarter.index)
# The file_id of a batch row `b`, for an offending row's sample: one ledger row per file_seq.
FILE_ID = "(select l.file_id from raw.file_ledger l where l.file_seq = b.file_seq) as file_id"
# value_within_region_history sums a series' earlier values as whole millionths, exactly (hugeint): n times
# the sum of squares stays below 2^127 for values up to about 1e11 over 100 quarters; beyond, DuckDB
# reports an overflow and the rule is recorded as not run.
HISTORY_SCALE = 1_000_000


# A row's version as one number, higher = later: file_seq, then line_no. Line numbers stay below 10^9
# (the loader holds a whole file in memory: a billion lines would be tens of GB); a BIGINT sorts and
# compares in the window below at 1.7 s of CPU less than a struct of the two (bench/README.md).
VERSION = "file_seq * 1000000000 + line_no"
SERIES = "region_code, indicator_code, breakdown, period_type"


def batch_between(low: int | None, high: int) -> str:
    """The latest version of every key whose period_index lies in [low, high] (no lower end when low is None),
    each quarter row with `previous_quarter_value`: the value of the latest version of the same series'
    row of the quarter before (NULL when there is none, and on yearly rows).

    A key's versions share its period, so cutting by period before choosing the latest version cuts
    whole keys and changes no choice. One window, ordered by period within each series (a yearly row
    shares its period_index with its Q4, planwatch.core.periods: period_type is part of the series),
    gives both: the highest version among the rows of the same period (the key's versions) and the
    value of the highest version one period before. It replaced a GROUP BY of every key to find the
    keys loaded more than once and a second window for the quarter before: one sort of the rows
    instead of a 5 M-group hash table and a sort (national fresh batch 12.6-13.2 -> 9.4 s of CPU,
    bench/README.md, seventh pass).
    The quarter before `low` is read too (for `previous_quarter_value`) and then left out, so a row's
    previous value depends only on periods up to its own: a kept row (before `low`) keeps a correct one.
    It makes `stock_quarter_jump` a row-level rule: its own lag window over every series' history cost
    3.6 s of CPU in every run nationally; kept here, a new quarter computes it for that quarter only
    (bench/README.md, fifth pass).
    """
    cut = f"period_index <= {int(high)}" + ("" if low is None else f" and period_index >= {int(low) - 1}")
    keep = "" if low is None else f" and period_index >= {int(low)}"
    return f"""
    select * exclude (version, latest_version, value_before),
           case when period_type = 'quarter' then value_before end as previous_quarter_value
    from (
        select {COLUMNS}, {VERSION} as version,
               max({VERSION}) over (w range between current row and current row) as latest_version,
               -- arg_max_null: the latest version's value even when it is NULL; NULL when no row is there
               arg_max_null(value, {VERSION}) over (w range between 1 preceding and 1 preceding) as value_before
        from raw.stat_observations where {cut}
        window w as (partition by {SERIES} order by period_index))
    where version = latest_version{keep}
    """


def batch_sql(params: SuiteParams) -> str:
    return batch_between(None, int(params.quarter_index))


# Per loaded file: its rows, a checksum of every column the batch reads, its earliest period. Proves
# which files changed since the batch was kept (planwatch.quality.validate); 0.2 s at national scale.
SOURCES_SQL = f"""
    select file_id, count(*) as rows, sum(hash({COLUMNS})::hugeint) as checksum, min(period_index) as min_index
    from raw.stat_observations group by file_id
"""


# complete_for_closed_quarters: its offending rows (every plan series × closed quarter with no batch
# row) are kept beside the batch (KeptRuleRows), as `MISSING` in the kept file.
MISSING = "raw_statistics__missing"
YEARLY = "raw_statistics__yearly"
MISSING_TABLE = f'"planwatch_batches".main."{MISSING}"'  # planwatch.quality.validate's BATCHES_ALIAS
# The plan series the rule expects, with the plan's target year (its period). `breakdown` as printed.
PLAN_SERIES = """
    select distinct region_code, indicator_code, coalesce(breakdown, '') as breakdown,
           cast(target_year as integer) as target_year
    from raw.plan_indicators
    where coalesce(indicator_code, '') <> ''
      and coalesce(review_status, 'reviewed') in ('reviewed', 'simulated')
      and try_cast(target_year as integer) is not null
"""


def yearly_sql(batch: str) -> str:
    """Region × indicator pairs reported only yearly: expected in Q4 only."""
    return f"""select region_code, indicator_code from {batch}
               group by all having bool_and(period_type = 'year')"""


def missing_inputs_sql(batch: str) -> str:
    """What the missing rows depend on besides the batch's rows and the yearly pairs: the plan series
    and the first period anyone reported (the rule's earliest expected quarter)."""
    return f"""select count(*), sum(hash(region_code, indicator_code, breakdown, target_year))::hugeint,
                      (select min(period_index) from {batch})
               from ({PLAN_SERIES})"""


def _scope(alias: str, low: int | None, changed: str | None) -> str:
    """SQL: the rows of `alias` to compute: all (low and changed None), or those of periods from `low`
    and those of the pairs in the table `changed`."""
    if low is None and changed is None:
        return "true"
    parts = [] if low is None else [f"{alias}.period_index >= {int(low)}"]
    if changed is not None:
        parts.append(f"exists (select 1 from {changed} c where c.region_code = {alias}.region_code "
                     f"and c.indicator_code = {alias}.indicator_code)")
    return "(" + " or ".join(parts or ["false"]) + ")"


def _first(alias: str, low: int | None, changed: str | None) -> str:
    """SQL: the first quarter to list for the plan series `alias`: its first_index, or `low` when only the
    periods from `low` are computed (and its pair is not in the table `changed`). Generating the other
    quarters only to filter them out cost 5 M rows nationally."""
    if low is None:
        return f"{alias}.first_index"
    if changed is None:
        return f"greatest({alias}.first_index, {int(low)})"
    return (f"(case when {_scope(alias, None, changed)} then {alias}.first_index "
            f"else greatest({alias}.first_index, {int(low)}) end)")


def missing_rows_sql(batch: str, groups: str, low: int | None, changed: str | None, qi: int) -> str:
    """complete_for_closed_quarters' rows at quarter index `qi` (KeptRuleRows.rows_sql): every plan series
    (each printed breakdown) for each quarter from the plan's first one, or from when any reporting began,
    up to the run's quarter (Q4 only for a pair reported only yearly), with no row in the batch."""
    return f"""
            with plan as (
                select distinct region_code, indicator_code, breakdown,
                       -- from the plan's first quarter, or from when reporting began at all
                       greatest((target_year - 4) * 4, (select min(period_index) from {batch})) as first_index,
                       least(target_year * 4 + 3, {int(qi)}) as last_index
                from ({PLAN_SERIES})),
            expected as (
                select p.region_code, p.indicator_code, p.breakdown, q.i as period_index
                from plan p
                cross join lateral (select unnest(range({_first('p', low, changed)}, p.last_index + 1)) as i) q
                left join {groups} y on y.region_code = p.region_code and y.indicator_code = p.indicator_code
                where y.indicator_code is null or q.i % 4 = 3)
            select e.region_code, e.indicator_code, e.breakdown, e.period_index
            from expected e
            anti join (select region_code, indicator_code, breakdown, period_index from {batch} o
                       where {_scope('o', low, changed)}) o
                   on o.region_code = e.region_code and o.indicator_code = e.indicator_code
                  and o.breakdown = e.breakdown and o.period_index = e.period_index
            where {_scope('e', low, changed)}"""


def build(params: SuiteParams) -> Suite:
    t = params.thresholds
    qi = int(params.quarter_index)
    rules = [
        Rule(
            name="region_code_known",
            severity="error",
            description="every region_code is in the region catalog (raw.regions)",
            query=f"""select b.region_code, b.indicator_code, b.period, {FILE_ID}, b.line_no from batch_rows b
                     where b.region_code not in (select region_code from raw.regions)""",
        ),
        Rule(
            name="indicator_code_known",
            severity="error",
            description="every indicator_code is in the indicator catalog (raw.indicators)",
            query=f"""select b.region_code, b.indicator_code, b.period, {FILE_ID}, b.line_no from batch_rows b
                     where b.indicator_code not in (select indicator_code from raw.indicators)""",
        ),
        Rule(
            name="value_within_catalog_bounds",
            severity="error",
            description=("every value lies within its indicator's catalog bounds (shares in [0, 100] for %, "
                         "[0, 1000] for ‰ unless the catalog says otherwise; counts and amounts >= 0)"),
            query=f"""with k as ({BOUNDS})
                      select b.region_code, b.indicator_code, b.breakdown, b.period, b.value, k.lo, k.hi,
                             {FILE_ID}, b.line_no
                      from batch_rows b join k using (indicator_code)
                      where {outside_bounds('b.value')}""",
        ),
        Rule(
            name="count_values_integral",
            severity="error",
            description="values of indicators the catalog marks is_integral are whole numbers",
            query=f"""with k as ({BOUNDS})
                      select b.region_code, b.indicator_code, b.breakdown, b.period, b.value, {FILE_ID}, b.line_no
                      from batch_rows b join k using (indicator_code)
                      where k.integral and b.value is not null and not isinf(b.value)
                        and b.value <> round(b.value)""",
        ),
        Rule(
            name="ratio_matches_components",
            severity="error",
            description=(f"a share reported with numerator and denominator equals numerator / denominator × "
                         f"scale within {t.ratio_abs_tolerance:g} or {t.ratio_rel_tolerance:.2%}"),
            query=f"""with k as ({BOUNDS})
                      select b.region_code, b.indicator_code, b.breakdown, b.period, b.value,
                             b.numerator, b.denominator, {FILE_ID}, b.line_no
                      from batch_rows b join k using (indicator_code)
                      where k.share_scale is not null and b.numerator is not null and b.denominator is not null
                        and (b.denominator <= 0 or b.value is null
                             or abs(b.value - b.numerator / b.denominator * k.share_scale)
                                > greatest({t.ratio_abs_tolerance!r}, {t.ratio_rel_tolerance!r} * abs(b.value)))""",
        ),
        Rule(
            name="complete_for_closed_quarters",
            severity="warn",
            description=("every region reports every indicator of its own plan (each printed breakdown) for "
                         "each closed quarter of the plan period (from when any reporting began) up to the run's "
                         "quarter; an indicator the "
                         "region reports only yearly is expected in Q4"),
            # Its rows are kept beside the batch (MISSING, brought up to date by planwatch.quality.validate):
            # they depend on every quarter of history, so computing them afresh read the whole batch in
            # every run (2.2 s of CPU nationally, bench/README.md, eighth pass).
            from_kept=True,
            query=f"""select m.region_code, m.indicator_code, m.breakdown, {period_label('m.period_index')} as period
                      from {MISSING_TABLE} m
                      order by m.region_code, m.indicator_code, m.breakdown, m.period_index""",
        ),
        Rule(
            name="stock_quarter_jump",
            severity="warn",
            description=(f"a stock indicator does not move by more than a factor {t.jump_factor:g} from one "
                         f"quarter to the next"),
            # previous_quarter_value: the batch's (batch_between), the series' quarter before. In key
            # order: the batch's rows come in no fixed order, and the sample keeps the first rows.
            query=f"""select b.region_code, b.indicator_code, b.breakdown, b.period,
                             b.previous_quarter_value as previous_value, b.value
                      from batch_rows b join raw.indicators i using (indicator_code)
                      where i.measure = 'stock' and b.period_type = 'quarter'
                        and {stock_jumped('b.previous_quarter_value', 'b.value', t.jump_factor)}
                      order by b.region_code, b.indicator_code, b.breakdown, b.period_index""",
        ),
        Rule(
            name="value_within_region_history",
            severity="warn",
            description=(f"a value of {params.quarter} lies within {t.history_zscore:g} standard deviations of "
                         f"the same series' earlier values (at least {t.history_min_points}; flow indicators "
                         f"against the same quarter of earlier years)"),
            # The series' earlier values as exact sums of whole millionths (HISTORY_SCALE): a sum of
            # integers does not depend on the order DuckDB's threads add them in, so a GROUP BY gives
            # the same findings in every run (a window over every series' history did the same at 2.5x the
            # CPU; a GROUP BY of doubles flipped values on the border between runs: bench/README.md).
            # One GROUP BY of each series' quarter rows (a flow's of the run's season only) gives both
            # the run's quarter's value and the sums of the earlier ones: a semi join of every row with
            # the quarter's series and a join back took twice the CPU (1.1 -> 0.55 s nationally,
            # bench/README.md, tenth pass). A quarter row is unique per series and period.
            # Any earlier value that is not finite: no finding, as avg/stddev over it gave none.
            query=f"""with q as (
                          select b.region_code, b.indicator_code, b.breakdown, b.period, b.period_index, b.value,
                                 case when isfinite(b.value) then round(b.value * {HISTORY_SCALE})::hugeint end
                                     as whole
                          from batch_rows b join raw.indicators i using (indicator_code)
                          where b.period_type = 'quarter' and (i.measure is distinct from 'flow' or b.period_index % 4 = {qi % 4})),
                      series as (
                          select region_code, indicator_code, breakdown,
                                 count(*) filter (where period_index = {qi}) as in_quarter,
                                 any_value(period) filter (where period_index = {qi}) as period,
                                 any_value(value) filter (where period_index = {qi}) as value,
                                 count(value) filter (where period_index < {qi}) as n,
                                 bool_and(value is null or isfinite(value)) filter (where period_index < {qi}) as finite,
                                 sum(whole) filter (where period_index < {qi}) as s1,
                                 sum(whole * whole) filter (where period_index < {qi}) as s2
                          from q group by region_code, indicator_code, breakdown),
                      s as (
                          select region_code, indicator_code, breakdown, period, value,
                                 n as history_points, s1 / n / {HISTORY_SCALE} as history_mean,
                                 sqrt(((n * s2 - s1 * s1) / (n * (n - 1)))::double) / {HISTORY_SCALE} as history_sd
                          from series where in_quarter = 1 and finite and n > 1)
                      select region_code, indicator_code, breakdown, period, value, history_mean, history_sd from s
                      where history_points >= {int(t.history_min_points)}
                        and history_sd > 0 and abs(value - history_mean) > {t.history_zscore!r} * history_sd
                      order by region_code, indicator_code, breakdown""",
        ),
    ]
    # The batch reads every raw row (3 s at national scale): derive it once, not in each of the rules'
    # count and sample queries, and keep it between runs: a new quarter recomputes that quarter only
    # (bench/README.md).
    return Suite(name=NAME, target="ingest", batch_sql=batch_sql(params), rules=rules, materialize=True,
                 kept=KeptBatch(between=batch_between, sources_sql=SOURCES_SQL, high=qi,
                                rule_rows=KeptRuleRows(table=MISSING, groups_table=YEARLY, groups_sql=yearly_sql,
                                                       inputs_sql=missing_inputs_sql, rows_sql=missing_rows_sql)))
