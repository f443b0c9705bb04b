{#- bi.submission_counts and the figures overdue on the day it is read: a quarter's figures share
    one deadline, so once it has passed every figure not received is overdue (bi.submission_status
    says the same figure by figure). -#}
select
    region_code,
    region_name,
    period,
    deadline,
    figures_expected,
    figures_received,
    case when current_date >= deadline then figures_expected - figures_received else 0 end as figures_overdue,
    last_received_at,
    missing_indicators,
    is_simulated_region

from {{ ref('submission_counts') }}
