{#- The evaluations a plan calls for: mid-term (the period's mid_term_year) and final (its last
    year), one row per plan series and evaluation, with the target, the value expected at that
    point, the actual (the annual figure, else Q4) and the verdict the evaluation documents use.
    The rule is in docs/methodology.md "Evaluations"; the years come from raw/reference/plan_periods.csv.

    Incremental by evaluation year: a build recomputes the evaluations of the years a new quarter
    can change and keeps the older ones (evaluation_rebuild_year, macros/incremental.sql). A row reads the year
    figures of its evaluation year (of every year from the plan's first to it, for a cumulative
    target), the chained base (a year before it) and the run's quarter (is_due); the plan and
    reference tables an incremental build keeps are the same. At a Q4 half the rows (that year's
    final evaluations) are written again, at Q1-Q3 none (bench/README.md, twelfth pass). -#}
{{ config(**incremental_by_key(['plan_target_id', 'evaluation_kind'])) }}
{%- set from_year = evaluation_rebuild_year() if is_incremental() else none %}
with

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

annual_targets as (

    select * from {{ ref('int_plan_annual_targets_unpivoted') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

indicator_rules as (

    -- the effective bounds, derived once by planwatch.core.catalog: the natural limits
    select * from {{ ref('stg_reference__indicator_rules') }}

),

bases as (

    select * from {{ ref('int_plan_bases_chained') }}

),

year_figures as (

    select * from {{ ref('int_observations_year_end') }}

),

actual_year_figures as (

    -- the actual's year is the evaluation year: an incremental build reads only the years it
    -- recomputes (a literal, so that DuckDB skips the older observations' row groups; the
    -- cumulative totals below still read every year of the plan's window). Query CPU of the
    -- bench's new quarter, nationally: 0.93 -> 0.60 s (bench/README.md, twelfth pass)
    {%- if from_year is none %}
    select * from year_figures
    {%- else %}
    select * from {{ ref('int_observations_year_end') }}
    where period_year >= {{ from_year }}
    {%- endif %}

),

files as (

    select * from {{ ref('stg_stats__files') }}

),

all_evaluations as (

    select
        plan_targets.*,
        plan_periods.plan_name_zh,
        -- a cumulative target (a total over the plan's years) starts from 0 before its first year,
        -- as in the progress status (int_indicator_progress_computed)
        case when plan_targets.target_kind = 'cumulative' then 0.0 else bases.baseline_value end as base_value,
        case
            when plan_targets.target_kind = 'cumulative' then plan_targets.window_start_year - 1
            else bases.baseline_year
        end as base_year,
        case when plan_targets.target_kind = 'cumulative' then 'plan_start' else bases.baseline_source end
            as baseline_source,
        evaluation.evaluation_kind,
        case evaluation.evaluation_kind
            when 'mid_term' then plan_periods.mid_term_year
            else coalesce(plan_targets.target_year, plan_periods.last_year)
        end as evaluation_year

    from plan_targets
    inner join plan_periods
        on plan_periods.plan = plan_targets.plan
    left join bases
        on bases.plan_target_id = plan_targets.plan_target_id
    cross join (
        select 'mid_term' as evaluation_kind
        union all
        select 'final'
    ) as evaluation

),

evaluations as (

    select * from all_evaluations
    {%- if from_year is not none %}
    where evaluation_year >= {{ from_year }}
    {%- endif %}

),

cumulative_actuals as (

    -- a cumulative target's actual: the year figures from the plan's first year to the evaluation year
    select
        evaluations.plan_target_id,
        evaluations.evaluation_kind,
        sum(year_figures.value) as cumulative_value

    from evaluations
    inner join year_figures
        on year_figures.region_code = evaluations.region_code
        and year_figures.indicator_code = evaluations.indicator_code
        and year_figures.breakdown = evaluations.breakdown
        and year_figures.period_year between evaluations.window_start_year and evaluations.evaluation_year
    where evaluations.target_kind = 'cumulative'
    group by evaluations.plan_target_id, evaluations.evaluation_kind

),

with_actual as (

    select
        evaluations.*,
        indicators.indicator_name_zh,
        indicators.direction,
        indicator_rules.lower_bound,
        indicator_rules.upper_bound,
        annual_targets.annual_target_value as annual_target_at_evaluation,
        case
            when actual_year_figures.value is null then null
            when evaluations.target_kind = 'cumulative' then cumulative_actuals.cumulative_value
            else actual_year_figures.value
        end as actual_value,
        actual_year_figures.period as actual_period,
        actual_year_figures.is_simulated as actual_is_simulated,
        files.file_path as actual_source_file,
        actual_year_figures.source_line_no as actual_source_line

    from evaluations
    left join indicators
        on indicators.indicator_code = evaluations.indicator_code
    left join indicator_rules
        on indicator_rules.indicator_code = evaluations.indicator_code
    left join annual_targets
        on annual_targets.plan_target_id = evaluations.plan_target_id
        and annual_targets.target_year = evaluations.evaluation_year
    left join actual_year_figures
        on actual_year_figures.region_code = evaluations.region_code
        and actual_year_figures.indicator_code = evaluations.indicator_code
        and actual_year_figures.breakdown = evaluations.breakdown
        and actual_year_figures.period_year = evaluations.evaluation_year
    left join files
        on files.file_seq = actual_year_figures.source_file_seq
    left join cumulative_actuals
        on cumulative_actuals.plan_target_id = evaluations.plan_target_id
        and cumulative_actuals.evaluation_kind = evaluations.evaluation_kind

),

expected as (

    select
        with_actual.*,
        -- final: the target; mid-term: the plan's own target for that year, else the straight
        -- path from the baseline to the target
        case
            when evaluation_kind = 'final' then target_value
            when annual_target_at_evaluation is not null then annual_target_at_evaluation
            when base_value is not null and target_year > base_year
                then base_value + (target_value - base_value)
                    * (evaluation_year - base_year) / (target_year - base_year)
        end as expected_value,
        case
            when comparator = '<=' or (comparator is null and direction = 'decrease') then 'at_most'
            when comparator = '=' or (comparator is null and direction = 'maintain') then 'equal'
            else 'at_least'
        end as target_comparison

    from with_actual

),

judged as (

    select
        expected.*,
        -- the same rule as the progress status (int_indicator_progress_computed): a binding
        -- maintain target has no margin; a non-binding target at a natural limit (a catalog bound,
        -- e.g. 100 %) counts as met within natural_limit_margin, so the verdict and the status agree
        case
            when actual_value is null or target_value is null then null
            when coalesce(attribute, '') <> 'binding' and target_comparison <> 'equal'
                and target_value = case target_comparison when 'at_most' then lower_bound else upper_bound end
                and abs(actual_value - target_value) <= {{ var('natural_limit_margin') }} then true
            when target_comparison = 'at_most' then actual_value <= target_value
            when target_comparison = 'equal' and coalesce(attribute, '') = 'binding' then abs(actual_value - target_value) <= 1e-9
            when target_comparison = 'equal'
                then abs(actual_value - target_value) <= {{ var('maintain_margin') }} * abs(target_value)
            else actual_value >= target_value
        end as is_target_met,
        -- how far the actual is past (+) or short of (-) the expected value, as a share of the
        -- progress expected from the baseline (of the expected value itself without a baseline)
        case
            when actual_value is null or expected_value is null then null
            when base_value is not null and expected_value <> base_value
                then (case when target_comparison = 'at_most' then -1 else 1 end)
                    * (actual_value - expected_value) / abs(expected_value - base_value)
            when expected_value <> 0
                then (case when target_comparison = 'at_most' then -1 else 1 end)
                    * (actual_value - expected_value) / abs(expected_value)
        end as relative_gap

    from expected

),

verdicts as (

    select
        judged.*,
        case
            when evaluation_kind = 'final' then
                case
                    when is_target_met is null then 'no_data'
                    when is_target_met then 'achieved'
                    else 'not_achieved'
                end
            when is_target_met is null then 'no_data'
            when is_target_met and target_comparison <> 'equal' then 'achieved_early'
            when target_comparison = 'equal' then case when is_target_met then 'as_expected' else 'lagging' end
            when relative_gap is null then 'no_data'
            when relative_gap > {{ var('mid_term_tolerance') }} then 'ahead_of_expectation'
            when relative_gap >= -{{ var('mid_term_tolerance') }} then 'as_expected'
            else 'lagging'
        end as verdict

    from judged

),

final as (

    select
        {{ dbt.concat(["plan_target_id", "'|'", "evaluation_kind"]) }} as plan_evaluation_id,
        plan_target_id,
        region_code,
        region_name,
        plan,
        plan_name_zh,
        evaluation_kind,
        evaluation_year,
        (evaluation_year * 4 + 3) <= {{ as_of_index() }} as is_due,
        seq,
        indicator_code,
        indicator_name,
        indicator_name_zh,
        breakdown,
        target_kind,
        attribute,
        case attribute when 'binding' then '约束性' when 'expected' then '预期性' end as attribute_zh,
        unit,
        printed_unit,
        direction,
        target_comparison,
        base_year,
        base_value,
        baseline_source,
        target_year,
        target_value,
        printed_target_value,
        expected_value,
        actual_value,
        actual_period,
        coalesce(actual_is_simulated, false) as is_simulated,
        is_target_met,
        relative_gap,
        verdict,
        case verdict
            when 'achieved' then '完成'
            when 'not_achieved' then '未完成'
            when 'achieved_early' then '提前实现'
            when 'ahead_of_expectation' then '快于预期'
            when 'as_expected' then '基本符合预期'
            when 'lagging' then '滞后'
            else '无数据'
        end as verdict_zh,
        target_source,
        source_doc as target_source_doc,
        source_file as target_source_file,
        source_line as target_source_line,
        actual_source_file,
        actual_source_line

    from verdicts

)

select * from final
