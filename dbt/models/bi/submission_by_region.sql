select
    region_code,
    any_value(region_name) as region_name,
    period,
    min(deadline) as deadline,
    count(*) as figures_expected,
    count(*) filter (where is_received) as figures_received,
    count(*) filter (where is_overdue) as figures_overdue,
    max(received_at) as last_received_at,
    string_agg(indicator_code || case when breakdown <> '' then ' ' || breakdown else '' end, ', '
               order by indicator_code, breakdown) filter (where not is_received) as missing_indicators,
    bool_or(is_simulated_region) as is_simulated_region

from {{ ref('submission_status') }}
group by region_code, period
