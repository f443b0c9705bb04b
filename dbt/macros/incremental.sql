{#- The incremental models' one rule for "new": a row is new to `target` (an incremental model's
    built table) when it comes from a file loaded after every row of `target` (a higher file_seq)
    or is for a period after its last. dbt/README.md explains why that is enough. -#}
{% macro newer_than_built(file_seq_column, period_index_column, target) -%}
    ({{ file_seq_column }} > (select coalesce(max(built.source_file_seq), -1) from {{ target }} as built)
     or {{ period_index_column }} > (select coalesce(max(built.period_index), -1) from {{ target }} as built))
{%- endmacro %}

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
        where {{ newer_than_built('r.source_file_seq', 'r.period_index', target) }}
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- `column >= bound` for a bound from earliest_changed_period_index; false when there is none. -#}
{% macro period_index_at_least(column, bound) -%}
    {%- if bound is none -%} false {%- else -%} {{ column }} >= {{ bound | int }} {%- endif -%}
{%- endmacro %}
