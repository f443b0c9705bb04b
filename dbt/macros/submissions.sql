{#- Whether each printed plan figure was received for each quarter of the plan's years up to the
    run's quarter: everything of bi.submission_status but whether it is overdue, which depends on
    the day it is read. The deadline is the var `submission_deadline_days` days after the quarter
    closes: its one home is SUBMISSION_DEADLINE_DAYS in planwatch/core/scheduling.py, which every
    planwatch dbt run passes (the DAG runs that day, and the forms ask for the figures before it). A series a region reports only yearly is expected in Q4 (the year's figure). Reads the
    ingest tables as loaded (sources), as the view did before it moved into dbt.

    The one home of this logic, for bi.submission_status (a view, with the file each figure came
    from) and bi.submission_counts (the table bi.submission_by_region reads, without it: finding
    each figure's file is a third of the time at 2,850 regions, bench/README.md). DuckDB SQL
    (arg_max), as are the bi models that use it.

    `scope`, when given, is a CTE of the caller (region_code, period) holding the region × quarter
    pairs to compute: only their figures come out, each as a computation over all its data would
    give it (every version of a figure; a series' reporting kind over its whole history), which is
    how bi.submission_counts rebuilds only what new statistics change. `series_kinds`, when given,
    is a CTE of the caller with every series' `is_yearly` over all its observations, which
    `yearly_series` then reads instead of grouping the observations again (a series missing
    there is not yearly). `scope_start`, with `scope`: the least period_index of the scope, a
    literal (first_period_index_of), so that only the statistics from it on are read (none: the
    scope is empty, and nothing is). -#}
{% macro submission_figures(with_source_file, scope=none, series_kinds=none, scope_start=none) %}
with

printed_plan_rows as (

    select * from {{ source('plans', 'plan_indicators') }}

),

observations as (

    select * from {{ source('stats', 'stat_observations') }}

),

{%- if with_source_file %}
files as (

    select * from {{ source('stats', 'file_ledger') }}

),
{%- endif %}

plans as (

    select * from {{ ref('dim_plan') }}

),

periods as (

    select * from {{ ref('dim_period') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

plan_indicators as (

    select distinct
        region_code,
        plan,
        indicator_code,
        coalesce(breakdown, '') as breakdown

    from printed_plan_rows
    where coalesce(indicator_code, '') <> ''
      and coalesce(review_status, 'reviewed') in ('reviewed', 'simulated')
      and nullif(trim(cast(target_value as varchar)), '') is not null

),

latest as (

    -- the latest version of each figure; a quarter's figure or, in Q4, the year's
    select
        region_code,
        indicator_code,
        breakdown,
        case when period_type = 'year' then period || 'Q4' else period end as period,
        arg_max(value, file_seq) as value,
        {%- if with_source_file %}
        arg_max(file_id, file_seq) as file_id,
        {%- endif %}
        min(loaded_at) filter (where value is not null) as received_at

    from observations
    {%- if scope %}
    semi join {{ scope }} as scope
        on scope.region_code = observations.region_code
        and scope.period = case when observations.period_type = 'year' then observations.period || 'Q4'
                                else observations.period end
    where {{ period_index_at_least('observations.period_index', scope_start) }}
    {%- endif %}
    group by all

),

yearly_series as (

    -- over every period of the series, not only the scope's; from the source, not from `latest`:
    -- DuckDB writes out a CTE read twice before reading it (the 5 M grouped rows of a full build:
    -- bi.submission_counts' query CPU 6.6 -> 4.8-4.9 s nationally, bench/README.md, ninth pass)
    {%- if series_kinds %}
    select region_code, indicator_code, breakdown
    from {{ series_kinds }}
    where is_yearly
    {%- else %}
    select region_code, indicator_code, breakdown
    from {{ source('stats', 'stat_observations') }}
    {%- if scope %}
    where region_code in (select scope.region_code from {{ scope }} as scope)
    {%- endif %}
    group by all
    having bool_and(period_type = 'year')
    {%- endif %}

),

expected as (

    select
        plan_indicators.region_code,
        plan_indicators.plan,
        plan_indicators.indicator_code,
        plan_indicators.breakdown,
        periods.period,
        periods.period_end

    from plan_indicators
    inner join plans
        on plans.region_code = plan_indicators.region_code
        and plans.plan = plan_indicators.plan
    inner join periods
        on periods.period_type = 'quarter'
        and periods.is_closed_as_of_run
        and periods.period_year between plans.period_start_year and plans.period_end_year
    left join yearly_series
        on yearly_series.region_code = plan_indicators.region_code
        and yearly_series.indicator_code = plan_indicators.indicator_code
        and yearly_series.breakdown = plan_indicators.breakdown
    where (yearly_series.region_code is null or periods.period_quarter = 4)
    {%- if scope %}
      and {{ period_index_at_least('periods.period_index', scope_start) }}
      and exists (
          select 1 from {{ scope }} as scope
          where scope.region_code = plan_indicators.region_code and scope.period = periods.period
      )
    {%- endif %}

)

select
    expected.region_code,
    regions.region_name,
    expected.plan,
    expected.period,
    expected.indicator_code,
    indicators.indicator_name_zh,
    indicators.indicator_name_en,
    expected.breakdown,
    cast(expected.period_end + interval {{ submission_deadline_days() }} day as date) as deadline,
    latest.value is not null as is_received,
    case when latest.value is not null then latest.received_at end as received_at,
    {%- if with_source_file %}
    case when latest.value is not null then files.path end as received_from_file,
    {%- endif %}
    latest.value,
    regions.is_simulated as is_simulated_region

from expected
left join latest
    on latest.region_code = expected.region_code
    and latest.indicator_code = expected.indicator_code
    and latest.breakdown = expected.breakdown
    and latest.period = expected.period
{%- if with_source_file %}
left join files
    on files.file_id = latest.file_id
{%- endif %}
left join regions
    on regions.region_code = expected.region_code
left join indicators
    on indicators.indicator_code = expected.indicator_code
{% endmacro %}


{#- The deadline's days after the quarter's end. No default here: the one home of the number is
    planwatch/core/scheduling.py, and a dbt run started by hand passes it like planwatch does. -#}
{% macro submission_deadline_days() %}
    {%- set days = var('submission_deadline_days', none) -%}
    {%- if days is none and execute -%}
        {{ exceptions.raise_compiler_error(
            "dbt var `submission_deadline_days` is not set: planwatch passes it from "
            ~ "planwatch/core/scheduling.py (SUBMISSION_DEADLINE_DAYS). Run dbt through planwatch, or add "
            ~ "--vars '{submission_deadline_days: 15, as_of_quarter: ...}' to this command.") }}
    {%- endif -%}
    {{ days if days is not none else 0 }}
{%- endmacro %}
