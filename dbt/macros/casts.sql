{#- The raw reference and plan tables hold values as the loader read them (text or typed). These
    macros cast through text so that staging works for either, and treat the placeholders that
    plans print for "no value" as null. -#}

{% macro as_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{% macro as_number(column) -%}
    cast(
        case
            when trim(cast({{ column }} as {{ dbt.type_string() }})) in ('', '--', '-', '*', '—', '/')
                then null
            else trim(cast({{ column }} as {{ dbt.type_string() }}))
        end
        as {{ type_double() }}
    )
{%- endmacro %}

{% macro as_integer(column) -%}
    cast({{ as_number(column) }} as {{ dbt.type_int() }})
{%- endmacro %}

{% macro as_boolean(column) -%}
    (lower(coalesce(trim(cast({{ column }} as {{ dbt.type_string() }})), '')) in ('true', '1', 'yes', 'y', 't'))
{%- endmacro %}

{% macro source_has_column(relation, column_name) -%}
    {#- True when `relation` has `column_name`: lets staging accept a raw table from before or
        after the loader started keeping an optional column, instead of failing to compile. -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(column_name | lower in names) }}
{%- endmacro %}

{% macro type_double() -%}
    {#- 64-bit floating point. dbt's type_float() is a 32-bit FLOAT on DuckDB, which rounds
        97.54 to 97.54000091552734 and breaks the progress identities at 1e-6. -#}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{% macro optional_text(relation, column) -%}
    {#- as_text(column) when the raw table has it, else a null string: the review columns
        (unit_as_read, unit_note, target_kind) are optional at the end of a plan file -#}
    {%- if source_has_column(relation, column) -%}
        {{ as_text(column) }}
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro annual_target_columns(relation) -%}
    {#- The `target_YYYY` columns of a plan relation, in year order: a plan's annual targets are
        whatever years its file names (raw/reference/plan_periods.csv holds the periods). -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if modules.re.match('^target_[0-9]{4}$', column.name | lower) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}
