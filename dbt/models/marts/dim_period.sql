{#- Every quarter and every year from var period_spine_start_year to the later of the last plan
    target year and the run's quarter. -#}
with

plan_years as (

    select max(window_end_year) as last_plan_year
    from {{ ref('int_plan_targets_converted') }}

),

numbers as (

    {{ integer_series(60) }}

),

years as (

    select {{ var('period_spine_start_year') }} + generated_number - 1 as period_year
    from numbers
    cross join plan_years
    where {{ var('period_spine_start_year') }} + generated_number - 1
        <= case
            when coalesce(last_plan_year, 0) > {{ as_of_year() }} then last_plan_year
            else {{ as_of_year() }}
        end

),

quarters as (

    select 1 as period_quarter union all
    select 2 union all
    select 3 union all
    select 4

),

periods as (

    select
        {{ dbt.concat(["cast(years.period_year as " ~ dbt.type_string() ~ ")", "'Q'", "cast(quarters.period_quarter as " ~ dbt.type_string() ~ ")"]) }}
            as period,
        'quarter' as period_type,
        years.period_year,
        quarters.period_quarter
    from years
    cross join quarters

    union all

    select
        cast(years.period_year as {{ dbt.type_string() }}) as period,
        'year' as period_type,
        years.period_year,
        4 as period_quarter
    from years

),

final as (

    select
        period,
        period_type,
        period_year,
        period_quarter,
        period_year * 4 + period_quarter - 1 as period_index,
        {{ period_end_date('period_year', 'period_quarter') }} as period_end,
        (period_year * 4 + period_quarter - 1) <= {{ as_of_index() }} as is_closed_as_of_run

    from periods

)

select * from final
