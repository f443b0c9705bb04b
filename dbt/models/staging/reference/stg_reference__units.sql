with

source as (

    select * from {{ source('reference', 'units') }}

),

renamed as (

    select
        ---------- ids
        {{ as_text('unit') }} as unit,

        ---------- text
        {{ as_text('dimension') }} as dimension,

        ---------- numerics
        {{ as_number('factor') }} as factor

    from source

)

select * from renamed
