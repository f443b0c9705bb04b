{#- One row per region × indicator × breakdown × year of a flow indicator with a full-year figure:
    the year's total (its annual figure, else its Q4 year-to-date figure) and the running total of
    the series' full years up to it. A cumulative target's progress at a period is the running
    total of the plan's earlier years plus the period's own year-to-date figure
    (int_progress_series_counted looks the earlier years up here, docs/methodology.md). Small: one
    row per flow series and year, rebuilt whole. -#}
with

year_end as (

    -- the year's figure (annual, else Q4 year-to-date) is chosen once, in int_observations_year_end
    select * from {{ ref('int_observations_year_end') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

year_figures as (

    select
        year_end.region_code,
        year_end.indicator_code,
        year_end.breakdown,
        year_end.period_year,
        year_end.value

    from year_end
    inner join indicators
        on indicators.indicator_code = year_end.indicator_code
    where indicators.measure = 'flow'

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
    window series_years as (
        partition by region_code, indicator_code, breakdown
        order by period_year
        rows between unbounded preceding and current row
    )

)

select * from running
