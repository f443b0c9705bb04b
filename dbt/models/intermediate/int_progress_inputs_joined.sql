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

plan_years as (

    -- each plan target once for every year its window holds (baseline year < year <= target
    -- year), so that observations find their target by an equality join on the year
    select
        plan_targets.*,
        unnest(generate_series(plan_targets.window_start_year, plan_targets.window_end_year)) as plan_year

    from plan_targets

),

plan_year_ranked as (

    select
        plan_years.*,
        -- overlapping windows (a 13th-plan row still open when the 14th starts): the later plan wins
        row_number() over (
            partition by region_code, indicator_code, breakdown, plan_year
            order by window_end_year desc, plan desc
        ) as plan_rank

    from plan_years

),

plan_for_year as (

    select * from plan_year_ranked
    where plan_rank = 1

),

matched as (

    -- Resolving the plan on the plan side (270k rows a year at national scale) rather than per
    -- observation (5 M rows) takes a range join and a window over every observation out of the
    -- build (bench/README.md).
    select
        observations.*,
        plan_for_year.plan_target_id,
        plan_for_year.plan,
        plan_for_year.attribute,
        plan_for_year.baseline_year,
        plan_for_year.baseline_value,
        plan_for_year.target_year,
        plan_for_year.target_value,
        plan_for_year.unit_conversion_status

    from observations
    left join plan_for_year
        on plan_for_year.region_code = observations.region_code
        and plan_for_year.indicator_code = observations.indicator_code
        and plan_for_year.breakdown = observations.breakdown
        and plan_for_year.plan_year = observations.period_year

),

series as (

    select
        matched.*,
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

    from matched

),

joined as (

    select
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
