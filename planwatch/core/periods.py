"""Quarter arithmetic. A period is `YYYYQn` (a quarter) or `YYYY` (a year, which ends with its Q4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        m = _QUARTER.match(text.strip().upper())
        if not m:
            raise ValueError(f"`quarter={text}` is not a quarter; expected YYYYQn such as 2023Q2")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def end_date(self) -> date:
        month = self.q * 3
        day = 31 if month in (3, 12) else 30
        return date(self.year, month, day)

    @property
    def index(self) -> int:
        """Quarters since year 0, so that differences count quarters."""
        return self.year * 4 + self.q - 1

    @classmethod
    def from_index(cls, index: int) -> "Quarter":
        """The quarter whose `index` is `index` (a year's rows carry their Q4's index)."""
        return cls(index // 4, index % 4 + 1)

    def next(self) -> "Quarter":
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)


def parse_period(text: str) -> tuple[str, str]:
    """Return (canonical period, period_type) or raise ValueError naming the expected forms."""
    t = text.strip().upper()
    if _QUARTER.match(t):
        return t, "quarter"
    if _YEAR.match(t):
        return t, "year"
    raise ValueError(f"`period={text}` is neither YYYYQn (2023Q2) nor YYYY (2023)")


def period_index(period: str) -> int:
    """The period index of a period: its end quarter's `Quarter.index` (a year counts as its Q4)."""
    return period_end_quarter(period).index


def period_index_sql(column: str) -> str:
    """SQL: `period_index` of a canonical period column (`YYYYQn` or `YYYY`), for the loader and the
    ingest store's migration. dbt keeps its own copy (dbt/macros/periods.sql); tests pin both to
    `period_index` (tests/planwatch/core/test_periods.py, dbt/tests/assert_period_index_matches_loader.sql)."""
    return (f"(cast(substr({column}, 1, 4) as integer) * 4"
            f" + case when length({column}) = 6 then cast(substr({column}, 6, 1) as integer) else 4 end - 1)")


def year_of_index_sql(column: str) -> str:
    """SQL: the year of a `period_index` column (the inverse of `Quarter.index`, year × 4 + quarter − 1;
    a year's own rows carry its Q4's index)."""
    return f"({column} // 4)"


def period_end_quarter(period: str) -> Quarter:
    """The quarter in which a period ends: a year ends in its Q4."""
    p, kind = parse_period(period)
    return Quarter.parse(p) if kind == "quarter" else Quarter(int(p), 4)


def quarter_ending_on(day: date) -> "Quarter | None":
    """The quarter whose last day is `day` (2023-06-30 → 2023Q2; a year's last day is its Q4), else None."""
    q = Quarter(day.year, (day.month - 1) // 3 + 1)
    return q if q.end_date == day else None


def last_closed_quarter(today: date | datetime) -> Quarter:
    """The latest quarter that has fully ended on `today`."""
    current = Quarter(today.year, (today.month - 1) // 3 + 1)
    return current.previous()


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    out = []
    q = first
    while q <= last:
        out.append(q)
        q = q.next()
    return out
