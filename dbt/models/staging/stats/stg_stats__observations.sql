with

source as (

    select * from {{ source('stats', 'stat_observations') }}

),

renamed as (

    select
        ---------- ids
        file_id,
        file_seq,
        line_no,
        region_code,
        indicator_code,
        coalesce(breakdown, '') as breakdown,
        upper(period) as period,

        ---------- periods
        {{ period_type('upper(period)') }} as period_type,
        {{ period_year('period') }} as period_year,
        {{ period_quarter('period') }} as period_quarter,
        -- written by the loader (planwatch.core.periods.period_index); the macro's copy is pinned to it by
        -- tests/assert_period_index_matches_loader.sql
        period_index,

        ---------- numerics
        cast(value as {{ type_double() }}) as value,
        unit,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,

        ---------- text
        raw_value,
        raw_unit,
        source,

        ---------- booleans
        is_simulated,

        ---------- dates and timestamps
        reported_on,
        loaded_at

    from source

)

select * from renamed
