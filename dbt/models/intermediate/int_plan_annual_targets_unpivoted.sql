{#- The plan's own year-by-year targets, one row per printed value, already in the catalog unit.
    The years are whatever `target_YYYY` columns the loaded plan files have (no period is written
    here); each value is converted by its plan row's factor (int_plan_targets_converted). -#}
{%- set annual_columns = annual_target_columns(ref('stg_plans__indicator_targets')) -%}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

plan_rows as (

    select * from {{ ref('stg_plans__indicator_targets') }}

),

unpivoted as (

    {% for column in annual_columns %}
    select
        plan_targets.plan_target_id,
        {{ column[7:] }} as target_year,
        plan_rows.{{ column }} * plan_targets.conversion_factor as annual_target_value
    from plan_targets
    inner join plan_rows
        on plan_rows.plan_row_id = plan_targets.source_row_id
    where plan_rows.{{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if not annual_columns %}
    -- no loaded plan file has an annual-target column
    select
        cast(null as {{ dbt.type_string() }}) as plan_target_id,
        cast(null as {{ dbt.type_int() }}) as target_year,
        cast(null as {{ type_double() }}) as annual_target_value
    where 1 = 0
    {% endif %}

)

select * from unpivoted
