{#- The incremental models' one rule for "new": a row is new to `target` (an incremental model's
    built table) when it comes from a file loaded after every row of `target` (a higher file_seq)
    or is for a period after its last. dbt/README.md explains why that is enough. -#}
{#- `built_columns`: the columns of `target` that hold what it has seen (file_seq, period_index),
    for a model whose rows are not the rows it was built from (marts/fct_indicator_latest.sql). -#}
{% macro newer_than_built(file_seq_column, period_index_column, target,
                          built_columns=('source_file_seq', 'period_index')) -%}
    ({{ file_seq_column }} > (select coalesce(max(built.{{ built_columns[0] }}), -1) from {{ target }} as built)
     or {{ period_index_column }} > (select coalesce(max(built.{{ built_columns[1] }}), -1) from {{ target }} as built))
{%- endmacro %}

{#- The earliest period_index of a row of `relation` that is newer than `target` (loaded from a file
    with a higher file_seq than any row of `target`, or for a period after its last): the same rule
    as the incremental models' `changed` rows (dbt/README.md).

    Asked before the model's SQL runs and written into it as a literal, so that DuckDB can skip
    every older row while it reads (a predicate computed inside the query is not pushed down). The
    models keep their own per-series rule; this bound only prunes what cannot match it. None when
    nothing is newer. `relation_columns`: the file_seq and period_index columns of `relation` (the
    statistics name the first `file_seq`). -#}
{% macro earliest_changed_period_index(relation, target, built_columns=('source_file_seq', 'period_index'),
                                      relation_columns=('source_file_seq', 'period_index')) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set sql -%}
        select min(r.period_index)
        from {{ relation }} as r
        where {{ newer_than_built('r.' ~ relation_columns[0], 'r.' ~ relation_columns[1], target, built_columns) }}
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- `column >= bound` for a bound from earliest_changed_period_index; false when there is none. -#}
{% macro period_index_at_least(column, bound) -%}
    {%- if bound is none -%} false {%- else -%} {{ column }} >= {{ bound | int }} {%- endif -%}
{%- endmacro %}

{#- `column >= the year of bound`, for a year column; false when there is no bound. -#}
{% macro period_year_at_least(column, bound) -%}
    {%- if bound is none -%} false {%- else -%} {{ column }} >= {{ year_of_period_index(bound) }} {%- endif -%}
{%- endmacro %}

{#- Two CTEs of an incremental model keyed by series_id: `changed_series` (each series with a row of
    `source` new to this model, and the earliest such period) and `scope_name` (every row of
    `source` of those series from that period on: what the model rebuilds). `source` is a CTE of
    the model, or with `relation` the name under which that table is read: DuckDB writes out a
    CTE that is read twice before reading it, and a wide one costs more than both reads
    (marts/fct_indicator_latest.sql). `from_index` comes from earliest_changed_period_index; with
    `scope_name` none, only `changed_series`. -#}
{% macro changed_series_rows(source, scope_name, from_index, built_columns=('source_file_seq', 'period_index'),
                             relation=none) %}
{%- set read = (relation ~ ' as ' ~ source) if relation is not none else source %}
changed_series as (

    select
        {{ source }}.series_id,
        min({{ source }}.period_index) as from_period_index

    from {{ read }}
    where {{ period_index_at_least(source ~ '.period_index', from_index) }}
      and {{ newer_than_built(source ~ '.source_file_seq', source ~ '.period_index', this, built_columns) }}
    group by {{ source }}.series_id

)
{%- if scope_name is not none %},

{{ scope_name }} as (

    select {{ source }}.*
    from {{ read }}
    inner join changed_series
        on changed_series.series_id = {{ source }}.series_id
        and {{ source }}.period_index >= changed_series.from_period_index
    where {{ period_index_at_least(source ~ '.period_index', from_index) }}

)
{%- endif %}
{% endmacro %}


{#- fct_indicator_status_history's post-hook. After an incremental build's insert, a changed series
    has two rows with is_latest: its anchor (not written again) and its new last row. The earlier
    one's is turned off; no other column of the kept row changes. One statement on both engines:
    MERGE updates rows in place on DuckDB and on Spark's table formats that replace rows (delta,
    iceberg, hudi); on plain Parquet the model is a table rebuilt whole and never incremental
    (macros/portability.sql, incremental_by_key). -#}
{% macro clear_superseded_latest() %}
{%- if is_incremental() %}
merge into {{ this }} as kept
using (
    select series_id, max(period_index) as last_period_index
    from {{ this }}
    where is_latest
    group by series_id
    having count(*) > 1
) as newest
    on newest.series_id = kept.series_id
    and kept.period_index < newest.last_period_index
    and kept.is_latest
when matched then update set is_latest = false
{%- endif %}
{% endmacro %}

{#- fct_plan_evaluation's rebuild: the earliest evaluation year whose rows this build can change.
    Its year figures (a year's annual figure, else its Q4) change only from the year of the rebuild
    bound on, and so do a cumulative target's running total and a chained base, which only
    evaluations of later years read; `is_due` can turn only on a row not yet due. So: the bound's
    year, or the earliest year not yet due in the table, whichever is earlier. None (rebuild every
    row) without a bound, as in a build by hand. -#}
{% macro evaluation_rebuild_year() %}
    {%- set bound = rebuilt_from_period_index() -%}
    {%- if bound is none or not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set not_due = run_query('select min(evaluation_year) from ' ~ this ~ ' where not is_due').columns[0].values()[0] -%}
    {%- set year = year_of_period_index(bound) | int -%}
    {{ return([year, not_due | int] | min if not_due is not none else year) }}
{% endmacro %}

{#- The least period_index of CTE `name` (with a `period_index` column) of the CTEs `ctes` (their SQL,
    without `with`): asked before the model's query, for a literal bound that DuckDB pushes into its
    scans, as earliest_changed_period_index's. None when `name` is empty. -#}
{% macro first_period_index_of(ctes, name) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set sql -%}
        with {{ ctes }}
        select min({{ name }}.period_index) from {{ name }}
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}
