-- Views for dashboards, created in every candidate warehouse at publish time (planwatch.serve.serve).
-- They read only tables of the same file, so the published file stays self-contained, and they
-- hold no arithmetic of their own: progress, expected values and statuses come from the marts.

CREATE SCHEMA IF NOT EXISTS bi;

-- Grain: one row per region, plan, indicator and breakdown: its latest period with an actual
-- value (or, for a series with no actual value yet, its latest period); a series whose target
-- year has passed keeps its verdict at that year (ranked as planwatch.serve.report.LATEST_SQL).
CREATE OR REPLACE VIEW bi.latest_status AS
WITH ranked AS (
    SELECT
        f.*,
        row_number() OVER (
            PARTITION BY f.region_code, f.plan, f.indicator_code, coalesce(f.breakdown, '')
            ORDER BY (f.status <> 'target_year_passed') DESC, (f.actual_value IS NOT NULL) DESC,
                     f.period_end DESC
        ) AS recency
    FROM marts.fct_indicator_progress AS f
)
SELECT
    r.region_code,
    r.region_name,
    g.region_name_en,
    r.plan,
    r.indicator_code,
    r.indicator_name,
    i.indicator_name_zh,
    i.indicator_name_en,
    i.unit,
    r.attribute,
    coalesce(r.breakdown, '') AS breakdown,
    r.period,
    r.period_end,
    r.actual_value,
    r.baseline_value,
    r.target_value,
    r.target_year,
    r.expected_value,
    r.progress_ratio,
    r.projected_value,
    r.status,
    r.status_basis,
    r.status_basis_zh,
    r.status_basis_en,
    s.status_zh AS status_label_zh,
    s.status_en AS status_label_en,
    s.sort_order AS status_order,
    r.is_simulated
FROM ranked AS r
LEFT JOIN marts.dim_indicator AS i ON i.indicator_code = r.indicator_code
LEFT JOIN marts.dim_status AS s ON s.status = r.status
LEFT JOIN marts.dim_region AS g ON g.region_code = r.region_code
WHERE r.recency = 1;

-- Grain: one row per region, attribute (binding / expected / empty) and status.
CREATE OR REPLACE VIEW bi.status_counts AS
SELECT
    region_code,
    any_value(region_name) AS region_name,
    coalesce(attribute, '') AS attribute,
    status,
    any_value(status_label_zh) AS status_label_zh,
    any_value(status_label_en) AS status_label_en,
    any_value(status_order) AS status_order,
    count(*) AS indicators,
    bool_or(is_simulated) AS any_simulated
FROM bi.latest_status
GROUP BY region_code, coalesce(attribute, ''), status;

-- The last run whose checks are recorded in this file (the run that built it).
CREATE OR REPLACE VIEW bi.dq_last_run AS
SELECT run_id, max(checked_at) AS checked_at
FROM audit.dq_results
GROUP BY run_id
ORDER BY max(checked_at) DESC
LIMIT 1;

-- Grain: one row per suite and severity of the last run.
CREATE OR REPLACE VIEW bi.dq_summary AS
SELECT
    d.run_id,
    d.suite,
    d.severity,
    count(*) AS checks,
    count(*) FILTER (WHERE d.success) AS passed,
    count(*) FILTER (WHERE NOT d.success) AS failed,
    coalesce(sum(d.unexpected_count) FILTER (WHERE NOT d.success), 0) AS unexpected_rows,
    max(d.checked_at) AS checked_at
FROM audit.dq_results AS d
JOIN bi.dq_last_run AS l USING (run_id)
GROUP BY d.run_id, d.suite, d.severity;

-- Grain: one row per failed expectation of the last run (the open findings).
CREATE OR REPLACE VIEW bi.dq_findings AS
SELECT d.run_id, d.suite, d.expectation, d.severity, d.unexpected_count, d.sample, d.checked_at
FROM audit.dq_results AS d
JOIN bi.dq_last_run AS l USING (run_id)
WHERE NOT d.success;

-- Grain: one row per printed plan figure the warehouse does not use, with the reason and what to do
-- (marts.fct_plan_figures holds every printed figure). Empty when every figure is used.
CREATE OR REPLACE VIEW bi.plan_figures_excluded AS
SELECT region_code, plan, plan_table, source_file, source_line, indicator_name, indicator_code, breakdown,
       figure, printed_value, printed_unit, unit_as_read, unit, exclusion_reason
FROM marts.fct_plan_figures
WHERE NOT is_used;

-- Grain: one row per region, quarter and plan indicator (and printed breakdown) with a printed
-- target, for every quarter of the plan's years up to the run's quarter: whether the figure was
-- received, when, from which file, and whether it is overdue: still missing on the deadline,
-- SUBMISSION_DEADLINE_DAYS = 15 days after the quarter closes (planwatch/core/scheduling.py; the DAG
-- runs that day, and the forms ask for the figures before it). A series a region reports only yearly is expected in Q4 (the year's figure).
CREATE OR REPLACE VIEW bi.submission_status AS
WITH plan_indicators AS (
    SELECT DISTINCT p.region_code, p.plan, p.indicator_code, coalesce(p.breakdown, '') AS breakdown
    FROM raw.plan_indicators AS p
    WHERE coalesce(p.indicator_code, '') <> ''
      AND coalesce(p.review_status, 'reviewed') IN ('reviewed', 'simulated')
      AND nullif(trim(CAST(p.target_value AS VARCHAR)), '') IS NOT NULL
),
latest AS (
    -- the latest version of each figure; a quarter's figure or, in Q4, the year's
    SELECT o.region_code, o.indicator_code, o.breakdown,
           CASE WHEN o.period_type = 'year' THEN o.period || 'Q4' ELSE o.period END AS period,
           arg_max(o.value, o.file_seq) AS value,
           arg_max(o.file_id, o.file_seq) AS file_id,
           min(o.loaded_at) FILTER (WHERE o.value IS NOT NULL) AS received_at,
           bool_and(o.period_type = 'year') AS is_yearly
    FROM raw.stat_observations AS o
    GROUP BY ALL
),
yearly_series AS (
    SELECT region_code, indicator_code, breakdown FROM latest GROUP BY ALL HAVING bool_and(is_yearly)
),
expected AS (
    SELECT i.region_code, i.plan, i.indicator_code, i.breakdown, d.period, d.period_end
    FROM plan_indicators AS i
    JOIN marts.dim_plan AS pl ON pl.region_code = i.region_code AND pl.plan = i.plan
    JOIN marts.dim_period AS d
        ON d.period_type = 'quarter' AND d.is_closed_as_of_run
        AND d.period_year BETWEEN pl.period_start_year AND pl.period_end_year
    LEFT JOIN yearly_series AS y
        ON y.region_code = i.region_code AND y.indicator_code = i.indicator_code AND y.breakdown = i.breakdown
    WHERE y.region_code IS NULL OR d.period_quarter = 4
)
SELECT
    e.region_code,
    r.region_name,
    e.plan,
    e.period,
    e.indicator_code,
    ind.indicator_name_zh,
    ind.indicator_name_en,
    e.breakdown,
    CAST(e.period_end + INTERVAL 15 DAY AS DATE) AS deadline,
    l.value IS NOT NULL AS is_received,
    CASE WHEN l.value IS NOT NULL THEN l.received_at END AS received_at,
    CASE WHEN l.value IS NOT NULL THEN f.path END AS received_from_file,
    l.value,
    l.value IS NULL AND current_date >= CAST(e.period_end + INTERVAL 15 DAY AS DATE) AS is_overdue,
    r.is_simulated AS is_simulated_region
FROM expected AS e
LEFT JOIN latest AS l
    ON l.region_code = e.region_code AND l.indicator_code = e.indicator_code
    AND l.breakdown = e.breakdown AND l.period = e.period
LEFT JOIN raw.file_ledger AS f ON f.file_id = l.file_id
LEFT JOIN marts.dim_region AS r ON r.region_code = e.region_code
LEFT JOIN marts.dim_indicator AS ind ON ind.indicator_code = e.indicator_code;

-- Grain: one row per region and quarter: figures expected, received and overdue, and the
-- indicators still missing (for the report, `planwatch status` and the overdue digest).
CREATE OR REPLACE VIEW bi.submission_by_region AS
SELECT
    region_code,
    any_value(region_name) AS region_name,
    period,
    min(deadline) AS deadline,
    count(*) AS figures_expected,
    count(*) FILTER (WHERE is_received) AS figures_received,
    count(*) FILTER (WHERE is_overdue) AS figures_overdue,
    max(received_at) AS last_received_at,
    string_agg(indicator_code || CASE WHEN breakdown <> '' THEN ' ' || breakdown ELSE '' END, ', '
               ORDER BY indicator_code, breakdown) FILTER (WHERE NOT is_received) AS missing_indicators,
    bool_or(is_simulated_region) AS is_simulated_region
FROM bi.submission_status
GROUP BY region_code, period;

-- Plan periods (#15). Grain: one row per observation with no plan target for its year: a region
-- whose plan for that period is not loaded yet, or an indicator its plan does not contain. Rows kept
-- in an ended plan's series after its target year (status target_year_passed) count as such.
CREATE OR REPLACE VIEW bi.observations_without_plan AS
SELECT
    f.region_code,
    f.region_name,
    f.indicator_code,
    i.indicator_name_zh,
    i.unit,
    coalesce(f.breakdown, '') AS breakdown,
    f.period,
    f.period_end,
    f.actual_value,
    f.plan AS ended_plan,
    f.is_simulated
FROM marts.fct_indicator_progress AS f
LEFT JOIN marts.dim_indicator AS i ON i.indicator_code = f.indicator_code
WHERE f.plan IS NULL OR f.status = 'target_year_passed';

-- Grain: one row per region without a plan for the period the published quarter falls in.
CREATE OR REPLACE VIEW bi.regions_without_current_plan AS
SELECT * FROM marts.fct_regions_without_current_plan;
