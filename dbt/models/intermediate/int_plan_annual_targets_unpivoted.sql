{#- The plan's own year-by-year targets (target_2021 … target_2025), one row per printed value,
    already in the catalog unit. -#}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

unpivoted as (

    {% for year in [2021, 2022, 2023, 2024, 2025] %}
    select
        plan_target_id,
        {{ year }} as target_year,
        target_{{ year }} as annual_target_value
    from plan_targets
    where target_{{ year }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unpivoted
