{#- Completion rows (a plan's results for its own period, as the next plan prints them) in the
    catalog's unit, one per region × plan × indicator × breakdown; the indicator and the factor to
    the catalog's unit come from int_plan_rows_resolved, as for int_plan_targets_converted. A row
    without a target year takes its period's last year. -#}
with

completion as (

    select * from {{ ref('stg_plans__completion_results') }}

),

resolved_rows as (

    -- the printed row's indicator and unit, resolved once (int_plan_rows_resolved)
    {{ select_with_resolved_plan_row('completion', 'unit') }}

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
        catalog_direction as direction,
        completion_row_id,
        unit as printed_unit,
        unit_as_read,
        unit_note,
        unit_read,
        catalog_unit as unit,
        unit_conversion_status,
        coalesce(target_year, period_last_year) as target_year,
        target_value * conversion_factor as target_value,
        actual_value * conversion_factor as actual_value,
        baseline_year,
        baseline_value * conversion_factor as baseline_value,
        source_doc,
        source_line,
        row_number() over (
            partition by region_code, plan, resolved_indicator_code, breakdown order by seq, completion_row_id
        ) as row_rank

    from resolved_rows
    where resolved_indicator_code is not null

)

select * from converted
where row_rank = 1
