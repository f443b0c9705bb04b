{#- One row per region and quarter: the figures expected and received, what is still missing and
    the deadline, none of which depends on the day it is read. A table, so that the report,
    `planwatch status` and the overdue digest do not group every raw observation on each read
    (8.6 s of the report at 2,850 regions, bench/README.md); bi.submission_by_region adds the
    overdue count from the day it is read. -#}
{{ config(materialized='table') }}

with

figures as (
{{ submission_figures(with_source_file=false) }}
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
    bool_or(is_simulated_region) as is_simulated_region

from figures
group by region_code, period
