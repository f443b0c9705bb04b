{#- One figure per series and year: the annual figure where the region reported one, else the
    year's Q4 (a flow's Q4 is the year-to-date total, a stock's Q4 the year-end level). What an
    evaluation and a chained base read as "the actual of that year".

    int_observations_latest has one row per series and period, so a year has at most an annual row
    and a Q4 row: every annual row, and each Q4 row whose year has none. An anti join with the
    annual rows (few) instead of a window ranking the two: the window grouped every year-end row
    by series and year and then joined them back (national: the view 0.34 -> 0.05 s of CPU, read by
    fct_plan_evaluation, int_flow_year_totals and int_plan_bases_chained, bench/README.md, tenth pass). -#}
with

year_end as (

    select * from {{ ref('int_observations_latest') }}
    where period_type = 'year' or period_quarter = 4

),

annual as (

    select
        region_code,
        indicator_code,
        breakdown,
        period_year

    from {{ ref('int_observations_latest') }}
    where period_type = 'year'

)

select year_end.*
from year_end
left join annual
    on annual.region_code = year_end.region_code
    and annual.indicator_code = year_end.indicator_code
    and annual.breakdown = year_end.breakdown
    and annual.period_year = year_end.period_year
where year_end.period_type = 'year'
   or annual.region_code is null
