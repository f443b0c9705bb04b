with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

per_plan as (

    select
        region_code,
        plan,
        min(window_start_year) as period_start_year,
        max(window_end_year) as period_end_year,
        min(baseline_year) as baseline_year,
        max(target_year) as target_year,
        count(*) as indicator_count,
        sum(case when attribute = 'binding' then 1 else 0 end) as binding_indicator_count,
        sum(case when baseline_value is null then 1 else 0 end) as indicators_without_baseline,
        max(source_doc) as source_doc

    from plan_targets
    group by region_code, plan

),

final as (

    select
        {{ dbt.concat(["per_plan.region_code", "'|'", "per_plan.plan"]) }} as plan_id,
        per_plan.region_code,
        per_plan.plan,
        plan_periods.plan_name_zh,
        per_plan.period_start_year,
        per_plan.period_end_year,
        per_plan.baseline_year,
        per_plan.target_year,
        -- the evaluation years are the period's (raw/reference/plan_periods.csv)
        plan_periods.mid_term_year as mid_term_evaluation_year,
        plan_periods.last_year as final_evaluation_year,
        per_plan.indicator_count,
        per_plan.binding_indicator_count,
        per_plan.indicators_without_baseline,
        per_plan.source_doc

    from per_plan
    left join plan_periods
        on plan_periods.plan = per_plan.plan

)

select * from final
