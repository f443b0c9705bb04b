{#- Each latest observation with the plan target whose window holds its period (baseline year <
    year <= target year), the series' first observation (the base point when the plan printed no
    baseline), how many points the series has up to this period, and what needs the series' own
    year figures: the running total of a cumulative target and the plan's annual targets for the
    observation's year and the year before. What an incremental build seeds from, and the part of
    the progress inputs that needs the series' window. int_progress_inputs_joined (a view) adds the
    target's attributes, its base, the catalog and the bounds by unique key: the same on every row
    of a series and plan, those 14 columns written out on every row cost more than joining them
    again where they are read (national full build: 7.7-8.2 -> 4.7-5.1 s of CPU to write the rows,
    the fact's query 0.55 s more; bench/README.md, eighth pass). Joined in the view, the annual
    targets and running totals (two tables read twice each) took the fact's query over the memory
    the 4x build has (ibid.), so they stay here.

    Incremental: a build finds, per series, the earliest period with an observation newer than
    this table (as int_observations_latest decides) and recomputes the series from that period on.
    The rows before it stay, and the last of them seeds the count and the first observation, so a
    new quarter costs one row per series instead of every series' whole history. -#}
{{ config(**incremental_by_key(['region_code', 'indicator_code', 'breakdown', 'period'])) }}

{#- The plan's attributes that this model reads (the running total of a cumulative target): by the
    name they take here, the column of int_plan_targets_converted. The others, and the base
    (int_plan_bases_chained), join in int_progress_inputs_joined; joined here without being
    output, the base cost a hash join of every row (national full build, the model's query CPU
    9.4 -> 8.5-8.9 s, bench/README.md, ninth pass). -#}
{%- set plan_attribute_columns = {
    'target_kind': 'target_kind',
    'plan_start_year': 'window_start_year',
} -%}

{#- Where the plan's attributes join. A full build joins them after the series window, by id: the
    window sorts every column it is given, and it sorts every observation of history there (CPU of
    the model's query 17 -> 13.7 s nationally, bench/README.md, fifth pass). An incremental build's
    window sorts one quarter's rows, and joined after it the attributes cost more memory than the
    sort saves: at 4x national scale the quarter ran out of its 1 GB (bench/README.md, sixth pass),
    so they join with the plan, before the window. -#}
{%- set attributes_before_window = is_incremental() -%}

{#- An incremental build reads only what it recomputes: the observations from the earliest newer
    period on, and the plan years from that period's year on. -#}
{%- set from_index = earliest_changed_period_index(ref('int_observations_latest'), this)
    if is_incremental() else none -%}

{%- set first_observation_columns = {
    'first_observation_value': 'value',
    'first_observation_period_type': 'period_type',
    'first_observation_year': 'period_year',
    'first_observation_quarter': 'period_quarter',
} -%}

with

observations as (

    select * from {{ ref('int_observations_latest') }}
    {%- if is_incremental() %}
    -- every row the build recomputes is from this period on: read no older one (a literal,
    -- so that DuckDB skips the older row groups; before it, the join with the plan and the
    -- attributes ran over all 5 M observations of history and was written out, being read twice)
    where {{ period_index_at_least('period_index', from_index) }}
    {%- endif %}

),

plan_targets as (

    select * from {{ ref('int_plan_targets_converted') }}

),

annual_targets as (

    select * from {{ ref('int_plan_annual_targets_unpivoted') }}

),

flow_year_totals as (

    select * from {{ ref('int_flow_year_totals') }}

),

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

),

numbers as (

    {{ integer_series(60) }}

),

plan_years as (

    -- each plan target once for every year its window holds (baseline year < year <= target
    -- year), so that observations find their target by an equality join on the year; and for
    -- the years after its target year up to the run's year, so that a target met or missed in
    -- 2023 keeps its later observations in the same series (their status says the year passed)
    select
        plan_targets.*,
        plan_targets.window_start_year + numbers.generated_number - 1 as plan_year,
        plan_targets.window_start_year + numbers.generated_number - 1 > plan_targets.window_end_year
            as is_after_target_year

    from plan_targets
    inner join numbers
        on numbers.generated_number <= greatest(plan_targets.window_end_year, {{ as_of_year() }})
            - plan_targets.window_start_year + 1
    {%- if is_incremental() %}
    -- only the years of the observations read above; the ranking below is per year, so the
    -- years left out change no rank
    where {{ period_year_at_least('plan_targets.window_start_year + numbers.generated_number - 1', from_index) }}
    {%- endif %}

),

plan_year_ranked as (

    select
        plan_years.*,
        -- a plan whose window holds the year wins over one whose target year has passed; among
        -- overlapping windows (a 13th-plan row still open when the 14th starts) the later plan wins
        row_number() over (
            partition by region_code, indicator_code, breakdown, plan_year
            order by case when is_after_target_year then 1 else 0 end, window_end_year desc, plan desc
        ) as plan_rank

    from plan_years

),

plan_for_year as (

    select * from plan_year_ranked
    where plan_rank = 1

),

matched as (

    -- Resolving the plan on the plan side (270k rows a year at national scale) rather than per
    -- observation (5 M rows) takes a range join and a window over every observation out of the
    -- build (bench/README.md). The plan's attributes join here or after the series window
    -- (`attributes_before_window` above).
    select
        observations.*,
        plan_for_year.plan_target_id,
        plan_for_year.plan,
        {%- if attributes_before_window %}
        {%- for name, column in plan_attribute_columns.items() %}
        plan_for_year.{{ column }} as {{ name }},
        {%- endfor %}
        {%- endif %}
        coalesce(plan_for_year.is_after_target_year, false) as is_after_target_year

    from observations
    left join plan_for_year
        on plan_for_year.region_code = observations.region_code
        and plan_for_year.indicator_code = observations.indicator_code
        and plan_for_year.breakdown = observations.breakdown
        and plan_for_year.plan_year = observations.period_year

),

{% if is_incremental() %}
changed_series as (

    -- per series across plans: a changed final-year actual is the chained base of the next
    -- plan's rows (int_plan_bases_chained), so they are recomputed with it
    select
        matched.region_code,
        matched.indicator_code,
        matched.breakdown,
        min(matched.period_index) as from_period_index

    from matched
    where {{ period_index_at_least('matched.period_index', from_index) }}
      and {{ newer_than_built('matched.source_file_seq', 'matched.period_index', this) }}
    group by matched.region_code, matched.indicator_code, matched.breakdown

),

recomputed as (

    select matched.*
    from matched
    inner join changed_series
        on changed_series.region_code = matched.region_code
        and changed_series.indicator_code = matched.indicator_code
        and changed_series.breakdown = matched.breakdown
        and matched.period_index >= changed_series.from_period_index
    where {{ period_index_at_least('matched.period_index', from_index) }}

),

{#- The seed reads the kept rows of the year before the earliest changed period: a series that
    reports every quarter, or only yearly, has its last kept row there. The pairs of series and
    plan recomputed without one there (a longer gap, or none at all) are looked up in the older
    rows, which costs a scan of history only when there are such pairs. -#}
{%- set seed_from_index = (from_index | int) - 4 if from_index is not none else none %}
{#- what a seed takes from the kept rows of a series and plan (seed_recent, seed_older) -#}
{%- set seed_columns %}
        kept.region_code,
        kept.indicator_code,
        kept.breakdown,
        kept.plan,
        max(kept.observations_to_date) as observations_before,
        {%- for column in first_observation_columns %}
        min(kept.{{ column }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
{%- endset %}
seed_recent as (

    -- the kept rows of each changed series: the count runs on from theirs, and the first
    -- observation (the same on every row of a series and plan) is theirs. The count only grows
    -- with the period, so the last kept rows hold its maximum
    select
        {{- seed_columns }}

    from {{ this }} as kept
    inner join changed_series
        on changed_series.region_code = kept.region_code
        and changed_series.indicator_code = kept.indicator_code
        and changed_series.breakdown = kept.breakdown
        and kept.period_index < changed_series.from_period_index
    where {{ period_index_at_least('kept.period_index', seed_from_index) }}
    group by kept.region_code, kept.indicator_code, kept.breakdown, kept.plan

),

seed_missing as (

    select distinct
        recomputed.region_code,
        recomputed.indicator_code,
        recomputed.breakdown,
        recomputed.plan

    from recomputed
    left join seed_recent
        on seed_recent.region_code = recomputed.region_code
        and seed_recent.indicator_code = recomputed.indicator_code
        and seed_recent.breakdown = recomputed.breakdown
        and coalesce(seed_recent.plan, '') = coalesce(recomputed.plan, '')
    where seed_recent.region_code is null

),

seed_older as (

    select
        {{- seed_columns }}

    from {{ this }} as kept
    inner join seed_missing
        on seed_missing.region_code = kept.region_code
        and seed_missing.indicator_code = kept.indicator_code
        and seed_missing.breakdown = kept.breakdown
        and coalesce(seed_missing.plan, '') = coalesce(kept.plan, '')
    where not ({{ period_index_at_least('kept.period_index', seed_from_index) }})
    group by kept.region_code, kept.indicator_code, kept.breakdown, kept.plan

),

seed as (

    select * from seed_recent
    union all
    select * from seed_older

),
{% else %}
recomputed as (

    select * from matched

),
{% endif %}

series_counted as (

    select
        recomputed.*,
        {% if is_incremental() -%}
        coalesce(seed.observations_before, 0) + count(*) over series_to_date as observations_to_date,
        {%- for column, source in first_observation_columns.items() %}
        case
            when seed.region_code is not null then seed.{{ column }}
            else first_value(recomputed.{{ source }}) over series_to_date
        end as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        {%- else -%}
        count(*) over series_to_date as observations_to_date,
        {%- for column, source in first_observation_columns.items() %}
        first_value(recomputed.{{ source }}) over series_to_date as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        {%- endif %}

    from recomputed
    {% if is_incremental() -%}
    left join seed
        on seed.region_code = recomputed.region_code
        and seed.indicator_code = recomputed.indicator_code
        and seed.breakdown = recomputed.breakdown
        and coalesce(seed.plan, '') = coalesce(recomputed.plan, '')
    {%- endif %}
    window series_to_date as (
        partition by recomputed.region_code, recomputed.indicator_code, recomputed.breakdown, recomputed.plan
        order by recomputed.period_index, recomputed.period_type
        rows between unbounded preceding and current row
    )

),

series as (

    {% if attributes_before_window -%}
    select * from series_counted
    {%- else -%}
    -- the plan's attributes, by id (plan_target_id is unique: a null id finds none)
    select
        series_counted.*,
        {%- for name, column in plan_attribute_columns.items() %}
        plan_targets.{{ column }} as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}

    from series_counted
    left join plan_targets
        on plan_targets.plan_target_id = series_counted.plan_target_id
    {%- endif %}

),

joined as (

    select
        series.region_code,
        series.indicator_code,
        series.breakdown,
        series.period,
        series.period_type,
        series.period_year,
        series.period_quarter,
        series.period_index,
        series.value as actual_value,
        series.numerator,
        series.denominator,
        series.is_simulated,
        series.source_file_seq,
        series.plan_target_id,
        series.plan,
        series.is_after_target_year,
        -- a cumulative target counts from the plan's first year: the full years before this one
        -- (null when one of them has no full-year figure, so the running total is not known)
        case
            when series.target_kind <> 'cumulative' then null
            when series.period_year <= series.plan_start_year then 0
            when coalesce(previous_years.years_counted, 0) - coalesce(before_plan.years_counted, 0)
                = series.period_year - series.plan_start_year
                then previous_years.running_total - coalesce(before_plan.running_total, 0)
        end as prior_years_total,
        this_year.annual_target_value as annual_target_this_year,
        previous_year.annual_target_value as annual_target_previous_year,
        series.observations_to_date,
        series.first_observation_value,
        series.first_observation_period_type,
        series.first_observation_year,
        series.first_observation_quarter

    from series
    -- an observation of an indicator outside the catalog has no progress row (as in the view)
    inner join indicators
        on indicators.indicator_code = series.indicator_code
    left join annual_targets as this_year
        on this_year.plan_target_id = series.plan_target_id
        and this_year.target_year = series.period_year
    left join annual_targets as previous_year
        on previous_year.plan_target_id = series.plan_target_id
        and previous_year.target_year = series.period_year - 1
    {#- the running totals up to the year before this one, and up to the year before the plan -#}
    {%- for alias, year in [('previous_years', 'series.period_year - 1'),
                            ('before_plan', 'series.plan_start_year - 1')] %}
    left join flow_year_totals as {{ alias }}
        on series.target_kind = 'cumulative'
        and {{ alias }}.region_code = series.region_code
        and {{ alias }}.indicator_code = series.indicator_code
        and {{ alias }}.breakdown = series.breakdown
        and {{ alias }}.period_year = {{ year }}
    {%- endfor %}

)

select * from joined
