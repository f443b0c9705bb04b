"""Which Five-Year-Plan period a document and its tables belong to, from what the document prints.

The document's own name for its period (十五五, 第十五个五年) decides, earliest mention first (the
title comes first; a review of the previous plan comes later). Without one, a table's target year
(the period's last year) does. Periods come from raw/reference/plan_periods.csv.
"""

from __future__ import annotations

from pathlib import Path

from planwatch.core.config import REPO_ROOT, Settings
from planwatch.core.plan_periods import PlanPeriod
from planwatch.core.plan_periods import load as load_periods
from planwatch.core.plan_periods import previous


def default_periods() -> list[PlanPeriod]:
    """The periods of PLANWATCH_HOME's raw/reference, else of the repository's."""
    for folder in (Settings.from_env().reference_dir, REPO_ROOT / "raw" / "reference"):
        if (Path(folder) / "plan_periods.csv").is_file():
            return load_periods(Path(folder))
    return []


def _names(period: PlanPeriod) -> list[str]:
    # 十五五 and the long form 第十五个五年 (规划)
    return [period.name_zh, f"第{period.name_zh[:-1]}个五年"]


def document_period(text: str, periods: list[PlanPeriod]) -> PlanPeriod | None:
    """The period whose name the document prints first, or None."""
    best: tuple[int, PlanPeriod] | None = None
    for period in periods:
        for name in _names(period):
            at = text.find(name)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, period)
    return best[1] if best else None


def ending_in(periods: list[PlanPeriod], year: str) -> PlanPeriod | None:
    return next((p for p in periods if str(p.last_year) == year), None)


def table_period(kind: str, target_year: str, doc: PlanPeriod | None,
                 periods: list[PlanPeriod]) -> PlanPeriod | None:
    """An indicator table belongs to the document's period; a completion table to the one before.
    Without a period name in the document, the period that ends in the table's target year."""
    if doc is not None:
        return doc if kind == "indicators" else previous(periods, doc)
    return ending_in(periods, target_year) if target_year else None
