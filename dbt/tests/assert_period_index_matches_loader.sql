{#- Parity of the two homes of the period-index formula: the loader writes `period_index` on every
    observation (planwatch.core.periods.period_index); dbt's macro (macros/periods.sql) must give the same
    number for the same period, or models that compute an index from a period would disagree with
    the observations. Returns the observations where they differ, from the rebuild bound on in an
    incremental build (`__rebuilt_rows__`, as every test of stg_stats__observations: the older rows
    were checked when the published build was made; dbt/macros/rebuilt_rows.sql). -#}
{%- set bound = rebuilt_from_period_index() %}
select
    file_id,
    line_no,
    period,
    period_index,
    {{ period_index('period') }} as macro_period_index

from {{ ref('stg_stats__observations') }}
where period_index is distinct from {{ period_index('period') }}
{%- if bound is not none %}
  and period_index >= {{ bound }}
{%- endif %}
