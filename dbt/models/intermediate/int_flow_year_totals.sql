{#- One row per region × indicator × breakdown × year of a flow indicator with a full-year figure:
    the year's total (its annual figure, else its Q4 year-to-date figure) and the running total of
    the series' full years up to it. A cumulative target's progress at a period is the running
    total of the plan's earlier years plus the period's own year-to-date figure
    (int_progress_inputs_joined looks the earlier years up here, docs/methodology.md). Small: one
    row per flow series and year, rebuilt whole. -#}
with

observations as (

    select * from {{ ref('int_observations_latest') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

year_figures as (

    select
        observations.region_code,
        observations.indicator_code,
        observations.breakdown,
        observations.period_year,
        observations.value,
        -- the annual figure is the authoritative one where both exist (as in the status history)
        row_number() over (
            partition by observations.region_code, observations.indicator_code, observations.breakdown,
                observations.period_year
            order by case when observations.period_type = 'year' then 0 else 1 end
        ) as figure_rank

    from observations
    inner join indicators
        on indicators.indicator_code = observations.indicator_code
    where indicators.measure = 'flow'
      and (observations.period_type = 'year' or observations.period_quarter = 4)

),

running as (

    select
        region_code,
        indicator_code,
        breakdown,
        period_year,
        value as year_total,
        sum(value) over series_years as running_total,
        count(*) over series_years as years_counted

    from year_figures
    where figure_rank = 1
    window series_years as (
        partition by region_code, indicator_code, breakdown
        order by period_year
        rows between unbounded preceding and current row
    )

)

select * from running
