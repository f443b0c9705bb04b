"""Printed values and units: what counts as a number, a unit, a missing value, a header word."""

from __future__ import annotations

import re

from planwatch.core.catalog import Catalog

MISSING = {"--", "-", "—", "——", "－－", "*", "/", "—-"}
NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$")
# A well-formed printed number: no leading zero unless the integer part is 0, no trailing dot.
WELL_FORMED_RE = re.compile(r"^(?:0|[1-9]\d*)(?:\.\d+)?$")

# Units seen in civil-affairs plan tables; the catalog's units.csv adds to these.
BUILTIN_UNITS = (
    "%", "‰", "个", "张", "人", "万人", "户", "家", "元", "万元", "亿元", "元/月", "元/年", "元/人·月",
    "元/人/月", "元/人·年", "平方米", "名", "所", "处", "项", "次", "人次", "万人次", "张/千人", "张/千名老人",
    "平方米/百户", "人/万人", "个/万人",
)

def is_number(text: str) -> bool:
    return bool(NUMBER_RE.match(text.strip()))


def is_missing(text: str) -> bool:
    return text.strip() in MISSING


def unit_vocabulary(catalog: Catalog | None) -> list[str]:
    """Every unit spelling we recognise, longest first (so '万人' wins over '人' in a suffix match)."""
    units = set(BUILTIN_UNITS)
    if catalog is not None:
        units.update(u for u in catalog.units if u)
    return sorted(units, key=len, reverse=True)


def clean_value(text: str) -> str:
    """The printed value, or '' for empty, '--' and redacted '*' cells (never filled in)."""
    t = text.strip().replace(",", "")
    if not t or is_missing(t) or "*" in t:
        return ""
    return t


def split_unit_suffix(text: str, units: list[str]) -> tuple[str, str]:
    """('接受居家上门服务老人数占比', '%') for '接受居家上门服务老人数占比(%' or '…(%)' or '…（户）'."""
    m = re.match(r"^(.*?)[（(]\s*([^()（）]{1,8}?)\s*[)）]?\s*$", text)
    if m and m.group(1) and m.group(2) in units:
        return m.group(1), m.group(2)
    return text, ""
