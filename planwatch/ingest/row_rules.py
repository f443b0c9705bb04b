"""The row-by-row rules of a statistics submission: what makes a row loadable as it stands, loadable after
a conversion (a unit, a date typed as a period, a full-width digit), or quarantined with a reason its
submitter understands.

`judge_rows` is the reference implementation of the rules: planwatch.ingest.load_statistics takes the rows
every rule would accept unchanged with one SQL query (its fast path) and gives the others to it, so each
reason code and message has one home, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from planwatch.core.catalog import Catalog
from planwatch.core.normalize import (
    NotANumber,
    normalize_breakdown,
    normalize_unit,
    parse_number,
    parse_reported_on,
    parse_value,
    ratio_scale,
    to_halfwidth,
)
from planwatch.core.periods import last_closed_quarter, parse_period, period_end_quarter, quarter_ending_on

if TYPE_CHECKING:
    import duckdb

TReason = Literal[
    "malformed_row", "unknown_region", "bad_period", "future_period", "unknown_indicator", "bad_breakdown",
    "not_a_number", "unit_not_convertible", "unit_conflict", "bad_date", "duplicate_in_file",
    "outside_bounds",
]
REASON_CODES: tuple[TReason, ...] = (
    "malformed_row", "unknown_region", "bad_period", "future_period", "unknown_indicator", "bad_breakdown",
    "not_a_number", "unit_not_convertible", "unit_conflict", "bad_date", "duplicate_in_file",
    "outside_bounds",
)

OBS_COLUMNS = ("line_no", "region_code", "period", "period_type", "indicator_code", "breakdown", "value", "unit",
                "raw_value", "raw_unit", "numerator", "denominator", "reported_on", "source", "is_simulated", "mapped")

# (region_code, indicator_code) -> {unit as the region's plan prints it: the plan reviewer's unit_as_read}
PrintedUnits = dict[tuple[str, str], dict[str, str]]


@dataclass
class FileOutcome:
    """What one file gave: accepted rows column by column, and quarantined rows."""

    rows_read: int = 0
    columns: dict[str, list[object]] = field(default_factory=lambda: {c: [] for c in OBS_COLUMNS})
    quarantine: list[tuple[int, TReason, str]] = field(default_factory=list)  # (line_no, code, reason)

    @property
    def rows_loaded(self) -> int:
        return len(self.columns["line_no"])


TRow = tuple  # (line_no, ncells, extra, cell_0, …, cell_{n-1}) as Submission.table() gives them


def _cell(cells: TRow, idx: int | None) -> str:
    if idx is None:
        return ""
    return cells[idx] or ""


def printed_units(con: "duckdb.DuckDBPyConnection") -> PrintedUnits:
    """The units the regions' plans print that their reviewer read as another unit (`unit_as_read` of
    raw/plan_indicators: 张 printed for beds per thousand older people, read as 张/千名老人)."""
    from planwatch.core.db import table_exists

    if not table_exists(con, "raw", "plan_indicators"):
        return {}
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' "
        "and table_name = 'plan_indicators'").fetchall()}
    if "unit_as_read" not in columns:  # plan files from before the reviewer's column
        return {}
    out: PrintedUnits = {}
    for region, code, unit, as_read in con.execute(
            "select region_code, indicator_code, unit, unit_as_read from raw.plan_indicators "
            "where coalesce(indicator_code, '') <> '' and coalesce(unit, '') <> '' "
            "and coalesce(unit_as_read, '') <> ''").fetchall():
        out.setdefault((region, code), {})[normalize_unit(unit)] = normalize_unit(as_read)
    return out


def _period_from_date(text: str) -> tuple[str, str] | None:
    """A period typed as its last day (2023-06-30 → 2023Q2, 2023-12-31 → 2023Q4) as (period, note);
    None when `text` is not a date; ValueError naming the date when it is not a quarter's last day."""
    try:
        day = parse_reported_on(text)
    except ValueError:
        return None
    if day is None:
        return None
    quarter = quarter_ending_on(day)
    if quarter is None:
        raise ValueError(f"period '{text}' is a date but not the last day of a quarter; write the quarter "
                         "(2023Q2) or its last day (2023-06-30)")
    return str(quarter), f"period {text} read as {quarter}"


def judge_rows(rows: Iterable[TRow], header: list[str], catalog: Catalog, today: date,
               plan_units: PrintedUnits | None = None, file_notes: list[str] | None = None) -> FileOutcome:
    """Apply every rule to `rows` (in line order): convert what can be accepted, give a reason for the rest.

    This is the reference implementation of the rules; `_clean_rows_sql` only takes rows on which it
    would change nothing. `plan_units` lets a row use the unit its region's plan prints for the
    indicator, read as the plan's reviewer read it; `file_notes` are what was decided for the whole
    file (both end in the row's `mapped`).
    """
    col = {name: i + 3 for i, name in enumerate(header) if name}
    i_region, i_period, i_value, i_unit = col["region_code"], col["period"], col["value"], col["unit"]
    i_code, i_name = col.get("indicator_code"), col.get("indicator_name")
    i_breakdown, i_num, i_den = col.get("breakdown"), col.get("numerator"), col.get("denominator")
    i_reported, i_source = col["reported_on"], col["source"]
    width = len(header)
    plan_units = plan_units or {}
    base_notes = list(file_notes or [])
    last_closed = last_closed_quarter(today)

    out = FileOutcome()
    c = out.columns
    q = out.quarantine
    # Caches: a file repeats the same few regions, periods, names, units and dates many times.
    periods: dict[str, tuple[str, str, str] | tuple[None, TReason, str]] = {}
    names: dict[tuple[str, str], str | None] = {}
    factors: dict[tuple[str, str], float | None] = {}
    dates: dict[str, date | None | str] = {}
    regions = catalog.regions
    indicators = catalog.indicators
    seen: dict[tuple[str, str, str, str], int] = {}  # key -> index in accepted columns
    dropped: set[int] = set()

    for cells in rows:
        line_no = cells[0]
        out.rows_read += 1
        notes = list(base_notes)
        if cells[2]:
            q.append((line_no, "malformed_row",
                      f"line has {cells[1]} cells but the header has {width}; a value probably contains an unquoted comma"))
            continue

        region = to_halfwidth(_cell(cells, i_region)).strip()
        if region not in regions:
            q.append((line_no, "unknown_region",
                      f"region_code '{region}' is not in raw/reference/regions.csv; check the 6-digit GB/T 2260 code"))
            continue

        ptext = _cell(cells, i_period)
        pinfo = periods.get(ptext)
        if pinfo is None:
            try:
                note = ""
                try:
                    period, ptype = parse_period(to_halfwidth(ptext))
                except ValueError:
                    from_date = _period_from_date(ptext)
                    if from_date is None:
                        raise ValueError(f"period '{ptext}' is neither a quarter such as 2023Q2 nor a year such "
                                         "as 2023") from None
                    (period, note), ptype = from_date, "quarter"
                end = period_end_quarter(period)
                if end > last_closed:
                    pinfo = (None, "future_period",
                             f"period {period} ends after {last_closed}, the last quarter closed on {today.isoformat()}; "
                             "a figure cannot be reported before its period ends (a typo in the year?)")
                else:
                    pinfo = (period, ptype, note)
            except ValueError as exc:
                pinfo = (None, "bad_period", str(exc))
            periods[ptext] = pinfo
        if pinfo[0] is None:
            q.append((line_no, pinfo[1], pinfo[2]))  # type: ignore[misc]
            continue
        period, ptype, pnote = pinfo  # type: ignore[misc]
        if pnote:
            notes.append(pnote)

        code = to_halfwidth(_cell(cells, i_code)).strip().upper()
        if code:
            if code not in indicators:
                q.append((line_no, "unknown_indicator",
                          f"indicator_code '{code}' is not in raw/reference/indicators.csv"))
                continue
        else:
            name = _cell(cells, i_name).strip()
            key = (name, region)
            if key not in names:
                names[key] = catalog.resolve_name(name, region) if name else None
            resolved = names[key]
            if resolved is None:
                q.append((line_no, "unknown_indicator",
                          f"indicator_name '{name}' is not a known name for region {region}; use indicator_code, or add "
                          "the name to raw/reference/indicator_aliases.csv" if name else
                          "neither indicator_code nor indicator_name is filled in"))
                continue
            code = resolved
        ind = indicators[code]

        braw = _cell(cells, i_breakdown)
        breakdown = normalize_breakdown(braw) if braw else ""
        if breakdown is None:
            q.append((line_no, "bad_breakdown", f"breakdown '{braw}' is not urban, rural or empty (the total)"))
            continue

        raw_value = _cell(cells, i_value)
        raw_unit = _cell(cells, i_unit)
        try:
            parsed = parse_value(raw_value)
            numerator = parse_number(_cell(cells, i_num)) if i_num is not None else None
            denominator = parse_number(_cell(cells, i_den)) if i_den is not None else None
        except NotANumber as exc:
            q.append((line_no, "not_a_number", str(exc)))
            continue
        value = parsed.value
        unit = normalize_unit(raw_unit)
        if parsed.unit:
            if unit and unit != parsed.unit:
                q.append((line_no, "unit_conflict",
                          f"the value cell says {parsed.unit} but the unit column says {unit}; keep the unit in one place"))
                continue
            unit = parsed.unit
        as_read = plan_units.get((region, code), {}).get(unit) if unit and unit != ind.unit else None
        if as_read and catalog.convert(1.0, unit, ind.unit) is None:
            # The region's own plan prints this unit for this indicator (张 for beds per thousand older
            # people) and its reviewer recorded what it means: the same reading as for the plan's figures.
            notes.append(f"unit {unit} as printed in the region's plan, read as {as_read} (the plan's unit_as_read)")
            unit = as_read
        if value is None and numerator is not None and denominator is not None:
            if denominator == 0:
                q.append((line_no, "not_a_number", "value is missing and the denominator is 0, so no value can be computed"))
                continue
            value = numerator / denominator * ratio_scale(unit or ind.unit)
        if not unit:
            q.append((line_no, "unit_not_convertible",
                      f"unit is empty; write the unit of the figure (the catalog unit of {code} is {ind.unit})"))
            continue
        fkey = (unit, ind.unit)
        if fkey not in factors:
            factors[fkey] = catalog.convert(1.0, unit, ind.unit)
        factor = factors[fkey]
        if factor is None:
            q.append((line_no, "unit_not_convertible",
                      f"unit '{unit}' cannot be converted to '{ind.unit}', the catalog unit of {code}; "
                      "report the figure in the catalog unit (or add the unit to raw/reference/units.csv)"))
            continue
        if value is not None and factor != 1.0:
            value = round(value * factor, 10)
        if value is not None:
            why = catalog.bound_violation(code, value)
            if why is not None:
                # One implausible figure must not hold back a whole quarter's publish: it waits here,
                # with its reason, for a corrected file (the raw checks would block it otherwise).
                q.append((line_no, "outside_bounds",
                          f"{why} (catalog bounds, raw/reference/indicators.csv); check the figure and its "
                          "unit, then send a corrected file"))
                continue

        rtext = _cell(cells, i_reported)
        reported = dates.get(rtext, "")
        if reported == "":
            try:
                reported = parse_reported_on(rtext)
            except ValueError as exc:
                reported = str(exc)
            dates[rtext] = reported
        if isinstance(reported, str):
            q.append((line_no, "bad_date", reported))
            continue

        key4 = (region, period, code, breakdown)
        first = seen.get(key4)
        if first is not None:
            first_value = c["value"][first]
            first_line = c["line_no"][first]
            what = f"{region} {period} {code} {breakdown or 'total'}"
            same = first_value == value or (first_value is not None and value is not None
                                            and abs(first_value - value) <= 1e-9 * max(1.0, abs(value)))  # type: ignore[operator]
            if same and first not in dropped:
                q.append((line_no, "duplicate_in_file",
                          f"repeats line {first_line} ({what}) with the same value; only line {first_line} is loaded"))
            else:
                q.append((line_no, "duplicate_in_file",
                          f"line {first_line} and this line both give {what}, with different values "
                          f"({c['raw_value'][first]} and {raw_value}); neither is loaded: send one corrected file"))
                if first not in dropped:
                    dropped.add(first)
                    q.append((first_line, "duplicate_in_file",  # type: ignore[arg-type]
                              f"line {line_no} gives the same {what} with a different value ({raw_value} vs "
                              f"{c['raw_value'][first]}); neither is loaded: send one corrected file"))
            continue
        seen[key4] = len(c["line_no"])

        source = _cell(cells, i_source).strip()
        c["line_no"].append(line_no)
        c["region_code"].append(region)
        c["period"].append(period)
        c["period_type"].append(ptype)
        c["indicator_code"].append(code)
        c["breakdown"].append(breakdown)
        c["value"].append(value)
        c["unit"].append(ind.unit)
        c["raw_value"].append(raw_value)
        c["raw_unit"].append(raw_unit)
        c["numerator"].append(numerator)
        c["denominator"].append(denominator)
        c["reported_on"].append(reported)
        c["source"].append(source)
        c["is_simulated"].append(source.lower() == "simulated")
        c["mapped"].append("; ".join(notes) or None)

    if dropped:
        keep = [i for i in range(len(c["line_no"])) if i not in dropped]
        out.columns = {name: [values[i] for i in keep] for name, values in c.items()}
    q.sort(key=lambda item: item[0])
    return out
