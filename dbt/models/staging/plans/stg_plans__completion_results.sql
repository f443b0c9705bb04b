{#- The completion CSVs may split one printed cell into urban and rural rows (`breakdown`); the
    loader keeps that column only in newer versions, so it is read when present. -#}
{%- set has_breakdown = source_has_column(source('plans', 'plan_completion'), 'breakdown') -%}
{%- set has_attribute = source_has_column(source('plans', 'plan_completion'), 'attribute') -%}
with

source as (

    select * from {{ source('plans', 'plan_completion') }}

),

renamed as (

    select
        ---------- ids
        {{ dbt.concat([
            as_text('source_file'), "'#'",
            "coalesce(" ~ as_text('seq') ~ ", " ~ as_text('source_line') ~ ", " ~ as_text('indicator_name') ~ ")",
            "'#'", "coalesce(" ~ as_text('indicator_code') ~ ", '')",
            "'#'", ("coalesce(lower(" ~ as_text('breakdown') ~ "), '')") if has_breakdown else "''"
        ]) }} as completion_row_id,
        {{ as_text('region_code') }} as region_code,
        {{ as_text('indicator_code') }} as indicator_code,

        ---------- text
        {{ as_text('region_name') }} as region_name,
        lower({{ as_text('plan') }}) as plan,
        {{ as_text('category') }} as category,
        {{ as_text('indicator_name') }} as indicator_name,
        {{ as_text('unit') }} as unit,
        {% if has_breakdown %}coalesce(lower({{ as_text('breakdown') }}), ''){% else %}''{% endif %} as breakdown,
        {% if has_attribute %}lower({{ as_text('attribute') }}){% else %}cast(null as {{ dbt.type_string() }}){% endif %} as attribute,
        {{ as_text('source_doc') }} as source_doc,
        {{ as_text('source_line') }} as source_line,
        {{ as_text('source_file') }} as source_file,
        {{ as_text('notes') }} as notes,
        {{ optional_text(source('plans', 'plan_completion'), 'unit_as_read') }} as unit_as_read,
        {{ optional_text(source('plans', 'plan_completion'), 'unit_note') }} as unit_note,

        ---------- numerics
        {{ as_integer('seq') }} as seq,
        {{ as_integer('target_year') }} as target_year,
        {{ as_number('target_value') }} as target_value,
        {{ as_number('actual_value') }} as actual_value,
        -- a earlier column some tables print (Jinjiang: 2015)
        cast({{ as_number(optional_text(source('plans', 'plan_completion'), 'baseline_year')) }} as {{ dbt.type_int() }})
            as baseline_year,
        {{ as_number(optional_text(source('plans', 'plan_completion'), 'baseline_value')) }} as baseline_value

    from source

)

select * from renamed
