{#- What was expected and received, when and from which file (macros/submissions.sql), and whether
    each figure is overdue: not received on or after its deadline. Evaluated when read, so that a
    figure becomes overdue on its deadline day without a build. -#}
with

figures as (
{{ submission_figures(with_source_file=true) }}
)

select
    region_code,
    region_name,
    plan,
    period,
    indicator_code,
    indicator_name_zh,
    indicator_name_en,
    breakdown,
    deadline,
    is_received,
    received_at,
    received_from_file,
    value,
    not is_received and current_date >= deadline as is_overdue,
    is_simulated_region

from figures
