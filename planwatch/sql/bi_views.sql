-- Views for dashboards, created in every candidate warehouse at publish time (planwatch.serve).
-- They read only tables of the same file, so the published file stays self-contained, and they
-- hold no arithmetic of their own: progress, expected values and statuses come from the marts.

CREATE SCHEMA IF NOT EXISTS bi;

-- Grain: one row per region, plan, indicator and breakdown: its latest period with an actual
-- value (or, for a series with no actual value yet, its latest period); a series whose target
-- year has passed keeps its verdict at that year (ranked as planwatch.report.LATEST_SQL).
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
