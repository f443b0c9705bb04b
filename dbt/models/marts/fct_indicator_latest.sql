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
{#- the fact table is read as a table, never through a CTE: DuckDB writes out a CTE read twice
    before reading it, and this one is five million wide rows (a full build at 2,850 regions: 10 s
    against 2 s; an incremental one at 712: 2.2 against 0.8 s) -#}
{%- set rows = 'candidates' if is_incremental() else ref('fct_indicator_progress') %}
{%- set seen = ('seen_file_seq', 'seen_period_index') if is_incremental() else ('source_file_seq', 'period_index') %}
{%- set progress_columns = adapter.get_columns_in_relation(ref('fct_indicator_progress')) | map(attribute='name') | list %}

{% if is_incremental() %}
with

{%- set from_index = earliest_changed_period_index(ref('fct_indicator_progress'), this, built_columns) %}
{{ changed_series_rows('progress', 'in_scope', from_index, built_columns, relation=ref('fct_indicator_progress')) }},

kept as (

    select
        kept.*,
        changed_series.from_period_index

    from {{ this }} as kept
    inner join changed_series
        on changed_series.series_id = kept.series_id

),

ranked_again as (

    -- a new series, or one whose kept row was rebuilt: its rows before the rebuilt ones
    select
        changed_series.series_id,
        changed_series.from_period_index

    from changed_series
    left join kept
        on kept.series_id = changed_series.series_id
    where kept.series_id is null
       or kept.period_index >= changed_series.from_period_index

),

candidates as (

    select
        in_scope.*,
        in_scope.source_file_seq as seen_file_seq,
        in_scope.period_index as seen_period_index

    from in_scope

    union all

    select
        progress.*,
        progress.source_file_seq as seen_file_seq,
        progress.period_index as seen_period_index

    from {{ ref('fct_indicator_progress') }} as progress
    inner join ranked_again
        on ranked_again.series_id = progress.series_id
        and progress.period_index < ranked_again.from_period_index

    union all

    select
        {%- for column in progress_columns %}
        kept.{{ column }},
        {%- endfor %}
        kept.built_file_seq as seen_file_seq,
        kept.built_period_index as seen_period_index

    from kept
    where kept.period_index < kept.from_period_index

),
{% else %}
with
{% endif %}

{#- The ranking, one number unique within a series: not past the target year first, then with an
    actual value, then the latest period, then the annual row before the Q4 row of the same year. -#}
{%- set ranking -%}
    (((case when facts.status <> 'target_year_passed' then 2 else 0 end
       + case when facts.actual_value is not null then 1 else 0 end) * 1000000 + facts.period_index) * 2
     + case when facts.period_type = 'year' then 1 else 0 end)
{%- endset %}

ranked as (

    -- one aggregate instead of a window: at 2,850 regions a window over all columns took 16 s, over
    -- the ranking columns alone 4 s, this and the join below 2 s (bench/README.md). The best row
    -- is found again by its series and its ranking, not by progress_id: that id is computed from
    -- the row's key when read (macros/virtual_columns.sql), and twice over every fact row it cost
    -- 0.5 s of CPU nationally (bench/README.md, tenth pass). series_id is one per group (the
    -- unique test of this table's series_id)
    select
        facts.series_id,
        max({{ ranking }}) as ranking,
        max({{ seen[0] }}) as built_file_seq,
        max({{ seen[1] }}) as built_period_index

    from {{ rows }} as facts
    group by facts.series_id

)

select
    {%- for column in progress_columns %}
    facts.{{ column }},
    {%- endfor %}
    ranked.built_file_seq,
    ranked.built_period_index

from {{ rows }} as facts
inner join ranked
    on ranked.series_id = facts.series_id
    and ranked.ranking = {{ ranking }}
