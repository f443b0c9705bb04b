{#- No row of `model` has a null in any of `column_names`: dbt's `not_null` for several columns of one
    model in one test node and one scan. dbt's cost per test node (about 15-20 ms of its Python per
    node, the SQL about 2 ms; bench/README.md) was most of the incremental build's test time with
    one `not_null` node per column. A failing row names the model, the column, the rule and how many
    rows hold a null there. -#}
{% test not_null_columns(model, column_names) %}
{%- if model.identifier is defined -%}
    {%- set model_name = model.identifier -%}
{%- else -%}
    {#- with a `where` config dbt passes `(select * from <relation> where ...) dbt_subquery` -#}
    {%- set model_name = (model | string).split(' from ', 1)[1].split(' ', 1)[0].split('.')[-1].strip('"`') -%}
{%- endif %}
with null_counts as (
    select
    {%- for column in column_names %}
        sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column in column_names %}
select '{{ model_name }}' as model_name, '{{ column }}' as column_name, 'not_null' as rule, nulls_{{ loop.index }} as null_rows
from null_counts where nulls_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}
