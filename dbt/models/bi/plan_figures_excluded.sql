select
    region_code,
    plan,
    plan_table,
    source_file,
    source_line,
    indicator_name,
    indicator_code,
    breakdown,
    figure,
    printed_value,
    printed_unit,
    unit_as_read,
    unit,
    exclusion_reason

from {{ ref('fct_plan_figures') }}
where not is_used
