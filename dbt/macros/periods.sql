{#- Period arithmetic in SQL, the same rules as planwatch/core/periods.py: a period is `YYYYQn` or
    `YYYY`, and a year ends in its Q4. `period_index` counts quarters since year 0 so that
    differences count quarters and a year sorts with its Q4. -#}

{% macro period_year(period) -%}
    cast(substr({{ period }}, 1, 4) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro period_quarter(period) -%}
    {#- the quarter a period ends in: 4 for a year -#}
    case
        when {{ dbt.length(period) }} = 6 then cast(substr({{ period }}, 6, 1) as {{ dbt.type_int() }})
        else 4
    end
{%- endmacro %}

{% macro period_type(period) -%}
    case when {{ dbt.length(period) }} = 6 then 'quarter' else 'year' end
{%- endmacro %}

{% macro period_index(period) -%}
    ({{ period_year(period) }} * 4 + {{ period_quarter(period) }} - 1)
{%- endmacro %}

{% macro year_of_period_index(index) -%}
    {#- the year of a period index (period_index above), for a literal known when compiling -#}
    {{- return((index | int) // 4) -}}
{%- endmacro %}

{% macro period_end_date(year_expr, quarter_expr) -%}
    {#- last day of quarter `quarter_expr` of `year_expr`, as a date -#}
    cast({{ dbt.dateadd(
        'day', -1,
        dbt.dateadd('month', '(' ~ quarter_expr ~ ') * 3',
            "cast(" ~ dbt.concat(["cast(" ~ year_expr ~ " as " ~ dbt.type_string() ~ ")", "'-01-01'"]) ~ " as date)")
    ) }} as date)
{%- endmacro %}

{% macro as_of_quarter() -%}
    {#- The run's quarter (YYYYQn), checked at compile time. planwatch passes it in the environment
        (PLANWATCH_AS_OF_QUARTER, planwatch/build/dbt_runner.py), not as a var: dbt parses the whole
        project again when a var changes, but only the files that read an env var when it changes,
        so a run keeps its parse of the last one (bench/README.md). A build by hand passes var
        as_of_quarter (dbt/README.md); the env var, when set, wins. Read only when dbt executes:
        a file that read it while dbt parsed is parsed again when it changes, and it changes every
        quarter (dbt/macros/rebuilt_rows.sql says the same of the rebuild bound). -#}
    {%- set q = (env_var('PLANWATCH_AS_OF_QUARTER', var('as_of_quarter') | string) if execute
                 else var('as_of_quarter') | string) | upper -%}
    {%- if not modules.re.match('^[0-9]{4}Q[1-4]$', q) -%}
        {{ exceptions.raise_compiler_error("as_of_quarter=" ~ q ~ " is not YYYYQn (e.g. 2025Q4)") }}
    {%- endif -%}
    {{- return(q) -}}
{%- endmacro %}

{% macro as_of_index() -%}
    {#- the run's quarter (as_of_quarter()) as a period index -#}
    {%- set q = as_of_quarter() -%}
    {{ (q[0:4] | int) * 4 + (q[5] | int) - 1 }}
{%- endmacro %}

{% macro as_of_year() -%}
    {#- the year of the run's quarter (as_of_quarter()) -#}
    {{ as_of_quarter()[0:4] | int }}
{%- endmacro %}
