with

progress as (

    select * from {{ ref('fct_indicator_progress') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

)

select
    progress.region_code,
    progress.region_name,
    progress.indicator_code,
    indicators.indicator_name_zh,
    indicators.unit,
    coalesce(progress.breakdown, '') as breakdown,
    progress.period,
    progress.period_end,
    progress.actual_value,
    progress.plan as ended_plan,
    progress.is_simulated

from progress
left join indicators
    on indicators.indicator_code = progress.indicator_code
where progress.plan is null or progress.status = 'target_year_passed'
