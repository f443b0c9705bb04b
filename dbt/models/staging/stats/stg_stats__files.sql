with

source as (

    select * from {{ source('stats', 'file_ledger') }}

),

renamed as (

    select
        ---------- ids
        file_id,
        file_seq,

        ---------- text
        path as file_path,
        kind as file_kind,
        status as file_status,
        error as file_error,

        ---------- numerics
        size_bytes,
        rows_read,
        rows_loaded,
        rows_quarantined,

        ---------- timestamps
        registered_at,
        loaded_at

    from source

)

select * from renamed
