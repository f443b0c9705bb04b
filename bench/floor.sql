-- The floor: DuckDB alone computing marts.fct_indicator_progress from the raw files, in one script.
-- No orchestration, no dbt, no checks, no ingest store, no revision history beyond "latest file wins".
-- It follows the dbt models step by step (staging casts, int_plan_targets_converted,
-- int_observations_latest, int_progress_inputs_joined, int_indicator_progress_computed) for the
-- columns the benchmark compares; growth_ratio (open_sdg method) and labels are left out.
--
-- Inputs are DuckDB variables set by bench/run.py (paths it owns, never text from the files):
--   stats_files, plan_files, prose_files (lists of paths), indicators_csv, aliases_csv, units_csv,
--   plan_dir_prefix, prose_dir_prefix (the `source_file` prefix load_plans writes),
--   the dbt vars on_track, needs_acceleration, min_data_points,
--   maintain_margin, natural_limit_margin, and as_of_year (the year of the run's quarter: a plan's
--   later observations stay in its series up to it, as 'target_year_passed').
-- The statistics are assumed clean (the simulator without --faults): the loader's quarantine rules
-- are not repeated here, only the inner join to the catalog that dbt also makes.

create or replace temp table floor_indicators as
select
    nullif(trim(indicator_code), '') as indicator_code,
    nullif(trim(unit), '') as unit,
    lower(nullif(trim(measure), '')) as measure,
    lower(nullif(trim(direction), '')) as direction,
    try_cast(nullif(trim(lower_bound), '') as double) as lower_bound,
    try_cast(nullif(trim(upper_bound), '') as double) as upper_bound
from read_csv(getvariable('indicators_csv'), all_varchar = true, header = true);

create or replace temp table floor_units as
select nullif(trim(unit), '') as unit, nullif(trim(dimension), '') as dimension,
       try_cast(nullif(trim(factor), '') as double) as factor
from read_csv(getvariable('units_csv'), all_varchar = true, header = true);

create or replace temp table floor_aliases as
select nullif(trim(indicator_code), '') as indicator_code,
       coalesce(nullif(trim(region_code), ''), '') as alias_region_code,
       nullif(trim(alias), '') as alias
from read_csv(getvariable('aliases_csv'), all_varchar = true, header = true);

create or replace temp table floor_plan_targets as
with
plan_rows as (
    select
        getvariable('plan_dir_prefix') || parse_filename(filename) || '#'
            || coalesce(nullif(trim(seq), ''), nullif(trim(source_line), ''), nullif(trim(indicator_name), ''))
            as source_row_id,
        nullif(trim(region_code), '') as region_code,
        nullif(trim(indicator_code), '') as indicator_code,
        lower(nullif(trim(plan), '')) as plan,
        try_cast(nullif(trim(seq), '') as integer) as seq,
        nullif(trim(indicator_name), '') as indicator_name,
        nullif(trim(unit), '') as printed_unit,
        nullif(trim(unit_as_read), '') as unit_as_read,
        lower(nullif(trim(target_kind), '')) as target_kind,
        lower(nullif(trim(attribute), '')) as attribute,
        coalesce(lower(nullif(trim(breakdown), '')), '') as breakdown,
        try_cast(nullif(trim(baseline_year), '') as integer) as baseline_year,
        case when trim(baseline_value) in ('', '--', '-', '*', '—', '/') then null else cast(trim(baseline_value) as double) end as baseline_value,
        try_cast(nullif(trim(target_year), '') as integer) as target_year,
        case when trim(target_value) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_value) as double) end as target_value,
        case when trim(target_2021) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_2021) as double) end as target_2021,
        case when trim(target_2022) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_2022) as double) end as target_2022,
        case when trim(target_2023) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_2023) as double) end as target_2023,
        case when trim(target_2024) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_2024) as double) end as target_2024,
        case when trim(target_2025) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_2025) as double) end as target_2025,
        'table' as target_source
    from read_csv(getvariable('plan_files'), all_varchar = true, header = true,
                  filename = true, union_by_name = true)
),
prose_rows as (
    select
        getvariable('prose_dir_prefix') || parse_filename(filename) || '#'
            || coalesce(nullif(trim(source_line), ''), '') || '#' || nullif(trim(indicator_name), '')
            as source_row_id,
        nullif(trim(region_code), '') as region_code,
        nullif(trim(indicator_code), '') as indicator_code,
        lower(nullif(trim(plan), '')) as plan,
        nullif(trim(indicator_name), '') as indicator_name,
        nullif(trim(unit), '') as printed_unit,
        nullif(trim(unit_as_read), '') as unit_as_read,
        lower(nullif(trim(target_kind), '')) as target_kind,
        try_cast(nullif(trim(target_year), '') as integer) as target_year,
        case when trim(target_value) in ('', '--', '-', '*', '—', '/') then null else cast(trim(target_value) as double) end as target_value
    from read_csv(getvariable('prose_files'), all_varchar = true, header = true,
                  filename = true, union_by_name = true)
),
prose_only as (
    select source_row_id, region_code, indicator_code, plan, cast(null as integer) as seq, indicator_name,
           printed_unit, unit_as_read, target_kind, cast(null as varchar) as attribute, '' as breakdown, cast(null as integer) as baseline_year,
           cast(null as double) as baseline_value, target_year, target_value,
           cast(null as double) as target_2021, cast(null as double) as target_2022,
           cast(null as double) as target_2023, cast(null as double) as target_2024,
           cast(null as double) as target_2025, 'prose' as target_source
    from prose_rows p
    where not exists (
        select 1 from plan_rows t
        where t.region_code = p.region_code and t.plan = p.plan
          and (t.indicator_code = p.indicator_code or t.indicator_name = p.indicator_name)
    )
),
all_targets as (
    select source_row_id, region_code, indicator_code, plan, seq, indicator_name, printed_unit, unit_as_read,
           target_kind, attribute,
           breakdown, baseline_year, baseline_value, target_year, target_value, target_2021, target_2022,
           target_2023, target_2024, target_2025, target_source
    from plan_rows
    union all
    select * from prose_only
),
resolved as (
    select a.*, coalesce(a.indicator_code, ra.indicator_code, sa.indicator_code) as resolved_code
    from all_targets a
    left join floor_aliases ra on ra.alias = a.indicator_name and ra.alias_region_code = a.region_code
    left join floor_aliases sa on sa.alias = a.indicator_name and sa.alias_region_code = ''
),
converted as (
    select
        r.region_code || '|' || r.plan || '|' || r.resolved_code || '|' || r.breakdown as plan_target_id,
        r.region_code, r.plan, r.resolved_code as indicator_code, r.breakdown, r.attribute, r.seq,
        r.source_row_id, r.target_source, r.baseline_year, r.target_year,
        -- the reviewer's reading of the unit (unit_as_read) stands for the printed unit where recorded
        case
            when i.unit is null then null
            when coalesce(r.unit_as_read, r.printed_unit) is null
                 or coalesce(r.unit_as_read, r.printed_unit) = i.unit then 1.0
            when pu.dimension is null then null
            when pu.dimension = cu.dimension then pu.factor / cu.factor
        end as conversion_factor,
        -- a row without a reviewed kind of target takes the catalog's default
        coalesce(r.target_kind, case when i.measure = 'flow' then 'annual_flow' else 'stock' end) as target_kind,
        r.baseline_value as printed_baseline, r.target_value as printed_target,
        r.target_2021 as p2021, r.target_2022 as p2022, r.target_2023 as p2023, r.target_2024 as p2024,
        r.target_2025 as p2025,
        coalesce(r.baseline_year + 1, 2016 + 5 * (try_cast(replace(lower(r.plan), 'th', '') as integer) - 13))
            as window_start_year,
        coalesce(r.target_year, 2016 + 5 * (try_cast(replace(lower(r.plan), 'th', '') as integer) - 13) + 4)
            as window_end_year
    from resolved r
    left join floor_indicators i on i.indicator_code = r.resolved_code
    left join floor_units pu on pu.unit = coalesce(r.unit_as_read, r.printed_unit)
    left join floor_units cu on cu.unit = i.unit
    where r.resolved_code is not null
),
ranked as (
    select *, row_number() over (
        partition by plan_target_id
        order by case when target_source = 'table' then 0 else 1 end, seq, source_row_id
    ) as row_rank
    from converted
)
select plan_target_id, region_code, plan, indicator_code, breakdown, attribute, target_kind, baseline_year,
       target_year,
       printed_baseline * conversion_factor as baseline_value, printed_target * conversion_factor as target_value,
       p2021 * conversion_factor as t2021, p2022 * conversion_factor as t2022, p2023 * conversion_factor as t2023,
       p2024 * conversion_factor as t2024, p2025 * conversion_factor as t2025,
       window_start_year, window_end_year
from ranked
where row_rank = 1;

create or replace temp table fct_indicator_progress as
with
observations as (
    select
        region_code, indicator_code, coalesce(breakdown, '') as breakdown, upper(period) as period,
        case when length(period) = 6 then 'quarter' else 'year' end as period_type,
        cast(substr(period, 1, 4) as integer) as period_year,
        case when length(period) = 6 then cast(substr(period, 6, 1) as integer) else 4 end as period_quarter,
        value, filename
    from read_csv(getvariable('stats_files'), header = true, filename = true,
                  types = {'region_code': 'VARCHAR', 'period': 'VARCHAR', 'indicator_code': 'VARCHAR',
                           'breakdown': 'VARCHAR', 'value': 'DOUBLE', 'unit': 'VARCHAR',
                           'numerator': 'DOUBLE', 'denominator': 'DOUBLE', 'source': 'VARCHAR'})
    -- a row reported as missing is not a figure (int_observations_latest)
    where value is not null
),
latest as (
    -- latest file wins (file_seq follows path order); clean input has one version per key
    select * exclude (rn) from (
        select *, period_year * 4 + period_quarter - 1 as period_index,
               row_number() over (partition by region_code, indicator_code, breakdown, period
                                  order by filename desc) as rn
        from observations
    ) where rn = 1
),
matched as (
    -- a plan holds the years of its window and, after its target year, the years up to the run's year
    -- (those rows keep the series but its verdict stands); a window holding the year wins over a
    -- passed one, then the later-ending window, then the later plan
    select o.*, p.plan_target_id, p.plan, p.attribute, p.target_kind, p.baseline_year, p.baseline_value,
           p.target_year, p.target_value, p.window_start_year as plan_start_year,
           coalesce(o.period_year > p.window_end_year, false) as is_after_target_year,
           row_number() over (partition by o.region_code, o.indicator_code, o.breakdown, o.period
                              order by case when o.period_year > p.window_end_year then 1 else 0 end,
                                       p.window_end_year desc, p.plan desc) as plan_rank
    from latest o
    left join floor_plan_targets p
        on p.region_code = o.region_code and p.indicator_code = o.indicator_code and p.breakdown = o.breakdown
        and o.period_year >= p.window_start_year
        and o.period_year <= greatest(p.window_end_year, getvariable('as_of_year'))
),
year_totals as (
    -- a flow series' full years: the annual figure, else Q4's year-to-date; running total and count
    select region_code, indicator_code, breakdown, period_year,
           sum(value) over w as running_total, count(*) over w as years_counted
    from (
        select l.region_code, l.indicator_code, l.breakdown, l.period_year, l.value,
               row_number() over (partition by l.region_code, l.indicator_code, l.breakdown, l.period_year
                                  order by case when l.period_type = 'year' then 0 else 1 end) as rk
        from latest l
        inner join floor_indicators i on i.indicator_code = l.indicator_code
        where i.measure = 'flow' and (l.period_type = 'year' or l.period_quarter = 4)
    )
    where rk = 1
    window w as (partition by region_code, indicator_code, breakdown order by period_year
                 rows between unbounded preceding and current row)
),
series as (
    select m.*,
        count(*) over w as observations_to_date,
        first_value(value) over w as first_value_,
        first_value(period_type) over w as first_type,
        first_value(period_year) over w as first_year,
        first_value(period_quarter) over w as first_quarter
    from matched m
    where plan_rank = 1
    window w as (partition by region_code, indicator_code, breakdown, plan order by period_index, period_type
                 rows between unbounded preceding and current row)
),
joined as (
    select s.*, ty.value as annual_this, py.value as annual_previous, i.measure, i.direction,
           i.lower_bound, i.upper_bound,
           -- a cumulative target's earlier full years since the plan's first year (null when one is missing)
           case
               when s.target_kind <> 'cumulative' then null
               when s.period_year <= s.plan_start_year then 0
               when coalesce(prev.years_counted, 0) - coalesce(pre.years_counted, 0)
                    = s.period_year - s.plan_start_year
                   then prev.running_total - coalesce(pre.running_total, 0)
           end as prior_years_total
    from series s
    inner join floor_indicators i on i.indicator_code = s.indicator_code
    left join (
        select plan_target_id, 2021 as y, t2021 as value from floor_plan_targets where t2021 is not null
        union all select plan_target_id, 2022, t2022 from floor_plan_targets where t2022 is not null
        union all select plan_target_id, 2023, t2023 from floor_plan_targets where t2023 is not null
        union all select plan_target_id, 2024, t2024 from floor_plan_targets where t2024 is not null
        union all select plan_target_id, 2025, t2025 from floor_plan_targets where t2025 is not null
    ) ty on ty.plan_target_id = s.plan_target_id and ty.y = s.period_year
    left join (
        select plan_target_id, 2021 as y, t2021 as value from floor_plan_targets where t2021 is not null
        union all select plan_target_id, 2022, t2022 from floor_plan_targets where t2022 is not null
        union all select plan_target_id, 2023, t2023 from floor_plan_targets where t2023 is not null
        union all select plan_target_id, 2024, t2024 from floor_plan_targets where t2024 is not null
        union all select plan_target_id, 2025, t2025 from floor_plan_targets where t2025 is not null
    ) py on py.plan_target_id = s.plan_target_id and py.y = s.period_year - 1
    left join year_totals prev
        on prev.region_code = s.region_code and prev.indicator_code = s.indicator_code
        and prev.breakdown = s.breakdown and prev.period_year = s.period_year - 1
    left join year_totals pre
        on pre.region_code = s.region_code and pre.indicator_code = s.indicator_code
        and pre.breakdown = s.breakdown and pre.period_year = s.plan_start_year - 1
),
placed as (
    select *,
        coalesce(attribute = 'binding', false) as is_binding,
        coalesce(target_kind = 'cumulative', false) as is_cumulative,
        case direction when 'increase' then 1 when 'decrease' then -1 else 0 end as direction_sign,
        (measure = 'flow' and period_type = 'quarter' and coalesce(target_kind <> 'cumulative', true)) as is_ytd,
        -- a running total sits at its quarter's end like a level
        case when target_kind = 'cumulative' and period_type = 'quarter' then period_year - 1 + period_quarter / 4.0
             when measure = 'flow' or period_type = 'year' then 1.0 * period_year
             else period_year - 1 + period_quarter / 4.0 end as time_point,
        case when target_kind = 'cumulative' then prior_years_total + value
             when measure = 'flow' and period_type = 'quarter' then value * 4.0 / period_quarter
             else value end as comparable_value,
        case when measure = 'flow' or first_type = 'year' then 1.0 * first_year
             else first_year - 1 + first_quarter / 4.0 end as first_time_point,
        case when measure = 'flow' and first_type = 'quarter' then first_value_ * 4.0 / first_quarter
             else first_value_ end as first_comparable
    from joined
),
based as (
    select *,
        (target_value is not null and target_year is not null) as has_target,
        -- a cumulative target runs from zero at the end of the year before the plan's first year
        case when is_cumulative then 0.0
             when baseline_value is not null then baseline_value else first_comparable end as base_value,
        case when is_cumulative then plan_start_year - 1.0
             when baseline_value is not null then 1.0 * coalesce(baseline_year, target_year - 5)
             else first_time_point end as base_time,
        observations_to_date + case when baseline_value is not null or is_cumulative then 1 else 0 end
            as data_points
    from placed
),
geometry as (
    select *,
        time_point - base_time as years_elapsed,
        target_year - base_time as years_planned,
        target_value - base_value as target_gap,
        sign(target_value - base_value) as target_sign,
        case when direction_sign = 0 then sign(target_value - base_value) else direction_sign end as effective_sign
    from based
),
expected as (
    select *,
        case
            when not has_target then null
            when annual_this is not null and ((measure = 'flow' and not is_cumulative) or period_quarter = 4)
                then annual_this
            when annual_this is not null then
                coalesce(annual_previous, base_value + target_gap * (period_year - 1 - base_time) / nullif(years_planned, 0))
                + (annual_this - coalesce(annual_previous,
                       base_value + target_gap * (period_year - 1 - base_time) / nullif(years_planned, 0)))
                  * period_quarter / 4.0
            else base_value + target_gap * (time_point - base_time) / nullif(years_planned, 0)
        end as expected_comparable,
        (has_target and effective_sign <> 0 and target_sign = effective_sign) as target_ahead,
        (base_value > 0 and comparable_value > 0 and target_value > 0) as compound,
        case when effective_sign = 1 then upper_bound when effective_sign = -1 then lower_bound end as natural_limit
    from geometry
),
projected as (
    select *,
        case
            when not has_target or years_elapsed is null or years_elapsed <= 0
                 or data_points < getvariable('min_data_points') then null
            when compound then base_value * power(comparable_value / base_value, years_planned / years_elapsed)
            else base_value + (comparable_value - base_value) * years_planned / years_elapsed
        end as projected_value
    from expected
),
judged as (
    select *,
        case when target_ahead then (comparable_value - base_value) / target_gap end as progress_ratio,
        case when target_ahead then (projected_value - base_value) / target_gap end as projected_ratio,
        case
            when not has_target then null
            when effective_sign = 1 then comparable_value >= target_value
            when effective_sign = -1 then comparable_value <= target_value
            when is_binding then abs(comparable_value - target_value) <= 1e-9
            else abs(comparable_value - target_value) <= getvariable('maintain_margin') * abs(target_value)
        end as meets_target,
        (not is_binding and natural_limit is not null and target_value = natural_limit
         and abs(comparable_value - natural_limit) <= getvariable('natural_limit_margin')) as near_limit,
        case
            when effective_sign = 1 then comparable_value >= expected_comparable
            when effective_sign = -1 then comparable_value <= expected_comparable
        end as ahead_of_expected
    from projected
),
basis as (
    select *,
        case
            when not has_target then 'no_target'
            when is_after_target_year then 'after_target_year'
            when meets_target then 'meets_target'
            when near_limit then 'natural_limit'
            when period_year = target_year and period_quarter = 4 then 'final_at_target_year'
            when data_points < getvariable('min_data_points') or years_elapsed is null or years_elapsed <= 0
                then 'too_few_points'
            when not target_ahead then 'target_not_ahead_of_base'
            when ahead_of_expected then 'ahead_of_expected'
            when projected_ratio is null then 'ratio_undefined'
            when is_binding then 'binding_ratio'
            else 'ratio'
        end as status_basis
    from judged
)
select
    region_code, indicator_code, breakdown, period,
    value as actual_value,
    baseline_value,
    target_value,
    case when is_after_target_year then null
         when is_ytd then expected_comparable * period_quarter / 4.0 else expected_comparable end as expected_value,
    progress_ratio,
    case status_basis
        when 'no_target' then 'no_target'
        when 'after_target_year' then 'target_year_passed'
        when 'meets_target' then 'target_achieved'
        when 'natural_limit' then 'target_achieved'
        when 'final_at_target_year' then 'target_not_achieved'
        when 'too_few_points' then 'insufficient_data'
        when 'target_not_ahead_of_base' then 'deterioration'
        when 'ahead_of_expected' then 'on_track'
        when 'ratio_undefined' then 'insufficient_data'
        when 'binding_ratio' then
            case
                when projected_ratio >= getvariable('needs_acceleration') then 'needs_acceleration'
                when projected_ratio >= 0 then 'limited_progress'
                else 'deterioration'
            end
        else
            case
                when projected_ratio >= getvariable('on_track') then 'on_track'
                when projected_ratio >= getvariable('needs_acceleration') then 'needs_acceleration'
                when projected_ratio >= 0 then 'limited_progress'
                else 'deterioration'
            end
    end as status
from basis;
