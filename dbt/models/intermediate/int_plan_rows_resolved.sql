{#- The indicator and unit of every printed plan row, resolved once: one row per distinct
    (region, plan, printed code, printed name, printed unit, unit as read) of the three plan tables
    (targets, prose targets, completion). int_plan_targets_converted and
    int_plan_completion_converted join it instead of each resolving aliases and units again.
    - the code printed in the reviewed CSV wins; otherwise the region's alias, then a shared one;
    - the reviewer's reading of the unit (unit_as_read), where the file records one, stands for the
      printed unit, and an empty unit means the plan prints the catalog's unit in its header;
    - the factor to the catalog's unit comes from stg_reference__unit_conversions, derived once by
      planwatch.core.catalog from units.csv (one dimension, printed factor / catalog factor); a figure
      whose unit does not convert gets no factor, so it is never silently rescaled. -#}
with

plan_rows as (

    select * from {{ ref('stg_plans__indicator_targets') }}

),

prose_targets as (

    select * from {{ ref('stg_plans__prose_targets') }}

),

completion as (

    select * from {{ ref('stg_plans__completion_results') }}

),

aliases as (

    select * from {{ ref('stg_reference__indicator_aliases') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

units as (

    select * from {{ ref('stg_reference__units') }}

),

unit_conversions as (

    select * from {{ ref('stg_reference__unit_conversions') }}

),

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

printed as (

    {%- for rows in ['plan_rows', 'prose_targets', 'completion'] %}
    select region_code, plan, indicator_code as printed_indicator_code, indicator_name, unit as printed_unit,
           unit_as_read
    from {{ rows }}
    {% if not loop.last %}union{% endif %}
    {%- endfor %}

),

resolved as (

    select
        printed.*,
        coalesce(
            printed.printed_indicator_code,
            region_aliases.indicator_code,
            shared_aliases.indicator_code
        ) as resolved_indicator_code,
        coalesce(printed.unit_as_read, printed.printed_unit) as unit_read

    from printed
    left join aliases as region_aliases
        on region_aliases.alias = printed.indicator_name
        and region_aliases.alias_region_code = printed.region_code
    left join aliases as shared_aliases
        on shared_aliases.alias = printed.indicator_name
        and shared_aliases.alias_region_code = ''

),

with_units as (

    select
        resolved.*,
        indicators.unit as catalog_unit,
        indicators.measure as catalog_measure,
        indicators.direction as catalog_direction,
        printed_units.unit is not null as is_known_unit,
        unit_conversions.factor as catalog_unit_factor,
        plan_periods.first_year as period_first_year,
        plan_periods.last_year as period_last_year

    from resolved
    left join indicators
        on indicators.indicator_code = resolved.resolved_indicator_code
    left join units as printed_units
        on printed_units.unit = resolved.unit_read
    left join unit_conversions
        on unit_conversions.from_unit = resolved.unit_read
        and unit_conversions.to_unit = indicators.unit
    left join plan_periods
        on plan_periods.plan = resolved.plan

),

judged as (

    select
        with_units.*,
        case
            when catalog_unit is null then 'unknown_indicator'
            when unit_read is null or unit_read = catalog_unit then 'same_unit'
            when not is_known_unit then 'unknown_unit'
            when catalog_unit_factor is not null then 'converted'
            else 'unconvertible'
        end as unit_conversion_status

    from with_units

),

factors as (

    select
        judged.*,
        case unit_conversion_status
            when 'same_unit' then 1.0
            when 'converted' then catalog_unit_factor
        end as conversion_factor

    from judged

)

select
    region_code,
    plan,
    printed_indicator_code,
    indicator_name,
    printed_unit,
    unit_as_read,
    resolved_indicator_code,
    unit_read,
    catalog_unit,
    catalog_measure,
    catalog_direction,
    unit_conversion_status,
    conversion_factor,
    period_first_year,
    period_last_year

from factors
