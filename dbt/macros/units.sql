{#- The one unit rule of the warehouse, used wherever a plan's printed value meets the catalog:
    v_catalog = v_printed × factor_printed / factor_catalog, only within one dimension
    (raw/reference/units.csv). An empty printed unit means the plan prints the catalog's unit in
    its header. -#}

{% macro unit_conversion_status(printed_unit, catalog_unit, printed_dimension, catalog_dimension) -%}
    case
        when {{ catalog_unit }} is null then 'unknown_indicator'
        when {{ printed_unit }} is null or {{ printed_unit }} = {{ catalog_unit }} then 'same_unit'
        when {{ printed_dimension }} is null then 'unknown_unit'
        when {{ printed_dimension }} = {{ catalog_dimension }} then 'converted'
        else 'unconvertible'
    end
{%- endmacro %}

{% macro unit_conversion_factor(status, printed_factor, catalog_factor) -%}
    {#- Null (no value) when the units cannot be converted: a figure is never silently rescaled. -#}
    case {{ status }}
        when 'same_unit' then 1.0
        when 'converted' then {{ printed_factor }} / {{ catalog_factor }}
    end
{%- endmacro %}
