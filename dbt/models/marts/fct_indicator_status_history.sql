{#- How each series' status moved, quarter-end by quarter-end. Where a year has both its Q4
    figure and an annual figure, the annual one stands for the quarter (it is the authoritative
    number). The plans' mid-term (third year) and final (target year) evaluations are flagged.

    Incremental like fct_indicator_progress: per series, from the earliest period with a newer
    fact on. The kept row just before it (the anchor) gives the first recomputed row its previous
    period and status; it is not written again: the post-hook turns its is_latest off
    (clear_superseded_latest below). Writing each anchor's wide row again only for that cost a
    third of the model's rows in an incremental build (bench/README.md, twelfth pass). -#}
{#- status_history_id is series_id|period_index: on DuckDB the table computes it on read, and an
    incremental build replaces rows by those two columns (macros/virtual_columns.sql) -#}
{{ config(post_hook=["{{ clear_superseded_latest() }}"],
          **incremental_by_key(['series_id', 'period_index'],
                               virtual_columns={'status_history_id': status_history_id_expression()})) }}

with

progress as (

    select * from {{ ref('fct_indicator_progress') }}

),

{% if is_incremental() %}
{%- set from_index = earliest_changed_period_index(ref('fct_indicator_progress'), this) %}
{{ changed_series_rows('progress', 'in_scope', from_index, relation=ref('fct_indicator_progress')) }},

latest_kept as (

    -- each changed series' latest kept row: its anchor when the rebuild starts after it (a new
    -- quarter), found without reading the series' older rows
    select
        kept.series_id,
        kept.period_index,
        kept.period,
        kept.status,
        changed_series.from_period_index

    from {{ this }} as kept
    inner join changed_series
        on changed_series.series_id = kept.series_id
    where kept.is_latest

),

revised_anchors as (

    -- a series rebuilt from its latest kept row or before (a revision): its last kept row before
    -- the rebuilt ones
    select
        kept.series_id,
        max(kept.period_index) as anchor_period_index

    from {{ this }} as kept
    inner join latest_kept
        on latest_kept.series_id = kept.series_id
        and latest_kept.period_index >= latest_kept.from_period_index
        and kept.period_index < latest_kept.from_period_index
    group by kept.series_id

),

anchor_rows as (

    select series_id, period, status
    from latest_kept
    where period_index < from_period_index

    union all

    select kept.series_id, kept.period, kept.status
    from {{ this }} as kept
    inner join revised_anchors
        on revised_anchors.series_id = kept.series_id
        and revised_anchors.anchor_period_index = kept.period_index

),
{% else %}
in_scope as (

    select * from progress

),
{% endif %}

series as (

    -- one row per series (its unique test), built before this table in every run
    select
        series_id,
        region_code,
        indicator_code,
        indicator_name,
        breakdown,
        plan,
        plan_id,
        attribute

    from {{ ref('fct_indicator_latest') }}

),

plans as (

    select * from {{ ref('dim_plan') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

statuses as (

    select * from {{ ref('dim_status') }}

),

{% if is_incremental() -%}
annual_rows as (

    -- the quarter-ends with an annual figure (few): their Q4 row gives way to it. Read from the
    -- fact, not from `in_scope`: DuckDB writes out a CTE read twice, and a quarter-end in scope has
    -- its annual row in scope too (the same series and period_index)
    select series_id, period_index
    from {{ ref('fct_indicator_progress') }}
    where period_type = 'year'
      and {{ period_index_at_least('period_index', from_index) }}

),
{%- endif %}

one_per_quarter_end as (

    -- only the columns this mart shows: a window carries every column it is given through its
    -- sort, and the fact table is wide (bench/README.md). The region's name and the status labels
    -- join after the windows, from the tables the fact takes them from (`final`: CPU of the
    -- model's query 15.0 -> 13.3 s nationally, bench/README.md, fifth pass). So do the columns
    -- that are the same on every row of a series (the series id holds region, indicator,
    -- breakdown and plan; the series' one plan target gives its name and attribute), from the
    -- series' row in fct_indicator_latest (13.3 -> 10.6 s, sixth pass)
    select
        series_id,
        period,
        period_year,
        period_quarter,
        period_index,
        period_end,
        actual_value,
        expected_value,
        progress_ratio,
        status,
        is_simulated,
        source_file_seq
        {%- if not is_incremental() %},
        row_number() over (
            partition by series_id, period_index
            order by case when period_type = 'year' then 0 else 1 end
        ) as period_rank
        {%- endif %}

    from in_scope
    -- one row per quarter-end, the annual one where there is one (the authoritative number). An
    -- incremental build leaves out the quarter-ends that have one by an anti join with the few
    -- annual rows: the window ranking every row by series and period ran there as a grouping of
    -- every row's columns (node CPU 1.79-1.91 -> 1.27-1.44 s at a new quarter). A full build keeps
    -- the window: over 5 M rows the anti join with its `or` cost more (the statement 5.8-6.4 ->
    -- 7.4 s, 10.8-11.6 -> 13.8 s of CPU; bench/README.md, fourteenth pass)
    {%- if is_incremental() %}
    where in_scope.period_type = 'year'
       or not exists (
           select 1 from annual_rows
           where annual_rows.series_id = in_scope.series_id
             and annual_rows.period_index = in_scope.period_index
       )
    {%- endif %}

),

sequenced as (

    -- one ordering of each series serves all four window functions (a descending
    -- row_number would sort the five million rows a second time)
    select
        one_per_quarter_end.*,
        lag(status) over by_period as previous_status,
        lag(period) over by_period as previous_period,
        row_number() over by_period as period_position,
        -- (the whole series: a named window cannot take a frame on Spark)
        count(*) over (partition by series_id) as period_count

    from one_per_quarter_end
    {%- if not is_incremental() %}
    where period_rank = 1
    {%- endif %}
    window by_period as (partition by series_id order by period_index)

),

resolved as (

    select
        sequenced.*,
        {% if is_incremental() -%}
        -- the first recomputed row's previous one is the kept anchor row
        coalesce(sequenced.previous_period, anchor_rows.period) as resolved_previous_period,
        coalesce(sequenced.previous_status, anchor_rows.status) as resolved_previous_status
        {%- else -%}
        sequenced.previous_period as resolved_previous_period,
        sequenced.previous_status as resolved_previous_status
        {%- endif %}

    from sequenced
    {% if is_incremental() -%}
    left join anchor_rows
        on anchor_rows.series_id = sequenced.series_id
        and sequenced.period_position = 1
    {%- endif %}

),

final as (

    select
        {{ status_history_id_expression('resolved') }} as status_history_id,
        resolved.series_id,
        series.region_code,
        regions.region_name,
        series.indicator_code,
        series.indicator_name,
        series.breakdown,
        series.plan,
        series.attribute,
        resolved.period,
        resolved.period_index,
        resolved.period_end,
        resolved.actual_value,
        resolved.expected_value,
        resolved.progress_ratio,
        resolved.status,
        statuses.status_zh,
        statuses.status_en,
        resolved.resolved_previous_period as previous_period,
        resolved.resolved_previous_status as previous_status,
        (resolved.resolved_previous_status is not null and resolved.resolved_previous_status <> resolved.status)
            as is_status_changed,
        case
            when resolved.period_year = plans.mid_term_evaluation_year and resolved.period_quarter = 4 then 'mid_term'
            when resolved.period_year = plans.final_evaluation_year and resolved.period_quarter = 4 then 'final'
        end as evaluation,
        (resolved.period_position = resolved.period_count) as is_latest,
        resolved.is_simulated,
        resolved.source_file_seq

    from resolved
    left join series
        on series.series_id = resolved.series_id
    left join plans
        on plans.plan_id = series.plan_id
    left join regions
        on regions.region_code = series.region_code
    left join statuses
        on statuses.status = resolved.status

)

select * from final
