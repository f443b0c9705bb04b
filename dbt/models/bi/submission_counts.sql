{#- One row per region and quarter: the figures expected and received, what is still missing and
    the deadline, none of which depends on the day it is read. A table, so that the report,
    `planwatch status` and the overdue digest do not group every raw observation on each read
    (8.6 s of the report at 2,850 regions, bench/README.md); bi.submission_by_region adds the
    overdue count from the day it is read.

    Incremental by region × quarter (dbt/README.md): a build recomputes the pairs whose counts new
    statistics can change and keeps the others. An observation is new when its file came after
    every row here (file_seq above built_file_seq) or its period after theirs (built_period_index). Its
    region × quarter (a year's figure counts in Q4) is recomputed; so is every quarter after the
    last one here (newly closed: expected even with nothing received); and every quarter of a
    region with a series whose reporting kind the new observations change (a series reported only
    yearly is expected in Q4 only: its first figure, or its first quarterly one after yearly
    ones, changes what every quarter expects). A pair left with nothing expected is removed
    (post-hook); a full build has no such row. built_file_seq and built_period_index (the newest
    file and period of the statistics the table was last built from, on every row: the post-hook
    sets the kept rows' too, so that an incremental build leaves the rows a full one makes). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['region_code', 'period'],
    on_schema_change='fail',
    post_hook=[
        "delete from {{ this }} where figures_expected = 0",
        "update {{ this }} set built_file_seq = (select max(file_seq) from {{ source('stats', 'stat_observations') }}),
             built_period_index = (select max({{ period_index('period') }}) from {{ source('stats', 'stat_observations') }})
         where built_file_seq is distinct from (select max(file_seq) from {{ source('stats', 'stat_observations') }})
            or built_period_index is distinct from (select max({{ period_index('period') }}) from {{ source('stats', 'stat_observations') }})",
    ],
) }}

with

{% if is_incremental() %}
{#- the statistics are read as the source, never through a CTE: DuckDB writes out a CTE read twice
    before reading it (5.4 M rows at 2,850 regions). Their period index is the loader's column
    (equal to the macro's, dbt/tests/assert_period_index_matches_loader.sql): only a warehouse the
    loader filled is ever extended, and parsing five million period strings three times cost a
    third of this query (bench/README.md, twelfth pass). A full build (the bi fixture's too, made
    without the loader) does not read it. -#}
{%- set observations = source('stats', 'stat_observations') %}
{%- set scope_ctes %}
built as (

    -- what the statistics held when this table was built: every observation up to both bounds was
    -- there (the build read every period up to its quarter), and only those
    select
        coalesce(max(built_file_seq), -1) as file_seq,
        coalesce(max(built_period_index), -1) as period_index,
        coalesce(max({{ period_index('period') }}), -1) as last_quarter_index

    from {{ this }}

),

yearly_candidates as (

    -- the series with a yearly figure: only they can be reported only yearly, before or now (a
    -- series without one is neither, and never changes kind), so only their observations are
    -- grouped below, not the five million (bench/README.md, fourteenth pass)
    select distinct region_code, indicator_code, breakdown
    from {{ observations }}
    where period_type = 'year'

),

series_kinds as (

    -- each series' reporting kind over the observations seen before and over all: only yearly,
    -- or not (none, or some quarter). The figures below take the series reported only yearly
    -- from here too, instead of grouping the five million observations a second time
    select
        observations.region_code,
        observations.indicator_code,
        observations.breakdown,
        coalesce(bool_and(observations.period_type = 'year')
                 filter (where observations.file_seq <= built.file_seq
                         and observations.period_index <= built.period_index), false) as was_yearly,
        coalesce(bool_and(observations.period_type = 'year'), false) as is_yearly

    from {{ observations }} as observations
    semi join yearly_candidates
        on yearly_candidates.region_code = observations.region_code
        and yearly_candidates.indicator_code = observations.indicator_code
        and yearly_candidates.breakdown = observations.breakdown
    cross join built
    group by observations.region_code, observations.indicator_code, observations.breakdown

),

kind_changed as (

    select distinct region_code
    from series_kinds
    where was_yearly <> is_yearly

),

scope as (

    -- the region × quarter of each new observation (a year's period_index is its Q4's)
    select distinct
        observations.region_code,
        case when observations.period_type = 'year' then observations.period || 'Q4' else observations.period end
            as period,
        observations.period_index

    from {{ observations }} as observations
    cross join built
    where observations.file_seq > built.file_seq or observations.period_index > built.period_index

    union

    -- the quarters closed since, and every quarter of a region whose series changed kind
    select
        regions.region_code,
        periods.period,
        periods.period_index

    from {{ ref('dim_region') }} as regions
    cross join {{ ref('dim_period') }} as periods
    cross join built
    where periods.period_type = 'quarter'
      and periods.is_closed_as_of_run
      and (periods.period_index > built.last_quarter_index
           or regions.region_code in (select kind_changed.region_code from kind_changed))

)
{%- endset %}
{#- the scope's first quarter, asked before the query and written into it as a literal, so that
    DuckDB skips the older statistics while it reads them (a bound computed inside the query is
    not pushed down: dbt/macros/incremental.sql); at a new quarter only its own rows are read -#}
{%- set scope_start = first_period_index_of(scope_ctes, 'scope') %}
{{ scope_ctes }},
{% endif %}

figures as (
{{ submission_figures(with_source_file=false, scope='scope' if is_incremental() else none,
                      series_kinds='series_kinds' if is_incremental() else none,
                      scope_start=scope_start if is_incremental() else none) }}
)

select
    region_code,
    any_value(region_name) as region_name,
    period,
    -- every figure of a region and quarter has the same deadline (the quarter's end + the var
    -- submission_deadline_days, from planwatch/core/scheduling.py)
    min(deadline) as deadline,
    count(*) as figures_expected,
    count(*) filter (where is_received) as figures_received,
    max(received_at) as last_received_at,
    string_agg(indicator_code || case when breakdown <> '' then ' ' || breakdown else '' end, ', '
               order by indicator_code, breakdown) filter (where not is_received) as missing_indicators,
    bool_or(is_simulated_region) as is_simulated_region,
    -- what this table has seen: the newest file and period of the statistics it was built from
    (select max(file_seq) from {{ source('stats', 'stat_observations') }}) as built_file_seq,
    {%- if is_incremental() %}
    (select max(period_index) from {{ source('stats', 'stat_observations') }}) as built_period_index
    {%- else %}
    (select max({{ period_index('period') }}) from {{ source('stats', 'stat_observations') }}) as built_period_index
    {%- endif %}

from figures
group by region_code, period
{%- if is_incremental() %}

union all

-- a kept pair of a region whose series changed kind, with nothing expected now: replaced by a row
-- with nothing expected, which the post-hook deletes
select * replace (0 as figures_expected, 0 as figures_received)
from {{ this }} as kept
where kept.region_code in (select kind_changed.region_code from kind_changed)
  and not exists (
      select 1 from figures
      where figures.region_code = kept.region_code and figures.period = kept.period
  )
{%- endif %}
