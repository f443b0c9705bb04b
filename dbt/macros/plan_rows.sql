{#- The rows of the CTE `rows` (printed plan rows, their printed unit in `unit_column`) with what
    int_plan_rows_resolved resolved for them: the indicator, the unit read, the catalog's unit,
    measure and direction, the conversion status and factor, and the plan period's years. The match
    is on region, plan, printed code, printed name, printed unit and unit as read, any of which may
    be empty (null), hence null-safe. -#}
{% macro select_with_resolved_plan_row(rows, unit_column) -%}
    select
        {{ rows }}.*,
        resolved.resolved_indicator_code,
        resolved.unit_read,
        resolved.catalog_unit,
        resolved.catalog_measure,
        resolved.catalog_direction,
        resolved.unit_conversion_status,
        resolved.conversion_factor,
        resolved.period_first_year,
        resolved.period_last_year

    from {{ rows }}
    left join {{ ref('int_plan_rows_resolved') }} as resolved
        on resolved.region_code is not distinct from {{ rows }}.region_code
        and resolved.plan is not distinct from {{ rows }}.plan
        and resolved.printed_indicator_code is not distinct from {{ rows }}.indicator_code
        and resolved.indicator_name is not distinct from {{ rows }}.indicator_name
        and resolved.printed_unit is not distinct from {{ rows }}.{{ unit_column }}
        and resolved.unit_as_read is not distinct from {{ rows }}.unit_as_read
{%- endmacro %}
