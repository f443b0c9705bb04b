with

source as (

    select * from {{ source('reference', 'unit_conversions') }}

),

renamed as (

    select
        ---------- ids
        from_unit,
        to_unit,

        ---------- numerics
        factor

    from source

)

select * from renamed
