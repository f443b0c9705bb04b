{#- One figure per series and year: the annual figure where the region reported one, else the
    year's Q4 (a flow's Q4 is the year-to-date total, a stock's Q4 the year-end level). What an
    evaluation and a chained base read as "the actual of that year". -#}
with

observations as (

    select * from {{ ref('int_observations_latest') }}
    where period_type = 'year' or period_quarter = 4

),

ranked as (

    select
        observations.*,
        row_number() over (
            partition by region_code, indicator_code, breakdown, period_year
            order by case when period_type = 'year' then 0 else 1 end
        ) as figure_rank

    from observations

)

select * from ranked
where figure_rank = 1
