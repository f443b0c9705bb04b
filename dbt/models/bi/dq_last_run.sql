select
    run_id,
    max(checked_at) as checked_at

from {{ source('audit', 'dq_results') }}
group by run_id
order by max(checked_at) desc
limit 1
