"""Five-Year-Plan periods, read from raw/reference/plan_periods.csv: the only home of a period's years.

Code never writes a plan's years or names: it asks this module (Python) or joins
`raw.plan_periods` / `stg_reference__plan_periods` (SQL). A new period is one more CSV row.
Annual targets are the plan files' `target_YYYY` columns, whatever years they name.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from planwatch.core.errors import ConfigError

FILENAME = "plan_periods.csv"
COLUMNS = ("plan", "name_zh", "name_en", "first_year", "last_year", "base_year", "mid_term_year")
# A plan file's annual-target column: `target_` and a four-digit year.
ANNUAL_COLUMN = re.compile(r"^target_(\d{4})$")


@dataclass(frozen=True)
class PlanPeriod:
    plan: str            # the label the plan files use (`plan` column)
    name_zh: str         # how documents name it, e.g. the 五 of 十X五
    name_en: str
    first_year: int
    last_year: int
    base_year: int       # the year the plan's baselines describe (the previous plan's last year)
    mid_term_year: int   # the year of the mid-term evaluation

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)

    def annual_columns(self) -> list[str]:
        return [f"target_{year}" for year in self.years]


def load(reference_dir: Path) -> list[PlanPeriod]:
    """Every period of raw/reference/plan_periods.csv, in order of first year."""
    path = reference_dir / FILENAME
    if not path.is_file():
        raise ConfigError(f"{path}: missing; it lists the plan periods ({', '.join(COLUMNS)}), "
                          "copy it from the repository's raw/reference/")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        periods = []
        for line_no, row in enumerate(reader, start=2):
            try:
                periods.append(PlanPeriod(
                    plan=row["plan"].strip(), name_zh=row["name_zh"].strip(), name_en=row["name_en"].strip(),
                    **{c: int(row[c]) for c in COLUMNS[3:]}))
            except ValueError as exc:
                raise ConfigError(f"{path}: line {line_no}: a year is not a whole number ({exc})") from exc
    return sorted(periods, key=lambda p: p.first_year)


def for_plan(periods: list[PlanPeriod], plan: str) -> PlanPeriod:
    for period in periods:
        if period.plan == plan.strip().lower():
            return period
    known = ", ".join(p.plan for p in periods)
    raise ConfigError(f"plan '{plan}' is not in raw/reference/{FILENAME} (known: {known})")


def for_year(periods: list[PlanPeriod], year: int) -> PlanPeriod | None:
    """The period that holds `year`, or None."""
    return next((p for p in periods if year in p.years), None)


def previous(periods: list[PlanPeriod], period: PlanPeriod) -> PlanPeriod | None:
    """The period that ends in `period`'s base year."""
    return next((p for p in periods if p.last_year == period.base_year), None)


def annual_columns(header: list[str] | tuple[str, ...]) -> list[str]:
    """The `target_YYYY` columns of a plan file's header, in year order."""
    return sorted((c for c in header if ANNUAL_COLUMN.match(c)), key=lambda c: int(c[len("target_"):]))
