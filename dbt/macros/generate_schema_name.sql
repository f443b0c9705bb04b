{#- Models land in exactly `staging`, `intermediate` and `marts` (not `main_staging`): the
    candidate file is the published warehouse, and BI tools address these schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
