{#- Incremental by period. A row for period p depends only on the plan, the catalog and the
    series' observations up to p; so a build recomputes, per series, the rows from the earliest
    period that has a new or revised observation onwards, and keeps the rest. "New" means loaded
    from a file later than any in this table (source_file_seq above its maximum) or for a period
    after its last one. Plan, catalog or code changes need --full-refresh: planwatch/build/fingerprint.py decides
    that by fingerprint (dbt/README.md). -#}
-- depends_on: {{ ref('int_progress_series_counted') }}
{#- progress_id is made of the key (region|indicator|breakdown|period): on DuckDB the table computes
    it on read, and an incremental build replaces rows by the key's columns (macros/virtual_columns.sql) -#}
{{ config(**incremental_by_key(['region_code', 'indicator_code', 'breakdown', 'period'],
                               virtual_columns={'progress_id': progress_id_expression()})) }}

with

computed as (

    select * from {{ ref('int_indicator_progress_computed') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

statuses as (

    select * from {{ ref('dim_status') }}

),

{% if is_incremental() %}
{%- set from_index = earliest_changed_period_index(ref('int_progress_series_counted'), this) %}
{{ changed_series_rows('computed', 'to_build', from_index) }},
{% else %}
to_build as (

    select * from computed

),
{% endif %}

final as (

    select
        to_build.observation_id as progress_id,
        to_build.series_id,
        to_build.region_code,
        regions.region_name,
        to_build.indicator_code,
        coalesce(plan_targets.indicator_name, indicators.indicator_name) as indicator_name,
        indicators.indicator_name as indicator_name_canonical,
        indicators.indicator_name_en,
        to_build.breakdown,
        to_build.plan,
        {{ dbt.concat(["to_build.region_code", "'|'", "to_build.plan"]) }} as plan_id,
        to_build.attribute,
        to_build.is_binding,
        to_build.period,
        to_build.period_type,
        to_build.period_year,
        to_build.period_quarter,
        to_build.period_index,
        {{ period_end_date('to_build.period_year', 'to_build.period_quarter') }} as period_end,
        to_build.unit,
        to_build.kind,
        to_build.measure,
        to_build.direction,
        to_build.actual_value,
        to_build.comparable_value,
        to_build.target_kind,
        to_build.cumulative_value,
        to_build.numerator,
        to_build.denominator,
        to_build.baseline_year,
        to_build.baseline_value,
        to_build.base_value,
        to_build.base_source,
        to_build.target_value,
        to_build.target_year,
        to_build.expected_value,
        to_build.progress_ratio,
        to_build.projected_value,
        to_build.projected_ratio,
        to_build.growth_ratio,
        to_build.progress_method,
        to_build.data_points,
        to_build.status,
        statuses.status_zh,
        statuses.status_en,
        to_build.status_basis,
        {{ status_basis_label('to_build.status_basis', 'zh') }} as status_basis_zh,
        {{ status_basis_label('to_build.status_basis', 'en') }} as status_basis_en,
        (to_build.is_simulated or coalesce(regions.is_simulated, false)) as is_simulated,
        to_build.source_file_seq

    from to_build
    left join regions
        on regions.region_code = to_build.region_code
    left join indicators
        on indicators.indicator_code = to_build.indicator_code
    left join plan_targets
        on plan_targets.plan_target_id = to_build.plan_target_id
    left join statuses
        on statuses.status = to_build.status

)

select * from final
