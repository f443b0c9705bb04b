"""Suite `plan_consistency`: the plan targets in the ingest store agree with themselves and the catalog.

Batch: raw.plan_indicators without drafts (`review_status = 'draft'` rows are extracted from new
plan documents and wait for a person; they are not published, so they do not gate publishing).
Plan values are decimal strings as printed, in the printed unit; they are converted to the
indicator's canonical unit through raw.units (same dimension: v × factor_printed / factor_canonical)
before they are compared with the catalog bounds.
"""

from __future__ import annotations

from ._common import BOUNDS, Rule, Suite, SuiteParams, num, outside_bounds

NAME = "plan_consistency"

BATCH_SQL = """
    select * from raw.plan_indicators
    where coalesce(review_status, 'reviewed') <> 'draft'
"""

KEYS = "p.region_code, p.plan, p.indicator_code, p.indicator_name, p.breakdown, p.source_doc, p.source_line"

# The printed unit's factor to the canonical unit (NULL when it cannot be converted: the loader
# refuses those rows, so they are not judged here).
TO_CANONICAL = f"""
    case when p.unit = k.unit then 1.0
         when pu.dimension = cu.dimension then {num('pu.factor')} / {num('cu.factor')} end
"""

ANNUAL = ("target_2021", "target_2022", "target_2023", "target_2024", "target_2025")


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def build(params: SuiteParams) -> Suite:
    t = params.thresholds
    value_columns = ["baseline_value", "target_value", *ANNUAL]
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
            description="baseline, annual targets 2021–2025 and the final target move monotonically toward the final target",
            query=f"""with k as ({BOUNDS}),
                      signed as (
                          select p.*, row_number() over () as rid,
                                 case when {num('p.target_value')} > {num('p.baseline_value')} then 1
                                      when {num('p.target_value')} < {num('p.baseline_value')} then -1
                                      when {num('p.target_value')} = {num('p.baseline_value')} then 0
                                      when k.direction = 'increase' then 1
                                      when k.direction = 'decrease' then -1 else 0 end as sgn
                          from batch_rows p join k on k.indicator_code = p.indicator_code),
                      points as (
                          select p.rid, {KEYS}, p.sgn,
                                 unnest({_list(['try_cast(p.baseline_year as integer)', '2021', '2022', '2023', '2024', '2025', 'try_cast(p.target_year as integer)'])}) as year,
                                 unnest({_list(['0', '1', '2', '3', '4', '5', '6'])}) as ord,
                                 unnest({_list([num('p.baseline_value')] + [num('p.' + c) for c in ANNUAL] + [num('p.target_value')])}) as v
                          from signed p where p.sgn <> 0),
                      steps as (
                          select *, lag(v) over (partition by rid order by year, ord) as previous_v,
                                    lag(year) over (partition by rid order by year, ord) as previous_year
                          from points where v is not null and year is not null)
                      select region_code, plan, indicator_code, indicator_name, breakdown, source_doc, source_line,
                             previous_year, previous_v, year, v
                      from steps where previous_v is not null and (v - previous_v) * sgn < 0""",
        ),
        Rule(
            name="plan13_actual_matches_plan14_baseline",
            severity="warn",
            description=(f"the 13th plan's 2020 actual and the 14th plan's 2020 baseline of the same region and "
                         f"indicator agree within {t.plan_bridge_rel_tolerance:.1%}"),
            query=f"""with k as ({BOUNDS}),
                      p14 as (
                          select {KEYS}, {num('p.baseline_value')} * ({TO_CANONICAL}) as baseline
                          from batch_rows p join k on k.indicator_code = p.indicator_code
                          left join raw.units pu on pu.unit = p.unit left join raw.units cu on cu.unit = k.unit
                          where p.plan <> '13th' and try_cast(p.baseline_year as integer) = 2020
                            and coalesce(p.breakdown, '') = ''),
                      p13 as (
                          select c.region_code, c.indicator_code, {num('c.actual_value')} * (
                                 case when c.unit = k.unit then 1.0
                                      when pu.dimension = cu.dimension then {num('pu.factor')} / {num('cu.factor')} end) as actual
                          from raw.plan_completion c join k on k.indicator_code = c.indicator_code
                          left join raw.units pu on pu.unit = c.unit left join raw.units cu on cu.unit = k.unit)
                      select p14.region_code, p14.indicator_code, p14.source_doc, p14.source_line,
                             p13.actual as actual_2020_13th, p14.baseline as baseline_2020_14th
                      from p14 join p13 on p13.region_code = p14.region_code and p13.indicator_code = p14.indicator_code
                      where p13.actual is not null and p14.baseline is not null
                        and abs(p13.actual - p14.baseline)
                            > {t.plan_bridge_rel_tolerance!r} * greatest(abs(p13.actual), abs(p14.baseline))""",
        ),
        Rule(
            name="plan_value_within_unit",
            severity="error",
            description="baseline, targets and annual targets, converted to the canonical unit, lie within the catalog bounds",
            query=f"""with k as ({BOUNDS}),
                      v as (
                          select {KEYS}, k.lo, k.hi,
                                 unnest({_list([repr(c) for c in value_columns])}) as field,
                                 unnest({_list([num('p.' + c) + ' * (' + TO_CANONICAL + ')' for c in value_columns])}) as value
                          from batch_rows p join k on k.indicator_code = p.indicator_code
                          left join raw.units pu on pu.unit = p.unit left join raw.units cu on cu.unit = k.unit)
                      select region_code, plan, indicator_code, indicator_name, breakdown, source_doc, source_line,
                             field, value, lo, hi
                      from v k where {outside_bounds('k.value')}""",
        ),
    ]
    return Suite(name=NAME, target="ingest", batch_sql=BATCH_SQL, rules=rules)
