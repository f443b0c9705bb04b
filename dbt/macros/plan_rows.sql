{#- A printed plan row `row` is the row of int_plan_rows_resolved (aliased `resolved`) with the same
    region, plan, printed code, printed name, printed unit (`unit_column` of `row`) and unit as read;
    any of them may be empty (null), hence null-safe. -#}
{% macro matches_resolved_plan_row(row, unit_column) -%}
    resolved.region_code is not distinct from {{ row }}.region_code
    and resolved.plan is not distinct from {{ row }}.plan
    and resolved.printed_indicator_code is not distinct from {{ row }}.indicator_code
    and resolved.indicator_name is not distinct from {{ row }}.indicator_name
    and resolved.printed_unit is not distinct from {{ row }}.{{ unit_column }}
    and resolved.unit_as_read is not distinct from {{ row }}.unit_as_read
{%- endmacro %}
