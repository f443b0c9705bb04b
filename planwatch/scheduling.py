"""Which quarter a scheduled run publishes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from planwatch.periods import Quarter, last_closed_quarter

TIMEZONE = ZoneInfo("Asia/Shanghai")


def quarter_for_run(logical_date: datetime | None, override: str | None = None) -> str:
    """The quarter a run publishes: the `quarter` param if given, else the last one closed at the
    run's logical date in Asia/Shanghai (a run on 2025-04-15 publishes 2025Q1)."""
    if override:
        return str(Quarter.parse(override))
    if logical_date is None:
        logical_date = datetime.now(TIMEZONE)
    local = logical_date.astimezone(TIMEZONE) if logical_date.tzinfo else logical_date
    return str(last_closed_quarter(local))
