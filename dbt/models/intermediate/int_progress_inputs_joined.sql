{#- Everything the progress arithmetic needs, one row per latest observation: the plan target
    whose window holds the period (baseline year < year <= target year), the catalog attributes,
    the plan's annual targets for the observation's year and the year before, the series' first
    observation (the base point when the plan printed no baseline) and how many points the series
    has up to this period. No arithmetic beyond counting here: int_indicator_progress_computed
    does that, so its unit tests need this one input only. -#}
with

observations as (

    select * from {{ ref('int_observations_latest') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

annual_targets as (

    select * from {{ ref('int_plan_annual_targets_unpivoted') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

matched as (

    select
        observations.*,
        plan_targets.plan_target_id,
        plan_targets.plan,
        plan_targets.attribute,
        plan_targets.baseline_year,
        plan_targets.baseline_value,
        plan_targets.target_year,
        plan_targets.target_value,
        plan_targets.unit_conversion_status,
        -- overlapping windows (a 13th-plan row still open when the 14th starts): the later plan wins
        row_number() over (
            partition by observations.observation_id
            order by plan_targets.window_end_year desc, plan_targets.plan desc
        ) as plan_rank

    from observations
    left join plan_targets
        on plan_targets.region_code = observations.region_code
        and plan_targets.indicator_code = observations.indicator_code
        and plan_targets.breakdown = observations.breakdown
        and observations.period_year >= plan_targets.window_start_year
        and observations.period_year <= plan_targets.window_end_year

),

one_plan as (

    select * from matched
    where plan_rank = 1

),

series as (

    select
        one_plan.*,
        {{ dbt.concat(["region_code", "'|'", "indicator_code", "'|'", "breakdown", "'|'", "coalesce(plan, '')"]) }}
            as series_id,
        count(*) over (
            partition by region_code, indicator_code, breakdown, plan
            order by period_index, period_type
            rows between unbounded preceding and current row
        ) as observations_to_date,
        first_value(value) over (
            partition by region_code, indicator_code, breakdown, plan
            order by period_index, period_type
            rows between unbounded preceding and current row
        ) as first_observation_value,
        first_value(period_type) over (
            partition by region_code, indicator_code, breakdown, plan
            order by period_index, period_type
            rows between unbounded preceding and current row
        ) as first_observation_period_type,
        first_value(period_year) over (
            partition by region_code, indicator_code, breakdown, plan
            order by period_index, period_type
            rows between unbounded preceding and current row
        ) as first_observation_year,
        first_value(period_quarter) over (
            partition by region_code, indicator_code, breakdown, plan
            order by period_index, period_type
            rows between unbounded preceding and current row
        ) as first_observation_quarter

    from one_plan

),

joined as (

    select
        series.observation_id,
        series.series_id,
        series.region_code,
        series.indicator_code,
        series.breakdown,
        series.period,
        series.period_type,
        series.period_year,
        series.period_quarter,
        series.period_index,
        series.value as actual_value,
        series.numerator,
        series.denominator,
        series.is_simulated,
        series.source_file_seq,
        series.plan_target_id,
        series.plan,
        series.attribute,
        series.baseline_year,
        series.baseline_value,
        series.target_year,
        series.target_value,
        this_year.annual_target_value as annual_target_this_year,
        previous_year.annual_target_value as annual_target_previous_year,
        indicators.unit,
        indicators.kind,
        indicators.measure,
        indicators.direction,
        indicators.lower_bound,
        indicators.upper_bound,
        series.observations_to_date,
        series.first_observation_value,
        series.first_observation_period_type,
        series.first_observation_year,
        series.first_observation_quarter

    from series
    inner join indicators
        on indicators.indicator_code = series.indicator_code
    left join annual_targets as this_year
        on this_year.plan_target_id = series.plan_target_id
        and this_year.target_year = series.period_year
    left join annual_targets as previous_year
        on previous_year.plan_target_id = series.plan_target_id
        and previous_year.target_year = series.period_year - 1

)

select * from joined
