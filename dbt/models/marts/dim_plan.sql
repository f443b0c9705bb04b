with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

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
        {{ dbt.concat(["region_code", "'|'", "plan"]) }} as plan_id,
        region_code,
        plan,
        case plan
            when '13th' then '十三五'
            when '14th' then '十四五'
            when '15th' then '十五五'
        end as plan_name_zh,
        period_start_year,
        period_end_year,
        baseline_year,
        target_year,
        -- the plans call for a mid-term evaluation in their third year and a final one in the last
        period_start_year + 2 as mid_term_evaluation_year,
        period_end_year as final_evaluation_year,
        indicator_count,
        binding_indicator_count,
        indicators_without_baseline,
        source_doc

    from per_plan

)

select * from final
