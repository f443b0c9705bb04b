{#- Regions that report statistics or had a plan, but have no plan loaded for the period the run's
    quarter falls in (raw/reference/plan_periods.csv): their statistics still load and are checked,
    and sit in fct_indicator_progress without a target for their year (plan null, or the ended
    plan's series as target_year_passed) until the plan is added. -#}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

observations as (

    select * from {{ ref('int_observations_latest') }}

),

regions as (

    select * from {{ ref('stg_reference__regions') }}

),

current_period as (

    select * from plan_periods
    where {{ as_of_year() }} between first_year and last_year

),

known_regions as (

    select region_code from plan_targets
    union
    select region_code from observations

),

covered as (

    -- a plan target whose window holds the run's year
    select distinct region_code
    from plan_targets
    where {{ as_of_year() }} between window_start_year and window_end_year

),

latest_plans as (

    select region_code, max(window_end_year) as last_plan_year,
        max(plan) as latest_plan
    from plan_targets
    group by region_code

),

unplanned_observations as (

    select region_code, count(*) as observations_without_plan
    from observations
    where period_year = {{ as_of_year() }}
    group by region_code

),

final as (

    select
        known_regions.region_code,
        regions.region_name_zh as region_name,
        coalesce(regions.is_simulated, false) as is_simulated,
        current_period.plan as current_plan,
        current_period.plan_name_zh as current_plan_name_zh,
        {{ as_of_year() }} as as_of_year,
        latest_plans.latest_plan,
        latest_plans.last_plan_year,
        coalesce(unplanned_observations.observations_without_plan, 0) as observations_without_plan,
        'put the plan document in raw/plans/, draft it with `python -m planwatch.ingest.extract`, review it '
            || 'into raw/plan_indicators/<region>_<plan>.csv and rerun (docs/extractor.md)' as how_to_add

    from known_regions
    cross join current_period
    left join covered
        on covered.region_code = known_regions.region_code
    left join regions
        on regions.region_code = known_regions.region_code
    left join latest_plans
        on latest_plans.region_code = known_regions.region_code
    left join unplanned_observations
        on unplanned_observations.region_code = known_regions.region_code
    where covered.region_code is null

)

select * from final
