{#- The latest row of every series, the one place this ranking lives: the report and the summary
    read this view (planwatch.serve.report.LATEST_SQL). A series whose target year has passed keeps
    its verdict at that year; otherwise its latest period with an actual value (or, with none yet,
    its latest period). -#}
with

progress as (

    select * from {{ ref('fct_indicator_progress') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

statuses as (

    select * from {{ ref('dim_status') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

ranked as (

    select
        progress.*,
        row_number() over (
            partition by progress.region_code, progress.plan, progress.indicator_code,
                coalesce(progress.breakdown, '')
            order by (progress.status <> 'target_year_passed') desc, (progress.actual_value is not null) desc,
                progress.period_end desc
        ) as recency

    from progress

)

select
    ranked.region_code,
    ranked.region_name,
    regions.region_name_en,
    ranked.plan,
    ranked.indicator_code,
    ranked.indicator_name,
    indicators.indicator_name_zh,
    indicators.indicator_name_en,
    indicators.unit,
    ranked.attribute,
    coalesce(ranked.breakdown, '') as breakdown,
    ranked.period,
    ranked.period_end,
    ranked.actual_value,
    ranked.baseline_value,
    ranked.target_value,
    ranked.target_year,
    ranked.expected_value,
    ranked.progress_ratio,
    ranked.projected_value,
    ranked.status,
    ranked.status_basis,
    ranked.status_basis_zh,
    ranked.status_basis_en,
    statuses.status_zh as status_label_zh,
    statuses.status_en as status_label_en,
    statuses.sort_order as status_order,
    ranked.is_simulated

from ranked
left join indicators
    on indicators.indicator_code = ranked.indicator_code
left join statuses
    on statuses.status = ranked.status
left join regions
    on regions.region_code = ranked.region_code
where ranked.recency = 1
