select
    run_id,
    suite,
    expectation,
    severity,
    unexpected_count,
    sample,
    checked_at

from {{ ref('dq_last_run_results') }}
where not success
