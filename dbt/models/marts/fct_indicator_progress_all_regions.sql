{#- Progress of all tracked regions together, per indicator × breakdown × plan × period.
    Ratios are recomputed from summed parts, never averaged: counts and amounts are summed and
    the progress ratio is Σ(actual − base) / Σ(target − base) over regions that have both; shares
    with components are Σnumerator / Σdenominator × the unit's scale; a share without components
    cannot be combined and stays null (`rollup_method = not_aggregable`). The share of regions on
    course is a count over a count.

    Incremental by period: a period's rows sum the fact's rows of that period, and an incremental
    build rebuilds no fact row before the earliest period with a newer statistics row
    (PLANWATCH_REBUILT_FROM_PERIOD_INDEX, planwatch/build/candidate.py). So it recomputes the
    periods from that one on, from every region's rows of them, and keeps the earlier ones. A
    fact row keeps its plan from build to build (the plan of a year is ranked among the same
    targets), so no rollup of a recomputed period is left without rows. Without the bound (a
    build by hand) it recomputes every period. -#}
{{ config(**incremental_by_key('rollup_id')) }}
{%- set rebuilt_from = rebuilt_from_period_index() %}
with

progress as (

    select * from {{ ref('fct_indicator_progress') }}
    where plan is not null
    {%- if is_incremental() and rebuilt_from is not none %}
      and period_index >= {{ rebuilt_from }}
    {%- endif %}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

planned_regions as (

    select
        indicator_code,
        breakdown,
        plan,
        count(distinct region_code) as planned_region_count

    from plan_targets
    group by indicator_code, breakdown, plan

),

summed as (

    select
        indicator_code,
        breakdown,
        plan,
        period,
        min(period_type) as period_type,
        min(period_index) as period_index,
        min(period_end) as period_end,
        min(kind) as kind,
        min(unit) as unit,
        count(*) as region_count,
        sum(case when is_simulated then 1 else 0 end) as simulated_region_count,
        sum(actual_value) as sum_actual_value,
        sum(case when target_value is not null and base_value is not null then comparable_value - base_value end)
            as sum_progress_made,
        sum(case when target_value is not null and base_value is not null then target_value - base_value end)
            as sum_progress_planned,
        sum(baseline_value) as sum_baseline_value,
        count(baseline_value) as regions_with_baseline,
        sum(target_value) as sum_target_value,
        sum(expected_value) as sum_expected_value,
        count(expected_value) as regions_with_expected,
        sum(numerator) as sum_numerator,
        sum(denominator) as sum_denominator,
        count(numerator) as regions_with_components,
        max(actual_value * denominator / nullif(numerator, 0)) as unit_scale,
        sum(case when status in ('target_achieved', 'on_track') then 1 else 0 end) as regions_on_course,
        sum(case when status not in ('insufficient_data', 'no_target', 'target_year_passed') then 1 else 0 end)
            as regions_assessed

    from progress
    group by indicator_code, breakdown, plan, period

),

final as (

    select
        {{ dbt.concat(["summed.indicator_code", "'|'", "summed.breakdown", "'|'", "summed.plan", "'|'", "summed.period"]) }}
            as rollup_id,
        summed.indicator_code,
        summed.breakdown,
        summed.plan,
        summed.period,
        summed.period_type,
        summed.period_index,
        summed.period_end,
        summed.unit,
        case
            when summed.kind in ('count', 'amount') then 'sum'
            when summed.regions_with_components = summed.region_count then 'ratio_of_sums'
            else 'not_aggregable'
        end as rollup_method,
        summed.region_count,
        planned_regions.planned_region_count,
        (summed.region_count = planned_regions.planned_region_count) as is_complete,
        summed.simulated_region_count,
        case
            when summed.kind in ('count', 'amount') then summed.sum_actual_value
            when summed.regions_with_components = summed.region_count
                then summed.sum_numerator / nullif(summed.sum_denominator, 0) * summed.unit_scale
        end as actual_value,
        case
            when summed.kind in ('count', 'amount') and summed.regions_with_baseline = summed.region_count
                then summed.sum_baseline_value
        end as baseline_value,
        case when summed.kind in ('count', 'amount') then summed.sum_target_value end as target_value,
        case
            when summed.kind in ('count', 'amount') and summed.regions_with_expected = summed.region_count
                then summed.sum_expected_value
        end as expected_value,
        case
            when summed.kind in ('count', 'amount')
                then summed.sum_progress_made / nullif(summed.sum_progress_planned, 0)
        end as progress_ratio,
        summed.regions_on_course,
        summed.regions_assessed,
        1.0 * summed.regions_on_course / nullif(summed.regions_assessed, 0) as share_of_regions_on_course

    from summed
    left join planned_regions
        on planned_regions.indicator_code = summed.indicator_code
        and planned_regions.breakdown = summed.breakdown
        and planned_regions.plan = summed.plan

)

select * from final
