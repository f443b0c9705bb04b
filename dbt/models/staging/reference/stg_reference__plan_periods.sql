with

source as (

    select * from {{ source('reference', 'plan_periods') }}

),

renamed as (

    select
        ---------- ids
        lower({{ as_text('plan') }}) as plan,

        ---------- text
        {{ as_text('name_zh') }} as plan_name_zh,
        {{ as_text('name_en') }} as plan_name_en,

        ---------- numerics
        {{ as_integer('first_year') }} as first_year,
        {{ as_integer('last_year') }} as last_year,
        {{ as_integer('base_year') }} as base_year,
        {{ as_integer('mid_term_year') }} as mid_term_year

    from source

)

select * from renamed
