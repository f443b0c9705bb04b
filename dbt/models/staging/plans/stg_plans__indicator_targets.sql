{%- set raw_plans = source('plans', 'plan_indicators') -%}
{#- Annual targets: one typed column per `target_YYYY` column of the raw table, whatever years
    the loaded plan files name (int_plan_annual_targets_unpivoted turns them into rows). -#}
{%- set annual_columns = annual_target_columns(raw_plans) -%}
with

source as (

    select * from {{ raw_plans }}

),

renamed as (

    select
        ---------- ids
        -- A file may hold several regions (the simulator's synthetic counties) and a printed row
        -- may split into urban and rural rows: both belong in the id.
        {{ dbt.concat([as_text('source_file'), "'#'", as_text('region_code'), "'#'",
                       "coalesce(" ~ as_text('seq') ~ ", " ~ as_text('source_line') ~ ", " ~ as_text('indicator_name') ~ ")",
                       "'#'", "coalesce(" ~ as_text('breakdown') ~ ", '')"]) }}
            as plan_row_id,
        {{ as_text('region_code') }} as region_code,
        {{ as_text('indicator_code') }} as indicator_code,

        ---------- text
        {{ as_text('region_name') }} as region_name,
        lower({{ as_text('plan') }}) as plan,
        {{ as_text('category') }} as category,
        {{ as_text('indicator_name') }} as indicator_name,
        {{ as_text('unit') }} as unit,
        lower({{ as_text('attribute') }}) as attribute,
        coalesce(lower({{ as_text('breakdown') }}), '') as breakdown,
        coalesce(lower({{ as_text('review_status') }}), 'reviewed') as review_status,
        {{ as_text('source_doc') }} as source_doc,
        {{ as_text('source_line') }} as source_line,
        {{ as_text('source_file') }} as source_file,
        {{ as_text('notes') }} as notes,
        -- the reviewer's reading of a printed unit that cannot be right, and why
        {{ optional_text(raw_plans, 'unit_as_read') }} as unit_as_read,
        {{ optional_text(raw_plans, 'unit_note') }} as unit_note,
        lower({{ optional_text(raw_plans, 'target_kind') }}) as target_kind,

        ---------- numerics
        {{ as_integer('seq') }} as seq,
        {{ as_integer('baseline_year') }} as baseline_year,
        {{ as_number('baseline_value') }} as baseline_value,
        {{ as_integer('target_year') }} as target_year,
        {{ as_number('target_value') }} as target_value
        {%- for column in annual_columns %},
        {{ as_number(column) }} as {{ column }}
        {%- endfor %}

    from source

)

select * from renamed
