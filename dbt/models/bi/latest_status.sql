{#- The latest row of every series (marts.fct_indicator_latest, where the ranking lives) with its
    labels: the report and the summary read this view (planwatch.serve.report.LATEST_SQL). A series
    whose target year has passed keeps its verdict at that year; otherwise its latest period with an
    actual value (or, with none yet, its latest period). -#}
with

latest as (

    select * from {{ ref('fct_indicator_latest') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

statuses as (

    select * from {{ ref('dim_status') }}

),

regions as (

    select * from {{ ref('dim_region') }}

)

select
    latest.region_code,
    latest.region_name,
    regions.region_name_en,
    latest.plan,
    latest.indicator_code,
    latest.indicator_name,
    indicators.indicator_name_zh,
    indicators.indicator_name_en,
    indicators.unit,
    latest.attribute,
    coalesce(latest.breakdown, '') as breakdown,
    latest.period,
    latest.period_end,
    latest.actual_value,
    latest.baseline_value,
    latest.target_value,
    latest.target_year,
    latest.expected_value,
    latest.progress_ratio,
    latest.projected_value,
    latest.status,
    latest.status_basis,
    latest.status_basis_zh,
    latest.status_basis_en,
    statuses.status_zh as status_label_zh,
    statuses.status_en as status_label_en,
    statuses.sort_order as status_order,
    latest.is_simulated

from latest
left join indicators
    on indicators.indicator_code = latest.indicator_code
left join statuses
    on statuses.status = latest.status
left join regions
    on regions.region_code = latest.region_code
