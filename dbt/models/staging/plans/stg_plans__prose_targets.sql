with

source as (

    select * from {{ source('plans', 'plan_prose_targets') }}

),

renamed as (

    select
        ---------- ids
        {{ dbt.concat([as_text('source_file'), "'#'", "coalesce(" ~ as_text('source_line') ~ ", '')", "'#'", as_text('indicator_name')]) }}
            as prose_target_id,
        {{ as_text('region_code') }} as region_code,
        {{ as_text('indicator_code') }} as indicator_code,

        ---------- text
        {{ as_text('region_name') }} as region_name,
        lower({{ as_text('plan') }}) as plan,
        {{ as_text('indicator_name') }} as indicator_name,
        {{ as_text('unit') }} as unit,
        {{ as_text('comparator') }} as comparator,
        {{ as_text('quote') }} as quote,
        {{ as_text('source_doc') }} as source_doc,
        {{ as_text('source_line') }} as source_line,
        {{ as_text('source_file') }} as source_file,
        {{ as_text('notes') }} as notes,
        {{ optional_text(source('plans', 'plan_prose_targets'), 'unit_as_read') }} as unit_as_read,
        {{ optional_text(source('plans', 'plan_prose_targets'), 'unit_note') }} as unit_note,
        lower({{ optional_text(source('plans', 'plan_prose_targets'), 'target_kind') }}) as target_kind,

        ---------- numerics
        {{ as_integer('target_year') }} as target_year,
        {{ as_number('target_value') }} as target_value

    from source

)

select * from renamed
