{#- No two rows share the id `column_name`, a string id that joins the columns of its key with '|'
    (macros/virtual_columns.sql, id_key). It fails exactly when dbt's `unique` on the id
    would (a failing id may be listed twice).

    On DuckDB the id is not stored (a virtual column): grouping by it computes it for every row,
    which cost up to twice as much as grouping by the key it is made of (national full build,
    query CPU: progress_id 1.46-1.70 -> 0.67-0.71 s, status_history_id 1.12-1.19 -> 0.66-0.70 s,
    bench/README.md, eleventh pass). So it groups the
    key (macros/duplicates.sql), which finds every pair of rows with one id unless two different
    keys give one id. That needs '|' inside a column: the id then has as many '|' as the key's
    columns hold plus the joins, so both rows of such a pair hold one. If no row holds '|' in the
    key's `text_columns` (all but one of its columns; id_key), the id splits back into its key
    from both ends and the key decides; if some row does, the rows holding '|' in any column of the
    key are grouped by the id as well (macros/duplicates.sql, duckdb__test_unique_id). -#}
{% test unique_id(model, column_name) %}
{{ adapter.dispatch('test_unique_id')(model, column_name) }}
{% endtest %}
