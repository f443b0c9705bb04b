{#- Plan rows in the catalog's unit, one per region × plan × indicator × breakdown.
    Plans print values in their own unit (亿元 where the catalog keeps 万元, ‰ where it keeps %);
    the indicator and the factor to the catalog's unit come from int_plan_rows_resolved. A target
    stated only in the plan's text (prose) fills in where the table has no row. Drafts are left
    out: a value nobody reviewed does not decide a status (plans of synthetic, simulated regions
    are kept: they exist only to be measured). -#}
with

plan_rows as (

    select * from {{ ref('stg_plans__indicator_targets') }}
    -- Plans of the simulator's synthetic regions count like reviewed ones; drafts do not.
    where review_status in ('reviewed', 'simulated')

),

prose_targets as (

    select * from {{ ref('stg_plans__prose_targets') }}

),

table_targets as (

    select
        plan_row_id as source_row_id,
        region_code,
        region_name,
        plan,
        seq,
        indicator_name,
        indicator_code,
        unit as printed_unit,
        unit_as_read,
        unit_note,
        target_kind,
        attribute,
        breakdown,
        baseline_year,
        baseline_value,
        target_year,
        target_value,
        cast(null as {{ dbt.type_string() }}) as comparator,
        'table' as target_source,
        source_doc,
        source_line,
        source_file

    from plan_rows

),

prose_only as (

    select
        prose_targets.prose_target_id as source_row_id,
        prose_targets.region_code,
        prose_targets.region_name,
        prose_targets.plan,
        cast(null as {{ dbt.type_int() }}) as seq,
        prose_targets.indicator_name,
        prose_targets.indicator_code,
        prose_targets.unit as printed_unit,
        prose_targets.unit_as_read,
        prose_targets.unit_note,
        prose_targets.target_kind,
        cast(null as {{ dbt.type_string() }}) as attribute,
        '' as breakdown,
        cast(null as {{ dbt.type_int() }}) as baseline_year,
        cast(null as {{ type_double() }}) as baseline_value,
        prose_targets.target_year,
        prose_targets.target_value,
        prose_targets.comparator,
        'prose' as target_source,
        prose_targets.source_doc,
        prose_targets.source_line,
        prose_targets.source_file

    from prose_targets
    where not exists (
        select 1
        from plan_rows
        where plan_rows.region_code = prose_targets.region_code
          and plan_rows.plan = prose_targets.plan
          and (
              plan_rows.indicator_code = prose_targets.indicator_code
              or plan_rows.indicator_name = prose_targets.indicator_name
          )
    )

),

all_targets as (

    select * from table_targets
    union all
    select * from prose_only

),

resolved_rows as (

    -- the printed row's indicator and unit, resolved once (int_plan_rows_resolved)
    {{ select_with_resolved_plan_row('all_targets', 'printed_unit') }}

),

converted as (

    select
        {{ dbt.concat(["region_code", "'|'", "plan", "'|'", "resolved_indicator_code", "'|'", "breakdown"]) }}
            as plan_target_id,
        region_code,
        region_name,
        plan,
        seq,
        resolved_indicator_code as indicator_code,
        indicator_name,
        breakdown,
        attribute,
        comparator,
        target_source,
        printed_unit,
        unit_as_read,
        unit_note,
        unit_read,
        catalog_unit as unit,
        unit_conversion_status,
        -- what the target counts: the reviewer's reading where the row records one, otherwise the
        -- catalog's default (a flow's target is a year's figure, a stock's a level)
        coalesce(target_kind, case when catalog_measure = 'flow' then 'annual_flow' else 'stock' end) as target_kind,
        case when target_kind is not null then 'reviewed' else 'catalog' end as target_kind_source,
        conversion_factor,
        baseline_year,
        baseline_value as printed_baseline_value,
        target_value as printed_target_value,
        baseline_value * conversion_factor as baseline_value,
        target_year,
        target_value * conversion_factor as target_value,
        coalesce(baseline_year + 1, period_first_year) as window_start_year,
        coalesce(target_year, period_last_year) as window_end_year,
        source_doc,
        source_line,
        source_file,
        source_row_id

    from resolved_rows
    where resolved_indicator_code is not null

),

deduplicated as (

    -- a plan that lists an indicator twice (two sections) keeps its first printed row
    select
        converted.*,
        row_number() over (
            partition by plan_target_id
            order by case when target_source = 'table' then 0 else 1 end, seq, source_row_id
        ) as row_rank,
        count(*) over (partition by plan_target_id) as duplicate_rows

    from converted

)

select * from deduplicated
where row_rank = 1
