{#- Everything the progress arithmetic needs, one row per latest observation: the plan target
    whose window holds the period with its attributes and base, the catalog's measure, direction
    and bounds, the plan's annual targets for the observation's year and the year before, the
    series' first observation and how many points the series has up to this period. No arithmetic
    beyond counting here: int_indicator_progress_computed does that, so its unit tests need this
    one input only.

    A view: the series' window, the year figures and what an incremental build seeds from are in
    the table int_progress_series_counted; what this view adds is joined by unique key, and only
    the fact table reads it (an incremental build: the rebuilt rows). -#}
{{ config(materialized='view') }}

with

series_counted as (

    select * from {{ ref('int_progress_series_counted') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

bases as (

    -- the printed baseline, else the previous plan's final-year actual
    select * from {{ ref('int_plan_bases_chained') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

indicator_rules as (

    -- the effective bounds, derived once by planwatch.core.catalog: the natural limits
    select * from {{ ref('stg_reference__indicator_rules') }}

),

joined as (

    -- the columns in the order the arithmetic's unit tests and the fact have always had them
    select
        series_counted.region_code,
        series_counted.indicator_code,
        series_counted.breakdown,
        series_counted.period,
        series_counted.period_type,
        series_counted.period_year,
        series_counted.period_quarter,
        series_counted.period_index,
        series_counted.actual_value,
        series_counted.numerator,
        series_counted.denominator,
        series_counted.is_simulated,
        series_counted.source_file_seq,
        series_counted.plan_target_id,
        series_counted.plan,
        plan_targets.attribute,
        bases.baseline_year,
        bases.baseline_value,
        bases.baseline_source,
        plan_targets.target_year,
        plan_targets.target_value,
        plan_targets.target_kind,
        plan_targets.window_start_year as plan_start_year,
        series_counted.is_after_target_year,
        series_counted.prior_years_total,
        series_counted.annual_target_this_year,
        series_counted.annual_target_previous_year,
        indicators.unit,
        indicators.kind,
        indicators.measure,
        indicators.direction,
        indicator_rules.lower_bound,
        indicator_rules.upper_bound,
        series_counted.observations_to_date,
        series_counted.first_observation_value,
        series_counted.first_observation_period_type,
        series_counted.first_observation_year,
        series_counted.first_observation_quarter

    from series_counted
    inner join indicators
        on indicators.indicator_code = series_counted.indicator_code
    -- plan_target_id is unique in both: a null id finds none
    left join plan_targets
        on plan_targets.plan_target_id = series_counted.plan_target_id
    left join bases
        on bases.plan_target_id = series_counted.plan_target_id
    left join indicator_rules
        on indicator_rules.indicator_code = series_counted.indicator_code

)

select * from joined
