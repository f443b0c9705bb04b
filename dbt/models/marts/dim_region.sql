with

regions as (

    select * from {{ ref('stg_reference__regions') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

planned_regions as (

    select
        region_code,
        count(*) as planned_indicator_count

    from plan_targets
    group by region_code

),

final as (

    select
        regions.region_code,
        regions.region_name_zh as region_name,
        regions.region_name_zh,
        regions.region_name_en,
        regions.region_level,
        regions.parent_code,
        regions.parent_name_zh,
        regions.is_simulated,
        coalesce(planned_regions.planned_indicator_count, 0) as planned_indicator_count,
        (planned_regions.region_code is not null) as has_plan

    from regions
    left join planned_regions
        on planned_regions.region_code = regions.region_code

)

select * from final
