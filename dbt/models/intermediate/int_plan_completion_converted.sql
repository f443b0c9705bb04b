{#- Completion rows (a plan's results for its own period, as the next plan prints them) in the
    catalog's unit, one per region × plan × indicator × breakdown, same unit rule as
    int_plan_targets_converted. A row without a target year takes its period's last year. -#}
with

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

plan_periods as (

    select * from {{ ref('stg_reference__plan_periods') }}

),

resolved as (

    select
        completion.*,
        coalesce(
            completion.indicator_code,
            region_aliases.indicator_code,
            shared_aliases.indicator_code
        ) as resolved_indicator_code

    from completion
    left join aliases as region_aliases
        on region_aliases.alias = completion.indicator_name
        and region_aliases.alias_region_code = completion.region_code
    left join aliases as shared_aliases
        on shared_aliases.alias = completion.indicator_name
        and shared_aliases.alias_region_code = ''

),

with_units as (

    select
        resolved.*,
        indicators.unit as catalog_unit,
        indicators.direction,
        -- the reviewer's reading of the unit, where the file records one, stands for the printed unit
        coalesce(resolved.unit_as_read, resolved.unit) as unit_read,
        {{ unit_conversion_status(
            'coalesce(resolved.unit_as_read, resolved.unit)', 'indicators.unit', 'printed_units.dimension',
            'catalog_units.dimension'
        ) }} as unit_conversion_status,
        printed_units.factor as printed_factor,
        catalog_units.factor as catalog_factor,
        plan_periods.last_year as period_last_year

    from resolved
    left join indicators
        on indicators.indicator_code = resolved.resolved_indicator_code
    left join units as printed_units
        on printed_units.unit = coalesce(resolved.unit_as_read, resolved.unit)
    left join units as catalog_units
        on catalog_units.unit = indicators.unit
    left join plan_periods
        on plan_periods.plan = resolved.plan

),

converted as (

    select
        {{ dbt.concat(["region_code", "'|'", "plan", "'|'", "resolved_indicator_code", "'|'", "breakdown"]) }}
            as completion_id,
        region_code,
        region_name,
        plan,
        seq,
        resolved_indicator_code as indicator_code,
        indicator_name,
        breakdown,
        attribute,
        direction,
        completion_row_id,
        unit as printed_unit,
        unit_as_read,
        unit_note,
        unit_read,
        catalog_unit as unit,
        unit_conversion_status,
        coalesce(target_year, period_last_year) as target_year,
        target_value * {{ unit_conversion_factor('unit_conversion_status', 'printed_factor', 'catalog_factor') }}
            as target_value,
        actual_value * {{ unit_conversion_factor('unit_conversion_status', 'printed_factor', 'catalog_factor') }}
            as actual_value,
        baseline_year,
        baseline_value * {{ unit_conversion_factor('unit_conversion_status', 'printed_factor', 'catalog_factor') }}
            as baseline_value,
        source_doc,
        source_line,
        row_number() over (
            partition by region_code, plan, resolved_indicator_code, breakdown order by seq, completion_row_id
        ) as row_rank

    from with_units
    where resolved_indicator_code is not null

)

select * from converted
where row_rank = 1
