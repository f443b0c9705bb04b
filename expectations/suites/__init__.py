"""The data-quality suites, as code reviewed like code. `raw_suites` gate the ingest store,
`mart_suites` the candidate warehouse; planwatch.quality.validate runs them through Great Expectations."""

from __future__ import annotations

from . import marts, plan_consistency, raw_statistics
from ._common import Rule, Suite, SuiteParams, Thresholds, stock_jumped

__all__ = ["Rule", "Suite", "SuiteParams", "Thresholds", "stock_jumped", "raw_suites", "mart_suites", "MART_TABLES"]

MART_TABLES = marts.TABLES


def raw_suites(params: SuiteParams) -> list[Suite]:
    return [raw_statistics.build(params), plan_consistency.build(params)]


def mart_suites(params: SuiteParams) -> list[Suite]:
    """The mart suites that have a rule to run (a row-count rule needs a published warehouse)."""
    return [suite for suite in (build(params) for build in marts.SUITES) if suite.rules]
