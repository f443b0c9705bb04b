{{ config(materialized='ephemeral') }}
{#- The checks of the last run recorded in this file (bi.dq_last_run), for dq_summary and dq_findings. -#}
with

results as (

    select * from {{ source('audit', 'dq_results') }}

),

last_run as (

    select * from {{ ref('dq_last_run') }}

)

select results.*
from results
inner join last_run using (run_id)
