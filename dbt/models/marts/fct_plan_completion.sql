{#- The 13th plan's 2020 targets against the 2020 actuals the completion tables report. -#}
with

completion as (

    select * from {{ ref('int_plan_completion_converted') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

judged as (

    select
        completion.*,
        case
            when target_value is null or actual_value is null then null
            when direction = 'increase' then actual_value >= target_value
            when direction = 'decrease' then actual_value <= target_value
            else abs(actual_value - target_value) <= {{ var('maintain_margin') }} * abs(target_value)
        end as is_met

    from completion

),

final as (

    select
        judged.completion_id,
        judged.region_code,
        regions.region_name,
        judged.plan,
        judged.indicator_code,
        judged.indicator_name,
        judged.breakdown,
        judged.attribute,
        judged.direction,
        judged.unit,
        judged.target_year,
        judged.target_value,
        judged.actual_value,
        judged.actual_value - judged.target_value as gap_value,
        judged.baseline_year,
        judged.baseline_value,
        judged.is_met,
        case
            when judged.is_met is null then 'no_data'
            when judged.is_met then 'met'
            else 'not_met'
        end as completion_status,
        case
            when judged.is_met is null then '无数据'
            when judged.is_met then '已完成'
            else '未完成'
        end as completion_status_zh,
        judged.unit_conversion_status,
        judged.printed_unit,
        judged.unit_as_read,
        judged.unit_note,
        coalesce(regions.is_simulated, false) as is_simulated,
        judged.source_doc,
        judged.source_line

    from judged
    left join regions
        on regions.region_code = judged.region_code

)

select * from final
