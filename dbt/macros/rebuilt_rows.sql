{#- The rebuild bound of an incremental build: the earliest period index with a statistics row newer
    than the published build (planwatch/build/candidate.py passes it as PLANWATCH_REBUILT_FROM_PERIOD_INDEX;
    no model rebuilds a row before it). None when unset: a full build, or a build by hand.

    Read only when dbt executes, never while it parses: dbt parses again every file (and every yml
    entry) that read an env var at parse whose value has since changed, and the bound changes every
    run (schema entries and models re-parsed at each incremental build: 0.4 s of CPU of dbt's
    start-up, bench/README.md, tenth pass). -#}
{% macro rebuilt_from_period_index() -%}
    {%- set bound = env_var('PLANWATCH_REBUILT_FROM_PERIOD_INDEX', '') if execute else '' -%}
    {{- return((bound | int) if bound else none) -}}
{%- endmacro %}

{#- The tests keyed by period write `__rebuilt_rows__` in their `where` config: the rows from the bound
    on (period_index >= bound), or every row without one (`true`). Every rebuilt row is among them,
    and so is any row sharing a key with one; older rows are the published build's, tested when it
    was built (_intermediate__models.yml). dbt renders a test's config at parse and allows no custom
    macro there, so the placeholder is replaced here, where dbt wraps a tested relation in its
    `where` (dbt's own get_where_subquery, which this overrides by name, does the rest). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__rebuilt_rows__' in where -%}
        {%- set bound = rebuilt_from_period_index() -%}
        {%- set rows = ('period_index >= ' ~ bound) if bound is not none else 'true' -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where | replace('__rebuilt_rows__', rows) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}
