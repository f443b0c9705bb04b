{#- The rows of `model` that share their values of `columns` with another row: what the `unique`
    and `unique_combination_of_columns` tests return. Grouping five million rows by their values
    (a 64-character file id, the fact's string ids) is the dearest part of a full build's data
    tests, so the rows are first grouped by a hash of the values; only the rows whose hash repeats
    (none, when the test passes; also any hash collision) are grouped by the values themselves,
    which decides. Equal values have equal hashes, so no duplicate is missed, and a collision is
    not reported. National full build, query CPU: stg_stats__observations' six columns 2.6-2.8 ->
    0.7-0.8 s, progress_id 1.2-1.3 -> 0.8 s (bench/README.md, ninth pass). `hash` takes any number
    of columns on both engines, and hashes a null as a value (the second grouping keeps nulls
    together, as a group by does). -#}
{% macro duplicate_rows(model, columns, select_columns, count_name, skip_nulls=false) %}
{%- set condition -%}
    {%- if skip_nulls %}{{ columns | join(' is not null and ') }} is not null{% else %}true{% endif -%}
{%- endset %}
select {{ select_columns }}, count(*) as {{ count_name }}
from {{ model }}
where {{ condition }}
  and hash({{ columns | join(', ') }}) in (
      -- the hashes more than one row has (a subquery, not a CTE: dbt wraps a test's SQL in one)
      select hash({{ columns | join(', ') }})
      from {{ model }}
      where {{ condition }}
      group by hash({{ columns | join(', ') }})
      having count(*) > 1
  )
group by {{ columns | join(', ') }}
having count(*) > 1
{% endmacro %}


{#- dbt's own `unique` test, the same rows, by way of duplicate_rows (above). DuckDB only: Spark
    keeps dbt's form, which its run was measured with. -#}
{% macro duckdb__test_unique(model, column_name) %}
{{ duplicate_rows(model, [column_name], column_name ~ ' as unique_field', 'n_records', skip_nulls=true) }}
{% endmacro %}


{#- tests/generic/unique_id.sql: no two rows share the string id `column_name`. Spark stores the
    ids: dbt's `unique` on the column there. -#}
{% macro default__test_unique_id(model, column_name) %}
{{ adapter.dispatch('test_unique', 'dbt')(model, column_name) }}
{% endmacro %}

{% macro duckdb__test_unique_id(model, column_name) %}
{%- set key = id_key(column_name) -%}
{%- set columns = key['columns'] -%}
-- the repeated keys (the id is null when a column of its key is, and dbt's `unique` leaves null
-- ids out); any_value: one key has one id
{{ duplicate_rows(model, columns, 'any_value(' ~ column_name ~ ') as unique_field', 'n_records', skip_nulls=true) }}
{%- if key['text_columns'] %}

union all

-- the ids two different keys could share, only when the id may not split back (none, when no row
-- holds '|' in the key's text columns)
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where ({% for column in columns %}contains({{ column }}, '|'){{ " or " if not loop.last }}{% endfor %})
  and exists (
      select 1 from {{ model }}
      where {% for column in key['text_columns'] %}contains({{ column }}, '|'){{ " or " if not loop.last }}{% endfor %}
  )
group by {{ column_name }}
having count(*) > 1
{%- endif %}
{% endmacro %}
