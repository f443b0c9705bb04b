{#- Every number the reviewed plan files print, and whether the warehouse uses it: one row per
    printed figure (a baseline, a target, an annual target, a 13th-plan target or result, a prose
    target). A figure is used when its row resolves to a catalog indicator and its unit (as printed,
    or as the reviewer read it: unit_as_read) converts to the catalog's; it reaches the facts when
    a fact row of its series (fct_indicator_progress) or its completion row (fct_plan_completion)
    carries it. A figure that is not used says why (exclusion_reason); bi.plan_figures_excluded
    lists them, and the report and `planwatch summary` count them. Simulated plans are left out:
    they are not printed anywhere.

    The judging is int_plan_figures_judged (plan and reference tables only, kept by an incremental
    build); this model adds reaches_facts, which follows the statistics.

    Incremental by figure: reaches_facts is the one column that can change when the figures are
    the published build's (an incremental build has the same fingerprint, so the judged figures are
    kept), and it changes only with the set of series of the facts. So an incremental build
    computes reaches_facts for every figure (a join of the figures' ids with the series) and writes
    again only the figures whose value differs from the kept one, or that have no kept row: for a
    new quarter of the same series none, where the whole table took 0.65 s of every quarter
    (bench/README.md).
    tests/planwatch/build/test_candidate.py adds a series in an incremental build. -#}
{{ config(**incremental_by_key('plan_figure_id')) }}
with

figures as (

    select * from {{ ref('int_plan_figures_judged') }}

),

progress_series as (

    -- the series of fct_indicator_progress, read from its one row per series (fct_indicator_latest
    -- groups the same four columns; breakdown is never null): 268 k rows instead of a distinct
    -- over 5.4 M at 2,850 regions (bench/README.md)
    select region_code, indicator_code, breakdown, plan
    from {{ ref('fct_indicator_latest') }}

),

final as (

    select
        figures.plan_figure_id,
        figures.region_code,
        figures.plan,
        figures.plan_table,
        figures.source_file,
        figures.source_doc,
        figures.source_line,
        figures.indicator_name,
        figures.indicator_code,
        figures.breakdown,
        figures.figure,
        figures.printed_value,
        figures.printed_unit,
        figures.unit_as_read,
        figures.unit_note,
        figures.is_unit_as_read,
        figures.unit,
        figures.unit_conversion_status,
        figures.value_in_catalog_unit,
        figures.is_used,
        -- a completion figure is carried by its fct_plan_completion row, which every converted
        -- completion row has; a target figure by a fact row of its series
        (
            figures.is_used
            and (
                (figures.plan_table = 'plan_completion' and figures.value_in_catalog_unit is not null)
                or (figures.plan_table <> 'plan_completion' and progress_series.region_code is not null)
            )
        ) as reaches_facts,
        figures.exclusion_reason

    from figures
    left join progress_series
        on progress_series.region_code = figures.region_code
        and progress_series.indicator_code = figures.indicator_code
        and progress_series.breakdown = figures.breakdown
        and progress_series.plan = figures.plan

)

{%- if is_incremental() %}

-- final read once, so that DuckDB streams it through the join instead of writing it out
select final.*
from final
left join {{ this }} as kept
    on kept.plan_figure_id = final.plan_figure_id
where kept.plan_figure_id is null
   or kept.reaches_facts is distinct from final.reaches_facts
{%- else %}

select * from final
{%- endif %}
