with

source as (

    select * from {{ source('stats', 'stat_quarantine') }}

),

renamed as (

    select
        ---------- ids
        file_id,
        line_no,

        ---------- text
        path as file_path,
        raw_text,
        reason_code,
        reason,

        ---------- timestamps
        loaded_at

    from source

)

select * from renamed
