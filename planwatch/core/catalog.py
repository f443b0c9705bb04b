"""The canonical indicator catalog: indicators, the names plans print for them, units and regions.

This is the single home of every bound and unit rule: the loader converts and the checks judge
with the same `Catalog` object, read from `raw/reference/`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from planwatch.core.errors import ConfigError
from planwatch.core.normalize import parse_bool, ratio_scale

REFERENCE_FILES = ("indicators.csv", "indicator_aliases.csv", "units.csv", "regions.csv")


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    domain: str
    unit: str
    kind: str
    measure: str
    direction: str
    lower_bound: float | None
    upper_bound: float | None
    is_integral: bool
    has_components: bool


@dataclass(frozen=True)
class Unit:
    unit: str
    dimension: str
    factor: float


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    level: str
    parent_code: str
    is_simulated: bool


def _float(text: str | None) -> float | None:
    t = (text or "").strip()
    return float(t) if t else None


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise ConfigError(f"`file={path}` is missing: the catalog needs {', '.join(REFERENCE_FILES)} in {path.parent}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def normalize_name(name: str) -> str:
    """The form in which printed names are compared: no whitespace, full-width brackets as ASCII."""
    table = str.maketrans({"（": "(", "）": ")", "“": '"', "”": '"', "　": ""})
    return "".join(name.translate(table).split())


@dataclass
class Catalog:
    indicators: dict[str, Indicator]
    aliases: dict[tuple[str, str], str]  # (normalized name, region_code or "") -> code
    units: dict[str, Unit]
    regions: dict[str, Region]

    @classmethod
    def load(cls, reference_dir: Path) -> "Catalog":
        indicators = {}
        for r in _read(reference_dir / "indicators.csv"):
            indicators[r["indicator_code"]] = Indicator(
                code=r["indicator_code"], name_zh=r["name_zh"], name_en=r["name_en"],
                domain=r.get("domain", ""), unit=r["unit"], kind=r["kind"], measure=r["measure"],
                direction=r["direction"], lower_bound=_float(r.get("lower_bound")),
                upper_bound=_float(r.get("upper_bound")), is_integral=parse_bool(r.get("is_integral")),
                has_components=parse_bool(r.get("has_components")),
            )
        aliases: dict[tuple[str, str], str] = {}
        for r in _read(reference_dir / "indicator_aliases.csv"):
            aliases[(normalize_name(r["alias"]), r.get("region_code", ""))] = r["indicator_code"]
        for ind in indicators.values():
            aliases.setdefault((normalize_name(ind.name_zh), ""), ind.code)
        units = {
            r["unit"]: Unit(r["unit"], r["dimension"], float(r["factor"]))
            for r in _read(reference_dir / "units.csv")
        }
        regions = {
            r["region_code"]: Region(
                code=r["region_code"], name_zh=r["region_name_zh"], name_en=r["region_name_en"],
                level=r.get("level", ""), parent_code=r.get("parent_code", ""),
                is_simulated=parse_bool(r.get("is_simulated")),
            )
            for r in _read(reference_dir / "regions.csv")
        }
        return cls(indicators, aliases, units, regions)

    def resolve_name(self, name: str, region_code: str = "") -> str | None:
        """The indicator code for a printed name, preferring a region-specific alias."""
        key = normalize_name(name)
        return self.aliases.get((key, region_code)) or self.aliases.get((key, ""))

    def convert(self, value: float, from_unit: str, to_unit: str) -> float | None:
        """`value` in `to_unit`, or None when the units are unknown or of different dimensions."""
        if from_unit == to_unit:
            return value
        a, b = self.units.get(from_unit), self.units.get(to_unit)
        if a is None or b is None or a.dimension != b.dimension:
            return None
        return value * a.factor / b.factor

    def effective_bounds(self, code: str) -> tuple[float | None, float | None]:
        """The catalog's bounds of `code`; where one is empty, the unit decides: a share lies in
        [0, 100] percent (0–1000 per mille), counts and amounts are never negative.

        The loader writes them to raw.indicator_rules (`rule_rows`), where dbt and the checks read them.
        """
        ind = self.indicators[code]
        share_scale = self.share_scale(code)
        lower = ind.lower_bound
        if lower is None and (share_scale is not None or ind.kind in ("count", "amount")):
            lower = 0.0
        upper = ind.upper_bound
        if upper is None and share_scale is not None:
            upper = share_scale  # a share is at most the whole: numerator / denominator = 1
        return lower, upper

    def share_scale(self, code: str) -> float | None:
        """What numerator / denominator is multiplied by to give indicator `code`'s share in its unit
        (`%` 100, `‰` 1000); None when its unit is not a share (dimension `share` in units.csv).

        The factor is normalize.ratio_scale, the loader's, so a share is scaled one way everywhere;
        tests/planwatch/core/test_catalog.py pins it to 100 / factor of every share unit.
        """
        ind = self.indicators[code]
        unit = self.units.get(ind.unit)
        if unit is None or unit.dimension != "share":
            return None
        return ratio_scale(ind.unit)

    def rule_rows(self) -> list[dict[str, object]]:
        """raw.indicator_rules: per indicator, what a value must satisfy, derived here once for dbt,
        the checks and the loader: effective bounds, whether whole, the share scale of its unit."""
        rows: list[dict[str, object]] = []
        for code in sorted(self.indicators):
            ind = self.indicators[code]
            lower, upper = self.effective_bounds(code)
            rows.append({"indicator_code": code, "unit": ind.unit, "lower_bound": lower, "upper_bound": upper,
                         "is_integral": ind.is_integral, "share_scale": self.share_scale(code)})
        return rows

    def conversion_rows(self) -> list[dict[str, object]]:
        """raw.unit_conversions: v_to = v_from × factor for every pair of units `convert` can convert
        (one dimension), each unit to itself included (also an indicator's unit missing from units.csv)."""
        rows: list[dict[str, object]] = []
        for a in sorted(self.units.values(), key=lambda u: u.unit):
            for b in sorted(self.units.values(), key=lambda u: u.unit):
                if a.dimension == b.dimension:
                    # the ratio of the factors, as SQL computed it from the same two numbers
                    factor = 1.0 if a.unit == b.unit else a.factor / b.factor
                    rows.append({"from_unit": a.unit, "to_unit": b.unit, "factor": factor})
        for unit in sorted({ind.unit for ind in self.indicators.values()} - set(self.units)):
            rows.append({"from_unit": unit, "to_unit": unit, "factor": 1.0})
        return rows

    def bound_violation(self, code: str, value: float) -> str | None:
        """Why `value` is implausible for indicator `code`, or None when it is within its bounds."""
        ind = self.indicators[code]
        if math.isnan(value) or math.isinf(value):
            return f"value {value} is not a finite number"
        lower, upper = self.effective_bounds(code)
        if lower is not None and value < lower:
            return f"value {value:g} {ind.unit} is below the lower bound {lower:g} of {code}"
        if upper is not None and value > upper:
            return f"value {value:g} {ind.unit} is above the upper bound {upper:g} of {code}"
        if ind.is_integral and value != int(value):
            return f"value {value:g} of count indicator {code} is not a whole number"
        return None
