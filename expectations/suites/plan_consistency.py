"""Suite `plan_consistency`: the plan targets in the ingest store agree with themselves and the catalog.

Batch: raw.plan_indicators without drafts (`review_status = 'draft'` rows are extracted from new
plan documents and wait for a person; they are not published, so they do not gate publishing).
Plan values are decimal strings as printed, in the printed unit; they are converted to the
indicator's canonical unit through raw.unit_conversions (same dimension: v × factor_printed / factor_canonical)
before they are compared with the catalog bounds.
"""

from __future__ import annotations

from ._common import BOUNDS, Rule, Suite, SuiteParams, num, outside_bounds

NAME = "plan_consistency"

BATCH_SQL = """
    select * from raw.plan_indicators
    where coalesce(review_status, 'reviewed') <> 'draft'
"""

# Every table the batch and the rules read (Suite.inputs): the rules' rows are kept while these and the
# SQL are unchanged, which a new quarter of statistics never changes.
INPUTS = ("raw.plan_indicators", "raw.indicators", "raw.indicator_rules", "raw.unit_conversions",
          "raw.plan_completion", "raw.plan_periods", "raw.regions")

KEYS = "p.region_code, p.plan, p.indicator_code, p.indicator_name, p.breakdown, p.source_doc, p.source_line"

# The printed unit's factor to the canonical unit, from raw.unit_conversions (derived once by
# planwatch.core.catalog, `Catalog.conversion_rows`); NULL when it cannot be converted: the loader refuses
# those rows, so they are not judged here. `CONVERSION` joins it, ROW replaced by the row's alias.
TO_CANONICAL = "uc.factor"
CONVERSION = "left join raw.unit_conversions uc on uc.from_unit = ROW.unit and uc.to_unit = k.unit"

# A plan file's annual targets are its `target_YYYY` columns, whatever years they name
# (raw/reference/plan_periods.csv holds the periods); the loader keeps every such column.
ANNUAL = "columns('^target_[0-9][0-9][0-9][0-9]$')"  # no braces: rules are checked for none
# One row per printed annual target: key `rid`, `year` and the printed `annual_value`.
ANNUAL_ROWS = f"""(unpivot (select rid, {ANNUAL} from ROWS) on {ANNUAL}
                   into name annual_column value annual_value)"""


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def build(params: SuiteParams) -> Suite:
    t = params.thresholds
    value_columns = ["baseline_value", "target_value"]
    rules = [
        Rule(
            name="plan_codes_known",
            severity="error",
            description="every reviewed plan row names a region and an indicator of the catalog",
            query=f"""select {KEYS} from batch_rows p
                      where p.indicator_code is null or p.indicator_code not in (select indicator_code from raw.indicators)
                         or p.region_code not in (select region_code from raw.regions)""",
        ),
        Rule(
            name="binding_indicator_has_target",
            severity="error",
            description="a binding (约束性) indicator states a target value",
            query=f"""select {KEYS} from batch_rows p
                      where lower(trim(cast(p.attribute as varchar))) = 'binding' and {num('p.target_value')} is null""",
        ),
        Rule(
            name="target_direction_matches_baseline",
            severity="error",
            description=("the target lies on the indicator's side of the baseline: >= for increase, <= for "
                         "decrease, equal for maintain"),
            query=f"""with k as ({BOUNDS})
                      select {KEYS}, k.direction, {num('p.baseline_value')} as baseline, {num('p.target_value')} as target
                      from batch_rows p join k on k.indicator_code = p.indicator_code
                      where {num('p.baseline_value')} is not null and {num('p.target_value')} is not null
                        and ((k.direction = 'increase' and {num('p.target_value')} < {num('p.baseline_value')})
                          or (k.direction = 'decrease' and {num('p.target_value')} > {num('p.baseline_value')})
                          or (k.direction = 'maintain' and abs({num('p.target_value')} - {num('p.baseline_value')})
                              > 1e-9 * greatest(1.0, abs({num('p.baseline_value')}))))""",
        ),
        Rule(
            name="annual_targets_monotonic",
            severity="warn",
            description="baseline, the annual targets and the final target move monotonically toward the final target",
            query=f"""with k as ({BOUNDS}),
                      signed as materialized (
                          select p.*, row_number() over () as rid,
                                 case when {num('p.target_value')} > {num('p.baseline_value')} then 1
                                      when {num('p.target_value')} < {num('p.baseline_value')} then -1
                                      when {num('p.target_value')} = {num('p.baseline_value')} then 0
                                      when k.direction = 'increase' then 1
                                      when k.direction = 'decrease' then -1 else 0 end as sgn
                          from batch_rows p join k on k.indicator_code = p.indicator_code),
                      annual as (
                          select rid, cast(substr(annual_column, 8) as integer) as year, 1 as ord,
                                 {num('annual_value')} as v
                          from {ANNUAL_ROWS.replace('ROWS', 'signed')}),
                      points as (
                          select p.rid, {KEYS}, p.sgn,
                                 unnest({_list(['try_cast(p.baseline_year as integer)', 'try_cast(p.target_year as integer)'])}) as year,
                                 unnest({_list(['0', '2'])}) as ord,
                                 unnest({_list([num('p.baseline_value'), num('p.target_value')])}) as v
                          from signed p where p.sgn <> 0
                          union all
                          select p.rid, {KEYS}, p.sgn, a.year, a.ord, a.v
                          from signed p join annual a on a.rid = p.rid where p.sgn <> 0),
                      steps as (
                          select *, lag(v) over (partition by rid order by year, ord) as previous_v,
                                    lag(year) over (partition by rid order by year, ord) as previous_year
                          from points where v is not null and year is not null)
                      select region_code, plan, indicator_code, indicator_name, breakdown, source_doc, source_line,
                             previous_year, previous_v, year, v
                      from steps where previous_v is not null and (v - previous_v) * sgn < 0""",
        ),
        Rule(
            name="previous_plan_actual_matches_baseline",
            severity="warn",
            description=(f"a plan's baseline and the previous plan's final-year actual (its completion table) of the "
                         f"same region and indicator agree within {t.plan_bridge_rel_tolerance:.1%}, for any two "
                         f"consecutive plans of raw/reference/plan_periods.csv"),
            query=f"""with k as ({BOUNDS}),
                      next_plan as (
                          select {KEYS}, try_cast(p.baseline_year as integer) as baseline_year,
                                 {num('p.baseline_value')} * ({TO_CANONICAL}) as baseline
                          from batch_rows p join k on k.indicator_code = p.indicator_code
                          {CONVERSION.replace('ROW', 'p')}
                          where coalesce(p.breakdown, '') = ''),
                      previous_plan as (
                          select c.region_code, c.indicator_code, c.plan,
                                 try_cast(period.last_year as integer) as last_year, {num('c.actual_value')} * {TO_CANONICAL} as actual
                          from raw.plan_completion c join k on k.indicator_code = c.indicator_code
                          join raw.plan_periods period on lower(period.plan) = lower(c.plan)
                          {CONVERSION.replace('ROW', 'c')})
                      select next_plan.region_code, next_plan.indicator_code, next_plan.source_doc, next_plan.source_line,
                             previous_plan.plan as previous_plan, previous_plan.actual as previous_plan_actual,
                             next_plan.plan, next_plan.baseline
                      from next_plan join previous_plan
                        on previous_plan.region_code = next_plan.region_code
                       and previous_plan.indicator_code = next_plan.indicator_code
                       and previous_plan.last_year = next_plan.baseline_year
                       and previous_plan.plan <> next_plan.plan
                      where previous_plan.actual is not null and next_plan.baseline is not null
                        and abs(previous_plan.actual - next_plan.baseline)
                            > {t.plan_bridge_rel_tolerance!r} * greatest(abs(previous_plan.actual), abs(next_plan.baseline))""",
        ),
        Rule(
            name="plan_value_within_unit",
            severity="error",
            description="baseline, targets and annual targets, converted to the canonical unit, lie within the catalog bounds",
            query=f"""with k as ({BOUNDS}),
                      numbered as materialized (select p.*, row_number() over () as rid from batch_rows p),
                      annual as (select rid, annual_column, annual_value from {ANNUAL_ROWS.replace('ROWS', 'numbered')}),
                      v as (
                          select {KEYS}, k.lo, k.hi,
                                 unnest({_list([repr(c) for c in value_columns])}) as field,
                                 unnest({_list([num('p.' + c) + ' * (' + TO_CANONICAL + ')' for c in value_columns])}) as value
                          from numbered p join k on k.indicator_code = p.indicator_code
                          {CONVERSION.replace('ROW', 'p')}
                          union all
                          select {KEYS}, k.lo, k.hi, a.annual_column as field,
                                 {num('a.annual_value')} * ({TO_CANONICAL}) as value
                          from numbered p join annual a on a.rid = p.rid
                          join k on k.indicator_code = p.indicator_code
                          {CONVERSION.replace('ROW', 'p')})
                      select region_code, plan, indicator_code, indicator_name, breakdown, source_doc, source_line,
                             field, value, lo, hi
                      from v k where {outside_bounds('k.value')}""",
        ),
    ]
    return Suite(name=NAME, target="ingest", batch_sql=BATCH_SQL, rules=rules, inputs=INPUTS)
