{#- Every number the reviewed plan files print, judged: one row per printed figure (a baseline, a
    target, an annual target, a 13th-plan target or result, a prose target), its value in the
    catalog unit and, when it is not used, why (exclusion_reason). It reads only the plan and
    reference tables, so an incremental build keeps it (tag same_every_quarter, dbt_project.yml);
    fct_plan_figures adds whether a fact row carries each figure, the one part that changes with
    the statistics (1.3 s of a national incremental build when it was all rebuilt, bench/README.md).
    Simulated plans are left out: they are not printed anywhere. -#}
{#- the annual targets are whatever `target_YYYY` columns the plan files have (plan periods, #15) -#}
{%- set annual_figures = annual_target_columns(ref('stg_plans__indicator_targets')) -%}
{%- set indicator_figures = ['baseline_value', 'target_value'] + annual_figures -%}
{%- set completion_figures = ['baseline_value', 'target_value', 'actual_value'] -%}
with

plan_rows as (

    select * from {{ ref('stg_plans__indicator_targets') }}
    where review_status <> 'simulated'

),

completion_rows as (

    select * from {{ ref('stg_plans__completion_results') }}

),

prose_rows as (

    select * from {{ ref('stg_plans__prose_targets') }}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

completion as (

    select * from {{ ref('int_plan_completion_converted') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

unit_conversions as (

    select * from {{ ref('stg_reference__unit_conversions') }}

),

table_figures as (

    {#- the two plan tables, one select per printed figure column: where each table's rows,
        conversion and facts are -#}
    {%- set tables = [
        {'plan_table': 'plan_indicators', 'rows': 'plan_rows', 'review_status': 'plan_rows.review_status',
         'converted': 'plan_targets', 'facts': 'plan_targets', 'kept': 'plan_targets.plan_target_id',
         'figures': indicator_figures,
         'joins': 'left join plan_targets on plan_targets.source_row_id = plan_rows.plan_row_id'},
        {'plan_table': 'plan_completion', 'rows': 'completion_rows', 'review_status': "'reviewed'",
         'converted': 'completion', 'facts': 'completion', 'kept': 'completion.completion_id',
         'figures': completion_figures,
         'joins': 'left join completion on completion.completion_row_id = completion_rows.completion_row_id'},
    ] %}
    {%- for table in tables %}
    {%- set last_table = loop.last %}
    {%- for figure in table.figures %}
    select
        {{ table.rows }}.source_file,
        {{ table.rows }}.source_doc,
        {{ table.rows }}.source_line,
        {{ table.rows }}.region_code,
        {{ table.rows }}.plan,
        {{ table.rows }}.indicator_name,
        {{ table.rows }}.indicator_code as printed_indicator_code,
        {{ table.rows }}.breakdown,
        {{ table.review_status }} as review_status,
        '{{ figure }}' as figure,
        {{ table.rows }}.{{ figure }} as printed_value,
        {{ table.rows }}.unit as printed_unit,
        {{ table.rows }}.unit_as_read,
        {{ table.rows }}.unit_note,
        {{ table.converted }}.indicator_code,
        {{ table.converted }}.unit,
        {{ table.converted }}.unit_conversion_status,
        {% if figure in annual_figures -%}
        {{ table.rows }}.{{ figure }} * {{ table.converted }}.conversion_factor as value_in_catalog_unit,
        {%- else -%}
        {{ table.facts }}.{{ figure }} as value_in_catalog_unit,
        {%- endif %}
        {{ table.kept }} is not null as row_is_kept,
        false as has_table_row,
        '{{ table.plan_table }}' as plan_table

    from {{ table.rows }}
    {{ table.joins }}
    where {{ table.rows }}.{{ figure }} is not null
    {% if not (loop.last and last_table) %}union all{% endif %}
    {%- endfor %}
    {%- endfor %}

),

prose_figures as (

    select
        prose_rows.source_file,
        prose_rows.source_doc,
        prose_rows.source_line,
        prose_rows.region_code,
        prose_rows.plan,
        prose_rows.indicator_name,
        prose_rows.indicator_code as printed_indicator_code,
        '' as breakdown,
        'reviewed' as review_status,
        'prose_target_value' as figure,
        prose_rows.target_value as printed_value,
        prose_rows.unit as printed_unit,
        prose_rows.unit_as_read,
        prose_rows.unit_note,
        coalesce(plan_targets.indicator_code, table_targets.indicator_code) as indicator_code,
        coalesce(plan_targets.unit, table_targets.unit) as unit,
        coalesce(plan_targets.unit_conversion_status, table_targets.unit_conversion_status)
            as unit_conversion_status,
        -- a prose target that repeats the table's figure (in the catalog unit: 2700 人 = 0.27 万人)
        -- is used through the table row
        case
            when plan_targets.plan_target_id is not null then plan_targets.target_value
            when abs(prose_rows.target_value * prose_conversions.factor - table_targets.target_value) < 1e-9
                then table_targets.target_value
        end as value_in_catalog_unit,
        table_targets.plan_target_id is not null as has_table_row,
        'plan_prose_targets' as plan_table

    from prose_rows
    left join plan_targets
        on plan_targets.source_row_id = prose_rows.prose_target_id
    left join plan_targets as table_targets
        on table_targets.target_source = 'table'
        and table_targets.region_code = prose_rows.region_code
        and table_targets.plan = prose_rows.plan
        and table_targets.indicator_code = prose_rows.indicator_code
        and table_targets.breakdown = ''
    -- the prose unit (as read; empty: the catalog's) to the table row's catalog unit
    left join unit_conversions as prose_conversions
        on prose_conversions.from_unit = coalesce(prose_rows.unit_as_read, prose_rows.unit, table_targets.unit)
        and prose_conversions.to_unit = table_targets.unit
    where prose_rows.target_value is not null

),

prose_figures_kept as (

    select
        prose_figures.*,
        value_in_catalog_unit is not null as row_is_kept
    from prose_figures

),

all_figures as (

    select * from table_figures
    union all
    select
        source_file, source_doc, source_line, region_code, plan, indicator_name, printed_indicator_code,
        breakdown, review_status, figure, printed_value, printed_unit, unit_as_read, unit_note, indicator_code,
        unit, unit_conversion_status, value_in_catalog_unit, row_is_kept, has_table_row, plan_table
    from prose_figures_kept

),

judged as (

    select
        all_figures.*,
        case
            when all_figures.review_status = 'draft' then 'a draft row nobody has reviewed'
            when all_figures.plan_table = 'plan_prose_targets' and not all_figures.row_is_kept
                and all_figures.has_table_row
                then {{ sql_string("the plan's table gives this indicator another figure; the table row is used") }}
            when not all_figures.row_is_kept and all_figures.printed_indicator_code is not null
                and known.indicator_code is null
                then {{ dbt.concat(["'indicator_code '", "all_figures.printed_indicator_code", "' is not in the catalog'"]) }}
            when not all_figures.row_is_kept and all_figures.printed_indicator_code is null
                then 'the name resolves to no catalog indicator: add it to raw/reference/indicator_aliases.csv'
            when not all_figures.row_is_kept
                then 'a second row of the same indicator in this plan; the first printed row is used'
            when all_figures.unit_conversion_status in ('unconvertible', 'unknown_unit')
                then {{ dbt.concat([
                    "'unit '", "coalesce(all_figures.unit_as_read, all_figures.printed_unit, '')",
                    "case when all_figures.unit_as_read is not null then ' (as read)' else ' (as printed)' end",
                    "' does not convert to the catalog unit '", "coalesce(all_figures.unit, '')",
                    "'; record the reading in unit_as_read with the reason in unit_note'"]) }}
        end as exclusion_reason

    from all_figures
    left join indicators as known
        on known.indicator_code = all_figures.printed_indicator_code

),

final as (

    select
        {{ dbt.concat(["judged.source_file", "'#'", "coalesce(judged.source_line, '')", "'#'",
                       "judged.breakdown", "'#'", "judged.figure", "'#'", "judged.indicator_name"]) }}
            as plan_figure_id,
        judged.region_code,
        judged.plan,
        judged.plan_table,
        judged.source_file,
        judged.source_doc,
        judged.source_line,
        judged.indicator_name,
        coalesce(judged.indicator_code, judged.printed_indicator_code) as indicator_code,
        judged.breakdown,
        judged.figure,
        judged.printed_value,
        judged.printed_unit,
        judged.unit_as_read,
        judged.unit_note,
        (judged.unit_as_read is not null) as is_unit_as_read,
        judged.unit,
        judged.unit_conversion_status,
        case when judged.exclusion_reason is null then judged.value_in_catalog_unit end as value_in_catalog_unit,
        (judged.exclusion_reason is null) as is_used,
        judged.exclusion_reason

    from judged

)

select * from final
