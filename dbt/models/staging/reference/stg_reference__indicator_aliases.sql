with

source as (

    select * from {{ source('reference', 'indicator_aliases') }}

),

renamed as (

    select
        ---------- ids
        {{ as_text('indicator_code') }} as indicator_code,
        -- empty string (not null) for "every region", so the alias key is comparable
        coalesce({{ as_text('region_code') }}, '') as alias_region_code,

        ---------- text
        {{ as_text('alias') }} as alias,
        {{ as_text('source_doc') }} as source_doc

    from source

)

select * from renamed
