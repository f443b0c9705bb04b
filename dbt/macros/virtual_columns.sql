{#- The facts' string ids, each in one place: the columns an id joins with '|' (id_key, also read by
    the ids' unique test, tests/generic/unique_id.sql), and the expression the model computes it
    with, which on DuckDB the published table holds as a virtual generated column (below). Bare
    column names: they name the table's own columns in the generated column. `relation`
    qualifies them inside a model's query.

    `text_columns`: the key's text columns that must hold no '|' for the id to split back into its
    key, i.e. all of them but one (`breakdown` is free text; a series_id is made with '|', and a
    period index is a number). -#}
{% macro id_key(id_column) -%}
    {%- set keys = {
        'progress_id': {'columns': ['region_code', 'indicator_code', 'breakdown', 'period'],
                        'text_columns': ['region_code', 'indicator_code', 'period']},
        'status_history_id': {'columns': ['series_id', 'period_index'], 'text_columns': []},
    } -%}
    {%- if id_column not in keys -%}
        {{ exceptions.raise_compiler_error("id_key: no key is defined for the id `" ~ id_column ~ "`") }}
    {%- endif -%}
    {{ return(keys[id_column]) }}
{%- endmacro %}

{% macro progress_id_expression(relation=none) -%}
    {%- set p = (relation ~ '.') if relation else '' -%}
    {%- set parts = [] -%}
    {%- for column in id_key('progress_id')['columns'] -%}
        {%- do parts.append(p ~ column) -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{% macro status_history_id_expression(relation=none) -%}
    {%- set p = (relation ~ '.') if relation else '' -%}
    {%- set series, period_index = id_key('status_history_id')['columns'] -%}
    {{ dbt.concat([p ~ series, "'|'", "cast(" ~ p ~ period_index ~ " as " ~ dbt.type_string() ~ ")"]) }}
{%- endmacro %}

{#- Virtual columns (config `virtual_columns`: {name: expression over the table's other columns},
    set by incremental_by_key on DuckDB only). The two facts' unique string ids
    (fct_indicator_progress.progress_id, fct_indicator_status_history.status_history_id: 5.4 M
    distinct strings each, 106 and 114 MiB of the published file) cost more to compress and write
    than any other column, and every reader can compute them from the key columns the row holds.
    So DuckDB stores the expression, not the strings: `select`, the Parquet export, the tests and
    Superset see the same values in the same place, and the table is still a table. National
    full build: the progress fact's write 12.1-12.3 -> 10.3-10.6 s of CPU, the two facts,
    fct_indicator_latest and their tests 39.2-43.1 -> 37.4-38.8 s (bench/README.md, tenth pass).
    What reads an id pays for it instead: a unique test computes it (0.9-1.0 -> 1.5-1.7 s for
    progress_id), so fct_indicator_latest finds its row without it, the ids' not_null tests are
    left to the columns they are made of, and their unique tests group the key (id_key above,
    tests/generic/unique_id.sql).

    The table is created with its columns' types as DuckDB binds the model's query (`describe`),
    the virtual ones `generated always as (...) virtual`, then filled with the other columns; the
    value the model's query computes for a virtual column is not read. A temporary table (the
    rows an incremental build rebuilds) is made as before, empty (macros/insert_in_place.sql), and
    the insert leaves the virtual columns out (DuckDB refuses a value for them). -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none,
                                 sorted_by=none) -%}
    {%- set virtual = config.get('virtual_columns') or {} -%}
    {%- if temporary and language == 'sql' and inserts_in_place() -%}
        {#- only the columns: the rows go straight into the table (macros/insert_in_place.sql) -#}
        {{ return(dbt.duckdb__create_table_as(temporary, relation,
                                              'select * from (' ~ compiled_code ~ ') as model_subq limit 0')) }}
    {%- elif temporary or language != 'sql' or not virtual or partitioned_by or sorted_by
           or config.get('contract').enforced -%}
        {{ return(dbt.duckdb__create_table_as(temporary, relation, compiled_code, language,
                                              partitioned_by, sorted_by)) }}
    {%- endif -%}
    {%- set described = run_query('describe select * from (' ~ compiled_code ~ ') as model_subq') -%}
    {%- set stored = [] -%}
    {%- for row in described.rows if row['column_name'] not in virtual -%}
        {%- do stored.append(adapter.quote(row['column_name'])) -%}
    {%- endfor -%}
    {%- if stored | length + virtual | length != described.rows | length -%}
        {%- do exceptions.raise_compiler_error("virtual_columns " ~ (virtual.keys() | list)
                                               ~ " must be columns of the model's query") -%}
    {%- endif -%}
    create table {{ relation }} (
        {%- for row in described.rows %}
        {{ adapter.quote(row['column_name']) }} {{ row['column_type'] }}
        {%- if row['column_name'] in virtual %} generated always as ({{ virtual[row['column_name']] }}) virtual{% endif %}
        {{- "," if not loop.last }}
        {%- endfor %}
    );
    insert into {{ relation }} ({{ stored | join(', ') }})
    select {{ stored | join(', ') }}
    from (
        {{ compiled_code }}
    ) as model_subq;
{%- endmacro %}
