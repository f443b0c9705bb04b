{#- How each series' status moved, quarter-end by quarter-end. Where a year has both its Q4
    figure and an annual figure, the annual one stands for the quarter (it is the authoritative
    number). The plans' mid-term (third year) and final (target year) evaluations are flagged. -#}
with

progress as (

    select * from {{ ref('fct_indicator_progress') }}

),

plans as (

    select * from {{ ref('dim_plan') }}

),

one_per_quarter_end as (

    -- only the columns this mart shows: a window carries every column it is given through its
    -- sort, and the fact table is wide (bench/README.md)
    select
        series_id,
        region_code,
        region_name,
        indicator_code,
        indicator_name,
        breakdown,
        plan,
        plan_id,
        attribute,
        period,
        period_year,
        period_quarter,
        period_index,
        period_end,
        actual_value,
        expected_value,
        progress_ratio,
        status,
        status_zh,
        status_en,
        is_simulated,
        row_number() over (
            partition by series_id, period_index
            order by case when period_type = 'year' then 0 else 1 end
        ) as period_rank

    from progress

),

sequenced as (

    -- one ordering of each series serves all four window functions (a descending
    -- row_number would sort the five million rows a second time)
    select
        one_per_quarter_end.*,
        lag(status) over by_period as previous_status,
        lag(period) over by_period as previous_period,
        row_number() over by_period as period_position,
        count(*) over (by_period rows between unbounded preceding and unbounded following) as period_count

    from one_per_quarter_end
    where period_rank = 1
    window by_period as (partition by series_id order by period_index)

),

final as (

    select
        {{ dbt.concat(["sequenced.series_id", "'|'", "cast(sequenced.period_index as " ~ dbt.type_string() ~ ")"]) }}
            as status_history_id,
        sequenced.series_id,
        sequenced.region_code,
        sequenced.region_name,
        sequenced.indicator_code,
        sequenced.indicator_name,
        sequenced.breakdown,
        sequenced.plan,
        sequenced.attribute,
        sequenced.period,
        sequenced.period_index,
        sequenced.period_end,
        sequenced.actual_value,
        sequenced.expected_value,
        sequenced.progress_ratio,
        sequenced.status,
        sequenced.status_zh,
        sequenced.status_en,
        sequenced.previous_period,
        sequenced.previous_status,
        (sequenced.previous_status is not null and sequenced.previous_status <> sequenced.status) as is_status_changed,
        case
            when sequenced.period_year = plans.mid_term_evaluation_year and sequenced.period_quarter = 4 then 'mid_term'
            when sequenced.period_year = plans.final_evaluation_year and sequenced.period_quarter = 4 then 'final'
        end as evaluation,
        (sequenced.period_position = sequenced.period_count) as is_latest,
        sequenced.is_simulated

    from sequenced
    left join plans
        on plans.plan_id = sequenced.plan_id

)

select * from final
