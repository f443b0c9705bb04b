{#- Freshness per region: a region with a plan that has sent nothing for the run's quarter
    (var as_of_quarter) is a warning, not an error: its rows simply keep last quarter's status.
    Only plans still running count: after a plan's final year nothing more is due under it. -#}
{{ config(severity='warn') }}

with

planned_regions as (

    select distinct region_code
    from {{ ref('int_plan_targets_converted') }}
    where window_end_year * 4 + 3 >= {{ as_of_index() }}

),

reported as (

    select distinct region_code
    from {{ ref('int_observations_latest') }}
    where period_index = {{ as_of_index() }}

)

select planned_regions.region_code
from planned_regions
left join reported
    on reported.region_code = planned_regions.region_code
where reported.region_code is null
