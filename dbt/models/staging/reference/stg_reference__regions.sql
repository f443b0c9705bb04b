with

source as (

    select * from {{ source('reference', 'regions') }}

),

renamed as (

    select
        ---------- ids
        {{ as_text('region_code') }} as region_code,
        {{ as_text('parent_code') }} as parent_code,

        ---------- text
        {{ as_text('region_name_zh') }} as region_name_zh,
        {{ as_text('region_name_en') }} as region_name_en,
        lower({{ as_text('level') }}) as region_level,
        {{ as_text('parent_name_zh') }} as parent_name_zh,

        ---------- booleans
        {{ as_boolean('is_simulated') }} as is_simulated

    from source

)

select * from renamed
