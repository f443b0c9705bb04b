select
    region_code,
    any_value(region_name) as region_name,
    coalesce(attribute, '') as attribute,
    status,
    any_value(status_label_zh) as status_label_zh,
    any_value(status_label_en) as status_label_en,
    any_value(status_order) as status_order,
    count(*) as indicators,
    bool_or(is_simulated) as any_simulated

from {{ ref('latest_status') }}
group by region_code, coalesce(attribute, ''), status
