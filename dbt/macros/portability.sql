{#- What differs between the engines the project builds on (DuckDB, the default, and Spark), in
    one place. Everything else is plain SQL or dbt's cross-database macros (dbt/README.md,
    "Engines"). Each macro dispatches: `default__` is the DuckDB form, `spark__` Spark's. -#}

{% macro sql_string(text) -%}
    {#- `text` as an SQL string literal. DuckDB escapes a quote by doubling it; Spark reads '' as
        two literals it concatenates (dropping the quote) and escapes with a backslash. -#}
    {{ return(adapter.dispatch('sql_string')(text)) }}
{%- endmacro %}

{% macro default__sql_string(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_string(text) -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{% macro incremental_by_key(unique_key, virtual_columns=none) -%}
    {#- The config of an incremental model keyed by `unique_key` (a column or a list), for the
        engine of the target. DuckDB deletes the rebuilt keys and inserts them again
        (`delete+insert`). Spark replaces rows by key only in a table format that can (`merge` on
        delta, iceberg or hudi: var spark_file_format, a cluster's table format). On plain Parquet tables
        (Spark in local mode, `make test-spark`) no strategy replaces single rows, so the model is
        a table rebuilt whole: its `is_incremental()` branch never runs there. `virtual_columns`
        ({name: expression}): columns DuckDB computes on read instead of storing
        (macros/virtual_columns.sql); Spark stores what the model's query computes. -#}
    {%- set file_format = var('spark_file_format', 'parquet') -%}
    {%- if target.type != 'spark' -%}
        {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
                   'unique_key': unique_key, 'on_schema_change': 'fail',
                   'virtual_columns': virtual_columns or {}}) }}
    {%- elif file_format in ['delta', 'iceberg', 'hudi'] -%}
        {{ return({'materialized': 'incremental', 'incremental_strategy': 'merge',
                   'unique_key': unique_key, 'on_schema_change': 'fail'}) }}
    {%- else -%}
        {{ return({'materialized': 'table'}) }}
    {%- endif -%}
{%- endmacro %}

{% macro sorted_listagg(measure, delimiter_text) -%}
    {#- `measure` of a group joined by `delimiter_text`, in `measure` order (byte order of the text
        on both engines). dbt.listagg drops its order clause on Spark, so Spark sorts the
        collected list itself. -#}
    {{ return(adapter.dispatch('sorted_listagg')(measure, delimiter_text)) }}
{%- endmacro %}

{% macro default__sorted_listagg(measure, delimiter_text) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ measure) }}
{%- endmacro %}

{% macro spark__sorted_listagg(measure, delimiter_text) -%}
    array_join(array_sort(collect_list({{ measure }})), {{ delimiter_text }})
{%- endmacro %}

{% macro integer_series(upper_bound) -%}
    {#- The numbers 1 … `upper_bound` as `generated_number` (a bigint), one row each: a select to
        put in a CTE. dbt.generate_series sums powers of two on Spark, which gives doubles there (a year ends up as `NNNN.0`). -#}
    {{ return(adapter.dispatch('integer_series')(upper_bound)) }}
{%- endmacro %}

{% macro default__integer_series(upper_bound) -%}
    {{ dbt.generate_series(upper_bound) }}
{%- endmacro %}

{% macro spark__integer_series(upper_bound) -%}
    select id as generated_number from range(1, {{ upper_bound + 1 }})
{%- endmacro %}
