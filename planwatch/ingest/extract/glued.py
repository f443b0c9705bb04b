"""Numbers glued together in flattened text ('%5570约束性' is 55 then 70).

Every way of cutting the digits into well-formed numbers (no leading zero, no trailing zero after a decimal
point) is a reading; a reading survives when its
values fit the indicator's catalog bounds (or, without a catalog entry, what the unit allows: a
share in % lies in 0–100), whole numbers for count indicators, and the catalog direction (a target
of an `increase` indicator is not below its baseline). One surviving reading decides. When several
survive and exactly one of them fills every cell, it is taken (a printed row fills its cells) but
the row is still flagged with the alternatives; otherwise the row is ambiguous and its values stay
empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from planwatch.core.catalog import Catalog
from planwatch.ingest.extract.values import WELL_FORMED_RE

# An indicator the catalog does not know (or no catalog: the extractor run by hand on a bare
# document): the share units are all there is to go by.
UNIT_BOUNDS = {"%": (0.0, 100.0), "‰": (0.0, 1000.0)}


@dataclass(frozen=True)
class ValueRules:
    lower: float | None
    upper: float | None
    integral: bool
    direction: str  # increase | decrease | maintain | '' (unknown)
    source: str


def rules_for(catalog: Catalog | None, code: str, unit: str) -> ValueRules:
    """Bounds in the printed unit: the catalog's effective bounds when the indicator is known, else the unit's."""
    if catalog is not None and code and code in catalog.indicators:
        ind = catalog.indicators[code]
        factor = catalog.convert(1.0, ind.unit, unit) if unit else 1.0
        if factor is not None:
            lower, upper = catalog.effective_bounds(code)
            lo = lower * factor if lower is not None else None
            hi = upper * factor if upper is not None else None
            integral = ind.is_integral and factor == 1.0
            return ValueRules(lo, hi, integral, ind.direction, f"catalog {code}")
        return ValueRules(None, None, False, ind.direction, f"catalog {code} (unit not convertible)")
    lo, hi = UNIT_BOUNDS.get(unit, (None, None))
    return ValueRules(lo, hi, False, "", f"unit {unit}" if unit in UNIT_BOUNDS else "none")


def _printable(piece: str) -> bool:
    """Tables print '16.95', never '16.950': a fraction ending in 0 is not a cut point."""
    return bool(WELL_FORMED_RE.match(piece)) and not ("." in piece and piece.endswith("0"))


def _cuts(digits: str, pieces: int) -> list[list[str]]:
    if pieces == 1:
        return [[digits]] if _printable(digits) else []
    out = []
    for k in range(1, len(digits)):
        head = digits[:k]
        if _printable(head):
            out.extend([head] + rest for rest in _cuts(digits[k:], pieces - 1))
    return out


def readings(digits: str, columns: list[str]) -> list[dict[str, str]]:
    """All assignments of `digits` to `columns`; fewer numbers than columns fill the last ones
    (a row that prints only one number prints its target)."""
    out: list[dict[str, str]] = []
    for pieces in range(len(columns), 0, -1):
        for cut in _cuts(digits, pieces):
            reading = dict.fromkeys(columns, "")
            reading.update(zip(columns[len(columns) - pieces:], cut))
            out.append(reading)
    return out


def violations(reading: dict[str, str], rules: ValueRules) -> list[str]:
    why = []
    nums = {c: float(v) for c, v in reading.items() if v}
    for column, v in nums.items():
        if rules.lower is not None and v < rules.lower:
            why.append(f"{column} {v:g} below {rules.lower:g}")
        if rules.upper is not None and v > rules.upper:
            why.append(f"{column} {v:g} above {rules.upper:g}")
        if rules.integral and v != int(v):
            why.append(f"{column} {v:g} not whole")
    base, target = nums.get("baseline"), nums.get("target")
    if base is not None and target is not None:
        if rules.direction == "increase" and target < base:
            why.append("target below baseline of an increase indicator")
        if rules.direction == "decrease" and target > base:
            why.append("target above baseline of a decrease indicator")
    return why


def show(reading: dict[str, str]) -> str:
    return "/".join(v or "·" for v in reading.values())


def split(digits: str, columns: list[str], rules: ValueRules) -> tuple[dict[str, str], str]:
    """(values, reason): the one reading that fits, or empty values and why no rule decides."""
    all_readings = readings(digits, columns)
    fitting = [r for r in all_readings if not violations(r, rules)]
    names = "/".join(columns)
    if len(fitting) == 1:
        return fitting[0], ""
    # A printed row fills its cells: a reading that leaves a cell empty is only taken when no
    # reading that fills them all fits. The choice is still shown to the reviewer.
    full = [r for r in fitting if all(r.values())]
    if len(full) == 1:
        others = ", ".join(show(r) for r in fitting if r is not full[0])
        return full[0], (f"glued digits '{digits}' cut as {show(full[0])} (every cell filled) rather "
                         f"than {others} ({rules.source})")
    if not fitting:
        return dict.fromkeys(columns, ""), (
            f"no reading of glued digits '{digits}' as {names} fits ({rules.source}): values left empty")
    shown = ", ".join(show(r) for r in fitting)
    return dict.fromkeys(columns, ""), (
        f"glued digits '{digits}' read as {names} have {len(fitting)} fitting readings "
        f"({shown}; rules: {rules.source}): values left empty")
