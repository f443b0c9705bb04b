{#- The latest row of every series of fct_indicator_progress, the one place this ranking lives:
    bi.latest_status shows it with its labels, the report and the summary read it there. A series
    whose target year has passed keeps its verdict at that year; otherwise its latest period with an
    actual value (or, with none yet, its latest period). Between a year's annual row and its Q4 row
    (same period_end) the annual one stands, as in fct_indicator_status_history.

    A table so that the report does not rank the five million fact rows on every page (13 s of
    the report at 2,850 regions, bench/README.md). Incremental by series: a build ranks again only
    the series with a fact row new to this table (the rule of dbt/README.md), over their rebuilt
    rows and the row kept here, which is still the best of the rows before them; a series whose
    kept row was itself rebuilt is ranked again over all its rows. built_file_seq and
    built_period_index are the highest file_seq and period_index of the series' rows when it was
    ranked: what this table has seen, for the rule. -#}
{{ config(**incremental_by_key('series_id')) }}
{%- set built_columns = ('built_file_seq', 'built_period_index') %}
{%- set progress_columns = adapter.get_columns_in_relation(ref('fct_indicator_progress')) | map(attribute='name') | list %}

{#- The ranking of a row (of the alias written `__row__`), one number unique within a series: not past
    the target year first, then with an actual value, then the latest period, then the annual row
    before the Q4 row of the same year. -#}
{%- set ranking_of_row -%}
    (((case when __row__.status <> 'target_year_passed' then 2 else 0 end
       + case when __row__.actual_value is not null then 1 else 0 end) * 1000000 + __row__.period_index) * 2
     + case when __row__.period_type = 'year' then 1 else 0 end)
{%- endset %}

{% if is_incremental() %}
{#- A changed series' candidates are its rebuilt fact rows, its kept row (still the best of the rows
    before them), or for a series that is new or whose kept row was rebuilt, its fact rows before the
    rebuilt ones. They are ranked on their narrow columns first and only the winners read whole: at
    a Q4, when every series has a new row, the 536k wide candidates written out and grouped cost
    more than reading the three sources twice (the query's CPU 0.95-0.98 -> 0.62-0.65 s nationally,
    bench/README.md, thirteenth pass). Each source is read by name, never through a CTE: DuckDB
    writes out a CTE read twice before reading it. -#}
{%- set from_index = earliest_changed_period_index(ref('fct_indicator_progress'), this, built_columns) %}
{%- set sources = {
    'rebuilt': (ref('fct_indicator_progress') ~ ' as progress', 'progress', 'changed_series',
                'progress.period_index >= changed_series.from_period_index and '
                ~ period_index_at_least('progress.period_index', from_index)),
    'before': (ref('fct_indicator_progress') ~ ' as progress', 'progress', 'ranked_again',
               'progress.period_index < ranked_again.from_period_index'),
    'kept': (this ~ ' as kept', 'kept', 'changed_series',
             'kept.period_index < changed_series.from_period_index'),
} %}
with

{{ changed_series_rows('progress', none, from_index, built_columns, relation=ref('fct_indicator_progress')) }},

ranked_again as (

    -- a new series, or one whose kept row was rebuilt: its rows before the rebuilt ones
    select
        changed_series.series_id,
        changed_series.from_period_index

    from changed_series
    left join {{ this }} as kept
        on kept.series_id = changed_series.series_id
    where kept.series_id is null
       or kept.period_index >= changed_series.from_period_index

),

ranked as (

    -- what the table has seen of a series: the kept row's built columns, the fact rows' own
    select
        candidates.series_id,
        max(candidates.ranking) as ranking,
        max(candidates.seen_file_seq) as built_file_seq,
        max(candidates.seen_period_index) as built_period_index

    from (
        {%- for name, (relation, alias, series, condition) in sources.items() %}
        select
            {{ alias }}.series_id,
            {{ ranking_of_row | replace('__row__', alias) }} as ranking,
            {{ alias }}.{{ 'built_file_seq' if name == 'kept' else 'source_file_seq' }} as seen_file_seq,
            {{ alias }}.{{ 'built_period_index' if name == 'kept' else 'period_index' }} as seen_period_index

        from {{ relation }}
        inner join {{ series }}
            on {{ series }}.series_id = {{ alias }}.series_id
            and {{ condition }}
        {{ 'union all' if not loop.last }}
        {%- endfor %}
    ) as candidates
    group by candidates.series_id

)

{%- for name, (relation, alias, series, condition) in sources.items() %}

select
    {%- for column in progress_columns %}
    {{ alias }}.{{ column }},
    {%- endfor %}
    ranked.built_file_seq,
    ranked.built_period_index

from {{ relation }}
inner join {{ series }}
    on {{ series }}.series_id = {{ alias }}.series_id
    and {{ condition }}
inner join ranked
    on ranked.series_id = {{ alias }}.series_id
    and ranked.ranking = {{ ranking_of_row | replace('__row__', alias) }}
{{ 'union all' if not loop.last }}
{%- endfor %}

{% else %}
{#- the fact table is read as a table, never through a CTE: DuckDB writes out a CTE read twice
    before reading it, and this one is five million wide rows (a full build at 2,850 regions: 10 s
    against 2 s; an incremental one at 712: 2.2 against 0.8 s) -#}
with

ranked as (

    -- one aggregate instead of a window: at 2,850 regions a window over all columns took 16 s, over
    -- the ranking columns alone 4 s, this and the join below 2 s (bench/README.md). The best row
    -- is found again by its series and its ranking, not by progress_id: that id is computed from
    -- the row's key when read (macros/virtual_columns.sql), and twice over every fact row it cost
    -- 0.5 s of CPU nationally (bench/README.md, tenth pass). series_id is one per group (the
    -- unique test of this table's series_id)
    select
        facts.series_id,
        max({{ ranking_of_row | replace('__row__', 'facts') }}) as ranking,
        max(facts.source_file_seq) as built_file_seq,
        max(facts.period_index) as built_period_index

    from {{ ref('fct_indicator_progress') }} as facts
    group by facts.series_id

)

select
    {%- for column in progress_columns %}
    facts.{{ column }},
    {%- endfor %}
    ranked.built_file_seq,
    ranked.built_period_index

from {{ ref('fct_indicator_progress') }} as facts
inner join ranked
    on ranked.series_id = facts.series_id
    and ranked.ranking = {{ ranking_of_row | replace('__row__', 'facts') }}
{% endif %}
