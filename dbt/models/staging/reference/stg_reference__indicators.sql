with

source as (

    select * from {{ source('reference', 'indicators') }}

),

renamed as (

    select
        ---------- ids
        {{ as_text('indicator_code') }} as indicator_code,

        ---------- text
        {{ as_text('name_zh') }} as indicator_name_zh,
        {{ as_text('name_en') }} as indicator_name_en,
        lower({{ as_text('domain') }}) as domain,
        {{ as_text('unit') }} as unit,
        lower({{ as_text('kind') }}) as kind,
        lower({{ as_text('measure') }}) as measure,
        lower({{ as_text('direction') }}) as direction,
        {{ as_text('notes') }} as notes,

        ---------- numerics
        {{ as_number('lower_bound') }} as lower_bound,
        {{ as_number('upper_bound') }} as upper_bound,

        ---------- booleans
        {{ as_boolean('is_integral') }} as is_integral,
        {{ as_boolean('has_components') }} as has_components

    from source

)

select * from renamed
