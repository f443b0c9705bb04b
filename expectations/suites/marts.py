"""Mart suites, one per published mart and named after it, run against the run's candidate file.

The candidate holds the raw snapshot (raw.indicators, raw.units: the catalog) beside the marts
dbt built, so bounds are read from the same file that will be published.
"""

from __future__ import annotations

from ._common import BOUNDS, Rule, Suite, SuiteParams, outside_bounds, row_count_rule

PROGRESS_KEY = ("region_code", "indicator_code", "breakdown", "period")


def _with_row_count(table: str, rules: list[Rule], params: SuiteParams) -> list[Rule]:
    rule = row_count_rule(table, params)
    return rules + ([rule] if rule else [])


def fct_indicator_progress(params: SuiteParams) -> Suite:
    table = "marts.fct_indicator_progress"
    key = ", ".join(f"b.{c}" for c in PROGRESS_KEY)
    rules = [
        Rule(
            name="key_not_null",
            severity="error",
            description="region_code, indicator_code and period are never NULL; status is never NULL",
            query="""select b.region_code, b.indicator_code, b.breakdown, b.period, b.status from batch_rows b
                     where b.region_code is null or b.indicator_code is null or b.period is null or b.status is null""",
        ),
        Rule(
            name="unique_region_indicator_breakdown_period",
            severity="error",
            description="one row per region × indicator × breakdown × period",
            # GROUP BY treats NULL breakdowns as equal, unlike a unique constraint: a NULL and an
            # empty-string total are still two rows, which is what the mart must not contain either.
            query=f"""select {key}, count(*) as copies from batch_rows b
                      group by {key} having count(*) > 1""",
        ),
        Rule(
            name="region_code_known",
            severity="error",
            description="every region_code is in marts.dim_region",
            query="""select distinct b.region_code from batch_rows b
                     where b.region_code not in (select region_code from marts.dim_region)""",
        ),
        Rule(
            name="indicator_code_known",
            severity="error",
            description="every indicator_code is in marts.dim_indicator",
            query="""select distinct b.indicator_code from batch_rows b
                     where b.indicator_code not in (select indicator_code from marts.dim_indicator)""",
        ),
        Rule(
            name="values_within_catalog_bounds",
            severity="error",
            description="actual, baseline and target values lie within the indicator's catalog bounds",
            query=f"""with k as ({BOUNDS}),
                      v as (select {key}, k.lo, k.hi,
                                   unnest(['actual_value', 'baseline_value', 'target_value']) as field,
                                   unnest([b.actual_value, b.baseline_value, b.target_value]) as value
                            from batch_rows b join k using (indicator_code))
                      select region_code, indicator_code, breakdown, period, field, value, lo, hi
                      from v k where {outside_bounds('k.value')}""",
        ),
    ]
    return Suite("fct_indicator_progress", "candidate", f"select * from {table}",
                 _with_row_count(table, rules, params))


def fct_plan_completion(params: SuiteParams) -> Suite:
    table = "marts.fct_plan_completion"
    rules = [
        Rule(
            name="region_code_known",
            severity="error",
            description="every region_code is in marts.dim_region",
            query="""select distinct b.region_code from batch_rows b
                     where b.region_code not in (select region_code from marts.dim_region)""",
        ),
    ]
    return Suite("fct_plan_completion", "candidate", f"select * from {table}",
                 _with_row_count(table, rules, params))


def dim_region(params: SuiteParams) -> Suite:
    table = "marts.dim_region"
    rules = [
        Rule(
            name="region_code_unique",
            severity="error",
            description="one row per region_code",
            builtin=("ExpectColumnValuesToBeUnique", {"column": "region_code"}),
        ),
    ]
    return Suite("dim_region", "candidate", f"select * from {table}", _with_row_count(table, rules, params))


def dim_indicator(params: SuiteParams) -> Suite:
    table = "marts.dim_indicator"
    rules = [
        Rule(
            name="indicator_code_unique",
            severity="error",
            description="one row per indicator_code",
            builtin=("ExpectColumnValuesToBeUnique", {"column": "indicator_code"}),
        ),
    ]
    return Suite("dim_indicator", "candidate", f"select * from {table}", _with_row_count(table, rules, params))


def plan_bases(params: SuiteParams) -> Suite:
    """A plan's printed baseline against the previous plan's final-year actual in the statistics
    (plan_consistency compares it with the previous plan's completion table)."""
    tolerance = params.thresholds.plan_bridge_rel_tolerance
    rules = [
        Rule(
            name="printed_baseline_matches_previous_plan_actual",
            severity="warn",
            description=(f"where a plan prints a baseline and the statistics hold the previous plan's final-year "
                         f"actual of the same series, they agree within {tolerance:.1%}"),
            query=f"""select t.region_code, t.plan, t.indicator_code, t.breakdown, t.source_doc, t.source_line,
                             b.printed_baseline_value, b.previous_plan_actual, b.previous_plan_actual_period
                      from batch_rows b join intermediate.int_plan_targets_converted t using (plan_target_id)
                      where b.printed_baseline_value is not null and b.previous_plan_actual is not null
                        and abs(b.printed_baseline_value - b.previous_plan_actual)
                            > {tolerance!r} * greatest(abs(b.printed_baseline_value), abs(b.previous_plan_actual))""",
        ),
    ]
    return Suite("plan_bases", "candidate", "select * from intermediate.int_plan_bases_chained", rules)


SUITES = (fct_indicator_progress, fct_plan_completion, dim_region, dim_indicator, plan_bases)
TABLES = ("marts.fct_indicator_progress", "marts.fct_plan_completion", "marts.dim_region", "marts.dim_indicator")
