"""Mart suites, one per published mart and named after it, run against the run's candidate file.

Each fact is checked once. dbt's tests check what dbt builds (keys not null and unique, codes
known to dim_region / dim_indicator: dbt/models/marts/_marts__models.yml); these suites keep what
dbt does not know: the catalog bounds (raw.indicator_rules, snapshotted into the candidate beside
the marts, so bounds are read from the file that will be published), the plan bridge between two
plans, and the drift of each mart's row count against the published warehouse.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _row_count_only(name: str) -> Callable[[SuiteParams], Suite]:
    """A mart whose other facts dbt tests: only its drift against the published warehouse is checked here
    (no rule, hence no suite, while nothing is published)."""
    table = f"marts.{name}"

    def build(params: SuiteParams) -> Suite:
        return Suite(name, "candidate", f"select * from {table}", _with_row_count(table, [], params))

    return build


fct_plan_completion = _row_count_only("fct_plan_completion")
dim_region = _row_count_only("dim_region")
dim_indicator = _row_count_only("dim_indicator")


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
