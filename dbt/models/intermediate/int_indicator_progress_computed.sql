{#- The progress arithmetic and the status, one row per latest observation. The method and every
    threshold come from vars in dbt_project.yml; docs/methodology.md explains each step with
    worked examples, and the unit tests in _intermediate__models.yml hold the hand-computed cases.

    Time is measured in years on one axis: the end of year Y is Y, the end of quarter q of year Y
    is Y - 1 + q/4. A flow's quarter holds the year-to-date total, so it is annualised (× 4/q) and
    placed at Y, where it is compared with the year's figure. -#}

{%- set method = var('progress_method') -%}
{%- if method not in ['unsd', 'open_sdg'] -%}
    {{ exceptions.raise_compiler_error("var progress_method=" ~ method ~ " is not one of unsd, open_sdg") }}
{%- endif -%}
{%- set thresholds = var('progress_thresholds')[method] -%}
{%- set on_track = thresholds['on_track'] -%}
{%- set needs_acceleration = thresholds['needs_acceleration'] -%}
{%- set min_points = var('min_data_points') -%}

with

inputs as (

    select * from {{ ref('int_progress_inputs_joined') }}

),

placed_in_time as (

    select
        inputs.*,
        coalesce(attribute = 'binding', false) as is_binding,
        coalesce(target_kind = 'cumulative', false) as is_cumulative,
        case direction when 'increase' then 1 when 'decrease' then -1 else 0 end as direction_sign,
        (measure = 'flow' and period_type = 'quarter' and coalesce(target_kind <> 'cumulative', true))
            as is_year_to_date,
        -- a running total (cumulative target) grows through the year like a level, so it sits at the
        -- quarter's end; a year's flow is compared with the year's figure, at the year's end
        case
            when target_kind = 'cumulative' and period_type = 'quarter' then period_year - 1 + period_quarter / 4.0
            when measure = 'flow' or period_type = 'year' then 1.0 * period_year
            else period_year - 1 + period_quarter / 4.0
        end as time_point,
        case
            when target_kind = 'cumulative' then prior_years_total + actual_value
            when measure = 'flow' and period_type = 'quarter' then actual_value * 4.0 / period_quarter
            else actual_value
        end as comparable_value,
        case
            when measure = 'flow' or first_observation_period_type = 'year' then 1.0 * first_observation_year
            else first_observation_year - 1 + first_observation_quarter / 4.0
        end as first_time_point,
        case
            when measure = 'flow' and first_observation_period_type = 'quarter'
                then first_observation_value * 4.0 / first_observation_quarter
            else first_observation_value
        end as first_comparable_value

    from inputs

),

base_point as (

    -- the plan's baseline; when the plan printed none, the series' first observation (as the
    -- UN progress chart does when the base year has no data)
    select
        placed_in_time.*,
        (target_value is not null and target_year is not null) as has_target,
        -- the period that closes the target year (its Q4 or the year itself) gives the final verdict
        (period_year = target_year and (period_type = 'year' or period_quarter = 4)) as is_final_period,
        -- a cumulative target counts from zero at the end of the year before the plan's first
        -- year; the printed baseline (the last year's flow) is shown, not travelled from
        case
            when is_cumulative then 0.0
            when baseline_value is not null then baseline_value
            else first_comparable_value
        end as base_value,
        case
            when is_cumulative then plan_start_year - 1.0
            when baseline_value is not null then 1.0 * coalesce(baseline_year, target_year - 5)
            else first_time_point
        end as base_time,
        case
            when is_cumulative then 'plan_start'
            when baseline_value is not null then coalesce(baseline_source, 'plan_baseline')
            else 'first_observation'
        end as base_source,
        observations_to_date + case when baseline_value is not null or is_cumulative then 1 else 0 end as data_points

    from placed_in_time

),

geometry as (

    select
        base_point.*,
        time_point - base_time as years_elapsed,
        target_year - base_time as years_planned,
        target_value - base_value as target_gap,
        sign(target_value - base_value) as target_sign,
        -- a `maintain` indicator whose plan moves it still has to move towards the target
        case when direction_sign = 0 then sign(target_value - base_value) else direction_sign end as effective_sign

    from base_point

),

expected as (

    select
        geometry.*,
        case
            when not has_target then null
            -- (a cumulative target's annual figures are points on its running total: placed like a stock's)
            when annual_target_this_year is not null and ((measure = 'flow' and not is_cumulative) or period_quarter = 4)
                then annual_target_this_year
            when annual_target_this_year is not null
                -- a stock between two year-end anchors moves a quarter of the way each quarter
                then coalesce(
                        annual_target_previous_year,
                        base_value + target_gap * (period_year - 1 - base_time) / nullif(years_planned, 0)
                    )
                    + (annual_target_this_year - coalesce(
                        annual_target_previous_year,
                        base_value + target_gap * (period_year - 1 - base_time) / nullif(years_planned, 0)
                    )) * period_quarter / 4.0
            else base_value + target_gap * (time_point - base_time) / nullif(years_planned, 0)
        end as expected_comparable_value,
        (
            has_target
            and effective_sign <> 0
            and target_sign = effective_sign
        ) as target_ahead_of_base,
        (
            base_value > 0 and comparable_value > 0 and target_value > 0
        ) as uses_compound_growth,
        -- the effective bound in the direction of travel (raw.indicator_rules, planwatch.core.catalog)
        case
            when effective_sign = 1 then upper_bound
            when effective_sign = -1 then lower_bound
        end as natural_limit

    from geometry

),

projected as (

    select
        expected.*,
        case
            when not has_target or years_elapsed is null or years_elapsed <= 0 or data_points < {{ min_points }}
                then null
            when uses_compound_growth
                then base_value * power(comparable_value / base_value, years_planned / years_elapsed)
            else base_value + (comparable_value - base_value) * years_planned / years_elapsed
        end as projected_value,
        case
            when not target_ahead_of_base or years_elapsed is null or years_elapsed <= 0
                or data_points < {{ min_points }}
                then null
            when uses_compound_growth
                then (power(comparable_value / base_value, 1.0 / years_elapsed) - 1)
                    / nullif(power(target_value / base_value, 1.0 / years_planned) - 1, 0)
            else ((comparable_value - base_value) / years_elapsed) / nullif(target_gap / years_planned, 0)
        end as growth_ratio

    from expected

),

judged as (

    select
        projected.*,
        case
            when target_ahead_of_base then (comparable_value - base_value) / target_gap
        end as progress_ratio,
        case
            when target_ahead_of_base then (projected_value - base_value) / target_gap
        end as projected_ratio,
        case
            when not has_target then null
            when effective_sign = 1 then comparable_value >= target_value
            when effective_sign = -1 then comparable_value <= target_value
            when is_binding then abs(comparable_value - target_value) <= 1e-9
            else abs(comparable_value - target_value) <= {{ var('maintain_margin') }} * abs(target_value)
        end as meets_target_strictly,
        (
            not is_binding
            and natural_limit is not null
            and target_value = natural_limit
            and abs(comparable_value - natural_limit) <= {{ var('natural_limit_margin') }}
        ) as is_near_natural_limit,
        case
            when effective_sign = 1 then comparable_value >= expected_comparable_value
            when effective_sign = -1 then comparable_value <= expected_comparable_value
        end as is_ahead_of_expected

    from projected

),

rated as (

    select
        judged.*,
        {% if method == 'unsd' %}projected_ratio{% else %}growth_ratio{% endif %} as method_ratio

    from judged

),

statused as (

    select
        rated.*,
        case
            when not has_target then 'no_target'
            -- the verdict was given at the target year; a later figure does not reopen it
            when is_after_target_year then 'after_target_year'
            when meets_target_strictly then 'meets_target'
            when is_near_natural_limit then 'natural_limit'
            when is_final_period then 'final_at_target_year'
            when data_points < {{ min_points }} or years_elapsed is null or years_elapsed <= 0 then 'too_few_points'
            when not target_ahead_of_base then 'target_not_ahead_of_base'
            -- TolaData: at or ahead of the plan's own figure for the period is on track, whatever
            -- a projection from the base point says (the chart shows the value above its path)
            when is_ahead_of_expected then 'ahead_of_expected'
            when method_ratio is null then 'ratio_undefined'
            when is_binding then 'binding_ratio'
            else 'ratio'
        end as status_basis

    from rated

),

final as (

    select
        -- the ids are derived here, not stored upstream: as strings in every intermediate table
        -- they were most of those tables' write time (bench/README.md)
        {{ progress_id_expression() }} as observation_id,
        {{ dbt.concat(["region_code", "'|'", "indicator_code", "'|'", "breakdown", "'|'", "coalesce(plan, '')"]) }}
            as series_id,
        region_code,
        indicator_code,
        breakdown,
        period,
        period_type,
        period_year,
        period_quarter,
        period_index,
        plan_target_id,
        plan,
        attribute,
        is_binding,
        unit,
        kind,
        measure,
        direction,
        actual_value,
        comparable_value,
        numerator,
        denominator,
        baseline_year,
        baseline_value,
        base_value,
        base_time,
        base_source,
        target_year,
        target_value,
        target_kind,
        case when is_cumulative then comparable_value end as cumulative_value,
        -- after the target year there is no expected path and nothing to project
        case
            when is_after_target_year then null
            when is_year_to_date then expected_comparable_value * period_quarter / 4.0
            else expected_comparable_value
        end as expected_value,
        progress_ratio,
        case when is_after_target_year then null else projected_value end as projected_value,
        case when is_after_target_year then null else projected_ratio end as projected_ratio,
        case when is_after_target_year then null else growth_ratio end as growth_ratio,
        '{{ method }}' as progress_method,
        data_points,
        case status_basis
            when 'no_target' then 'no_target'
            when 'after_target_year' then 'target_year_passed'
            when 'meets_target' then 'target_achieved'
            when 'natural_limit' then 'target_achieved'
            when 'final_at_target_year' then 'target_not_achieved'
            when 'too_few_points' then 'insufficient_data'
            -- a level the plan only asks to keep (or that met the target at baseline) was lost
            when 'target_not_ahead_of_base' then 'deterioration'
            when 'ahead_of_expected' then 'on_track'
            when 'ratio_undefined' then 'insufficient_data'
            when 'binding_ratio' then
                -- behind the expected value: a binding target is never on track there
                case
                    when method_ratio >= {{ needs_acceleration }} then 'needs_acceleration'
                    when method_ratio >= 0 then 'limited_progress'
                    else 'deterioration'
                end
            else
                case
                    when method_ratio >= {{ on_track }} then 'on_track'
                    when method_ratio >= {{ needs_acceleration }} then 'needs_acceleration'
                    when method_ratio >= 0 then 'limited_progress'
                    else 'deterioration'
                end
        end as status,
        status_basis,
        is_simulated,
        source_file_seq

    from statused

)

select * from final
