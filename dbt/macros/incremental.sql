{#- The earliest period_index of a row of `relation` that is newer than `target` (loaded from a file
    with a higher file_seq than any row of `target`, or for a period after its last): the same rule
    as the incremental models' `changed` rows (dbt/README.md).

    Asked before the model's SQL runs and written into it as a literal, so that DuckDB can skip
    every older row while it reads (a predicate computed inside the query is not pushed down). The
    models keep their own per-series rule; this bound only prunes what cannot match it. None when
    nothing is newer. -#}
{% macro earliest_changed_period_index(relation, target) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set sql -%}
        select min(r.period_index)
        from {{ relation }} as r
        where r.source_file_seq > (select coalesce(max(t.source_file_seq), -1) from {{ target }} as t)
           or r.period_index > (select coalesce(max(t.period_index), -1) from {{ target }} as t)
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- `column >= bound` for a bound from earliest_changed_period_index; false when there is none. -#}
{% macro period_index_at_least(column, bound) -%}
    {%- if bound is none -%} false {%- else -%} {{ column }} >= {{ bound | int }} {%- endif -%}
{%- endmacro %}
