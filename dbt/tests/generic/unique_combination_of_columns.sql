{#- No two rows share the same values of `combination_of_columns` (nulls compared as values);
    grouped by a hash of the values first (macros/duplicates.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{{ duplicate_rows(model, combination_of_columns, combination_of_columns | join(', '), 'n_rows') }}
{% endtest %}
