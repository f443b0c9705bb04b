{#- What happens to each indicator when a region moves from one plan to the next (consecutive
    periods of raw/reference/plan_periods.csv, both plans loaded): kept, renamed (same indicator,
    another printed name), dropped (in the previous plan only) or added (in the next only). -#}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

region_plans as (

    select distinct region_code, plan
    from plan_targets

),

plan_pairs as (

    select
        previous_plans.region_code,
        previous_plans.plan as previous_plan,
        next_plans.plan as next_plan

    from region_plans as previous_plans
    inner join plan_periods as previous_periods
        on previous_periods.plan = previous_plans.plan
    inner join plan_periods as next_periods
        on next_periods.base_year = previous_periods.last_year
    inner join region_plans as next_plans
        on next_plans.region_code = previous_plans.region_code
        and next_plans.plan = next_periods.plan

),

plan_series as (

    -- every series of either plan of a pair, with the side it is on
    select
        plan_pairs.*,
        case when plan_targets.plan = plan_pairs.previous_plan then 'previous' else 'next' end as side,
        plan_targets.indicator_code,
        plan_targets.breakdown,
        plan_targets.indicator_name,
        plan_targets.target_value,
        plan_targets.source_doc

    from plan_pairs
    inner join plan_targets
        on plan_targets.region_code = plan_pairs.region_code
        and plan_targets.plan in (plan_pairs.previous_plan, plan_pairs.next_plan)

),

previous_series as (

    select * from plan_series where side = 'previous'

),

next_series as (

    select * from plan_series where side = 'next'

),

paired as (

    select
        coalesce(previous_series.region_code, next_series.region_code) as region_code,
        coalesce(previous_series.previous_plan, next_series.previous_plan) as previous_plan,
        coalesce(previous_series.next_plan, next_series.next_plan) as next_plan,
        coalesce(previous_series.indicator_code, next_series.indicator_code) as indicator_code,
        coalesce(previous_series.breakdown, next_series.breakdown) as breakdown,
        previous_series.indicator_name as previous_indicator_name,
        next_series.indicator_name as next_indicator_name,
        previous_series.target_value as previous_target_value,
        next_series.target_value as next_target_value,
        previous_series.source_doc as previous_source_doc,
        next_series.source_doc as next_source_doc,
        case
            when previous_series.indicator_code is null then 'added'
            when next_series.indicator_code is null then 'dropped'
            when previous_series.indicator_name <> next_series.indicator_name then 'renamed'
            else 'kept'
        end as transition

    from previous_series
    full outer join next_series
        on next_series.region_code = previous_series.region_code
        and next_series.previous_plan = previous_series.previous_plan
        and next_series.indicator_code = previous_series.indicator_code
        and next_series.breakdown = previous_series.breakdown

)

select
    {{ dbt.concat(["region_code", "'|'", "previous_plan", "'|'", "next_plan", "'|'", "indicator_code", "'|'", "breakdown"]) }}
        as plan_transition_id,
    *
from paired
