{#- The base of every plan target: the printed baseline, or, where the plan prints none, the
    previous plan's final-year actual (the year figure of the period's base_year,
    raw/reference/plan_periods.csv), so that a series crossing from one plan to the next keeps
    its footing. Where both exist they are kept side by side for the bridge check
    (expectations, marts suite).

    Incremental by plan target: a row reads the year figure of its plan's base_year only, and the
    year figure of year Y comes from int_observations_latest's rows of Y (its annual row and its Q4
    row, both at Y's Q4 period_index, int_observations_year_end). An incremental build rebuilds no
    observation before the earliest period with a newer statistics row
    (PLANWATCH_REBUILT_FROM_PERIOD_INDEX, planwatch/build/candidate.py), and the plan targets and
    periods are the published build's (same fingerprint, tagged same_every_quarter). So it
    recomputes only the targets whose base year is that period's year or later and keeps the others:
    a new quarter rebuilds only the plans based on its own year (rebuilt whole, the table took 0.63 s
    of every quarter, bench/README.md). Without the bound (a build by hand) it recomputes every target.
    tests/planwatch/build/test_candidate.py revises a base year's figure in an incremental build. -#}
{{ config(**incremental_by_key('plan_target_id')) }}
{%- set rebuilt_from = rebuilt_from_period_index() %}
{%- set from_year = year_of_period_index(rebuilt_from) if is_incremental() and rebuilt_from is not none else none %}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}
    {%- if from_year is not none %}
    where base_year >= {{ from_year }}
    {%- endif %}

),

year_end as (

    select * from {{ ref('int_observations_year_end') }}
    {%- if from_year is not none %}
    where period_year >= {{ from_year }}
    {%- endif %}

),

previous_actuals as (

    select
        plan_targets.plan_target_id,
        plan_targets.baseline_year as printed_baseline_year,
        plan_targets.baseline_value as printed_baseline_value,
        plan_periods.base_year,
        year_end.value as previous_plan_actual,
        year_end.period as previous_plan_actual_period,
        year_end.is_simulated as previous_plan_actual_is_simulated

    from plan_targets
    inner join plan_periods
        on plan_periods.plan = plan_targets.plan
    left join year_end
        on year_end.region_code = plan_targets.region_code
        and year_end.indicator_code = plan_targets.indicator_code
        and year_end.breakdown = plan_targets.breakdown
        and year_end.period_year = plan_periods.base_year

),

chained as (

    select
        plan_target_id,
        printed_baseline_year,
        printed_baseline_value,
        base_year,
        previous_plan_actual,
        previous_plan_actual_period,
        previous_plan_actual_is_simulated,
        -- the printed year stays when there is no value at all (as the plan file has it)
        case
            when printed_baseline_value is null and previous_plan_actual is not null then base_year
            else printed_baseline_year
        end as baseline_year,
        coalesce(printed_baseline_value, previous_plan_actual) as baseline_value,
        case
            when printed_baseline_value is not null then 'plan_baseline'
            when previous_plan_actual is not null then 'previous_plan_actual'
        end as baseline_source

    from previous_actuals

)

select * from chained
