{#- Revisions: every version of a value stays in raw; the latest file (highest file_seq) wins,
    and within one file the last line. A row reported as missing (`--` or empty, loaded with a
    null value) is not a figure: it neither becomes a fact nor withdraws an earlier figure. -#}
with

observations as (

    select * from {{ ref('stg_stats__observations') }}
    where value is not null

),

ranked as (

    select
        observations.*,
        row_number() over (
            partition by region_code, indicator_code, breakdown, period
            order by file_seq desc, line_no desc
        ) as version_rank,
        count(*) over (
            partition by region_code, indicator_code, breakdown, period
        ) as version_count

    from observations

),

latest as (

    select
        -- no observation_id string here: five million of them made this table's write 60 % slower
        -- (bench/README.md); int_indicator_progress_computed derives it from these keys.
        region_code,
        indicator_code,
        breakdown,
        period,
        period_type,
        period_year,
        period_quarter,
        period_index,
        value,
        unit,
        numerator,
        denominator,
        is_simulated,
        file_id as source_file_id,
        file_seq as source_file_seq,
        line_no as source_line_no,
        version_count,
        reported_on,
        loaded_at

    from ranked
    where version_rank = 1

)

select * from latest
