select
    run_id,
    suite,
    severity,
    count(*) as checks,
    count(*) filter (where success) as passed,
    count(*) filter (where not success) as failed,
    coalesce(sum(unexpected_count) filter (where not success), 0) as unexpected_rows,
    max(checked_at) as checked_at

from {{ ref('dq_last_run_results') }}
group by run_id, suite, severity
