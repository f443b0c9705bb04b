{#- Revisions: every version of a value stays in raw; the latest file (highest file_seq) wins,
    and within one file the last line. A row reported as missing (`--` or empty, loaded with a
    null value) is not a figure: it neither becomes a fact nor withdraws an earlier figure. -#}
{#- Incremental: a build recomputes only the keys that have a version newer than this table (from a
    file with a higher file_seq, or for a period after its last), over all their versions. -#}
{{ config(**incremental_by_key(['region_code', 'indicator_code', 'breakdown', 'period'])) }}
{#- Incremental: every version of a touched key has its period, so none is older than the earliest
    newer row; that bound, a literal, lets DuckDB skip the older statistics while it reads them
    instead of joining all of them with the touched keys (CPU of the query for a new quarter,
    national: 3.5 -> 0.4 s, bench/README.md, sixth pass). -#}
{%- if is_incremental() %}
{%- set from_index = earliest_changed_period_index(ref('stg_stats__observations'), this,
                                                   relation_columns=('file_seq', 'period_index')) %}
{%- endif %}

{%- set key_columns = 'versions.region_code, versions.indicator_code, versions.breakdown, versions.period' %}
{%- set key_hash = 'hash(' ~ key_columns ~ ')' %}

with

observations as (

    select * from {{ ref('stg_stats__observations') }}
    where value is not null
    {%- if is_incremental() %}
      and {{ period_index_at_least('period_index', from_index) }}
    {%- endif %}

),

{% if is_incremental() %}
touched_keys as (

    select distinct
        observations.region_code,
        observations.indicator_code,
        observations.breakdown,
        observations.period

    from observations
    where {{ newer_than_built('observations.file_seq', 'observations.period_index', this) }}

),

versions as (

    select observations.*
    from observations
    inner join touched_keys
        on touched_keys.region_code = observations.region_code
        and touched_keys.indicator_code = observations.indicator_code
        and touched_keys.breakdown = observations.breakdown
        and touched_keys.period = observations.period

),
{% else %}
versions as (

    select * from observations

),
{% endif %}

revised_hashes as (

    -- the keys with more than one version: few (revisions), so that only their rows are ranked;
    -- a window over every row sorted 5 M rows for nothing (CPU 7.5 -> 4.6-5.6 s, bench/README.md).
    -- Found by a hash of the key, not the key itself: grouping 5 M rows by a number costs less than
    -- by four strings (national query CPU 3.05 -> 2.25 s, bench/README.md, ninth pass). A hash
    -- shared by two single-version keys only ranks each alone (rank 1 of 1), as below.
    select {{ key_hash }} as key_hash
    from versions
    group by {{ key_hash }}
    having count(*) > 1

),

ranked as (

    -- revised_hashes is looked up in both branches on purpose: as one CTE read by both, DuckDB
    -- wrote the five million joined rows out before reading them (a CTE read twice is
    -- materialised): national query CPU 4.0-4.4 -> 8.9-9.0 s, the same rows (bench/README.md,
    -- sixth pass)
    select versions.*, 1 as version_rank, 1 as version_count
    from versions
    where {{ key_hash }} not in (select revised_hashes.key_hash from revised_hashes)

    union all

    select
        versions.*,
        row_number() over (
            partition by {{ key_columns }}
            order by versions.file_seq desc, versions.line_no desc
        ) as version_rank,
        count(*) over (partition by {{ key_columns }}) as version_count

    from versions
    where {{ key_hash }} in (select revised_hashes.key_hash from revised_hashes)

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
        -- no unit, reported_on or loaded_at: nothing downstream reads them (the value is in the
        -- catalog's unit, which dim_indicator gives; the file's dates stay in raw.stat_observations
        -- and stg_stats__files), and writing them cost 1.0 s of CPU of a national full build
        -- (bench/README.md, thirteenth pass)
        numerator,
        denominator,
        is_simulated,
        -- the file by its number, not its 64-character sha256 (stg_stats__files has both, each
        -- unique): five million copies of the hash cost 0.5 s of CPU of a national full build
        -- (bench/README.md, twelfth pass)
        file_seq as source_file_seq,
        line_no as source_line_no,
        version_count

    from ranked
    where version_rank = 1

)

select * from latest
