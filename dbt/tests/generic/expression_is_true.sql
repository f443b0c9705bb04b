{#- Every row satisfies `expression` (optionally only rows matching `where_clause`); the local
    stand-in for dbt_utils.expression_is_true, since the dbt hub is not reachable from CI. -#}
{% test expression_is_true(model, expression, column_name=none, where_clause=none) %}
select *
from {{ model }}
where not ({{ expression }})
{%- if where_clause %}
  and ({{ where_clause }})
{%- endif %}
{% endtest %}
