{#- How an incremental build replaces rows by key on DuckDB (`delete+insert`, macros/portability.sql).

    dbt-duckdb writes the model's rows into a temporary table, deletes the table's rows with the same
    keys, then inserts the temporary table's rows. The rows go straight into the table instead:
    the model's query is inserted first (it still reads the table as it was: one statement sees
    its start), then the rows it replaced are deleted, those older than the insert whose key one
    of the new rows has. The temporary table is still made, empty, for dbt's column checks. Writing
    268 k wide rows to a temporary table and reading them twice cost fct_indicator_progress 1.78 s
    of CPU against 1.29-1.41 s inserted from the query (bench/README.md, thirteenth pass).

    Which rows are new: DuckDB numbers a table's rows (rowid) in the order they were added, and the
    materialization runs the insert and the delete in one transaction, so every new row has a
    higher rowid than every row before it (`before` below). The virtual columns
    (macros/virtual_columns.sql) are not inserted: DuckDB computes them. -#}
{% macro inserts_in_place() -%}
    {{ return(config.get('materialized') == 'incremental'
              and config.get('incremental_strategy') == 'delete+insert') }}
{%- endmacro %}

{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set virtual = config.get('virtual_columns') or {} -%}
    {%- set stored = dest_columns | rejectattr('name', 'in', virtual.keys() | list) | list -%}
    {%- set columns = get_quoted_csv(stored | map(attribute='name')) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if incremental_predicates -%}
        {%- do exceptions.raise_compiler_error("insert_in_place: incremental_predicates are not supported") -%}
    {%- endif -%}
    create or replace temporary table {{ source.identifier }}__before as
        select coalesce(max(rowid), -1) as last_rowid from {{ target }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from (
        {{ compiled_code }}
    ) as model_subq;

    delete from {{ target }} as replaced
    using (
        select {{ keys | join(', ') }}
        from {{ target }}
        where rowid > (select last_rowid from {{ source.identifier }}__before)
    ) as new_rows
    where replaced.rowid <= (select last_rowid from {{ source.identifier }}__before)
    {%- for key in keys %}
      and replaced.{{ key }} = new_rows.{{ key }}
    {%- endfor %};

    drop table {{ source.identifier }}__before
{%- endmacro %}
