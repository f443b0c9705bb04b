with

source as (

    select * from {{ source('reference', 'indicator_rules') }}

),

renamed as (

    select
        ---------- ids
        indicator_code,

        ---------- text
        unit,

        ---------- numerics
        lower_bound,
        upper_bound,
        share_scale,

        ---------- booleans
        is_integral

    from source

)

select * from renamed
