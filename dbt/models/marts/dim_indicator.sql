with

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

aliases as (

    select * from {{ ref('stg_reference__indicator_aliases') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

printed_names as (

    select distinct indicator_code, indicator_name as printed_name
    from plan_targets
    where indicator_name is not null

    union

    select distinct indicator_code, alias as printed_name
    from aliases

),

names_listed as (

    select
        indicator_code,
        count(*) as printed_name_count,
        {{ sorted_listagg('printed_name', "' / '") }} as printed_names

    from printed_names
    group by indicator_code

),

final as (

    select
        indicators.indicator_code,
        indicators.indicator_name_zh as indicator_name,
        indicators.indicator_name_zh,
        indicators.indicator_name_en,
        indicators.domain,
        indicators.unit,
        indicators.kind,
        indicators.measure,
        indicators.direction,
        indicators.lower_bound,
        indicators.upper_bound,
        indicators.is_integral,
        indicators.has_components,
        coalesce(names_listed.printed_name_count, 0) as printed_name_count,
        names_listed.printed_names,
        indicators.notes

    from indicators
    left join names_listed
        on names_listed.indicator_code = indicators.indicator_code

)

select * from final
