with

source as (

    select * from {{ source('plans', 'plan_completion') }}

),

renamed as (

    select
        ---------- ids
        {{ dbt.concat([as_text('source_file'), "'#'", "coalesce(" ~ as_text('seq') ~ ", " ~ as_text('source_line') ~ ", " ~ as_text('indicator_name') ~ ")"]) }}
            as completion_row_id,
        {{ as_text('region_code') }} as region_code,
        {{ as_text('indicator_code') }} as indicator_code,

        ---------- text
        {{ as_text('region_name') }} as region_name,
        lower({{ as_text('plan') }}) as plan,
        {{ as_text('category') }} as category,
        {{ as_text('indicator_name') }} as indicator_name,
        {{ as_text('unit') }} as unit,
        {{ as_text('source_doc') }} as source_doc,
        {{ as_text('source_line') }} as source_line,
        {{ as_text('source_file') }} as source_file,
        {{ as_text('notes') }} as notes,

        ---------- numerics
        {{ as_integer('seq') }} as seq,
        {{ as_integer('target_year') }} as target_year,
        {{ as_number('target_value') }} as target_value,
        {{ as_number('actual_value') }} as actual_value

    from source

)

select * from renamed
