"""Find the shape of a submission as it really arrives: which row is the header, what its Chinese
column names mean, and, for a file without region or period columns (a planwatch form, or the
"wide" layout of a statistical report: 指标名称 / 计量单位 / 本期), which region and period it is for.

Nothing here reads or changes a figure: it only decides which cells are which. Every decision that
is not the plain long CSV is returned as a note, which the loader stores in each row's `mapped`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from planwatch.core.normalize import to_halfwidth

# Column names as Chinese statistical reports and planwatch forms print them.
HEADER_ALIASES = {
    "地区代码": "region_code", "行政区划代码": "region_code", "区划代码": "region_code",
    "报告期": "period", "统计期": "period", "时期": "period",
    "指标代码": "indicator_code", "指标编码": "indicator_code",
    "指标名称": "indicator_name", "指标": "indicator_name",
    "分组": "breakdown", "城乡": "breakdown",
    "本期": "value", "本期数": "value", "本期值": "value", "本季度": "value", "数值": "value",
    "计量单位": "unit", "单位": "unit",
    "分子": "numerator", "分母": "denominator",
    "填报日期": "reported_on", "报送日期": "reported_on",
    "填报单位": "source", "来源": "source",
}
# The first rows searched for a header; rows above it must look like titles (few cells filled).
MAX_TITLE_ROWS = 10
MAX_TITLE_CELLS = 3

FORM_SHEET = "_form"  # the hidden sheet of a planwatch form (planwatch.ingest.forms)

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_TITLE = re.compile(r"(\d{4})\s*年\s*(?:第\s*)?([一二三四1-4])\s*季度")
_MONTHS_TITLE = re.compile(r"(\d{4})\s*年\s*(?:1|一)\s*[-—–~至到]\s*(\d{1,2}|[一二三四五六七八九十]+)\s*月")
_YEAR_TITLE = re.compile(r"(\d{4})\s*年\s*(?:度|年报|全年)")
_CN_MONTH = {"三": 3, "六": 6, "九": 9, "十二": 12}


def canonical_column(cell: str) -> str:
    """A header cell as a column name: `Region Code` → `region_code`, `本期` → `value`,
    `本期\\nvalue` (a bilingual form header, one name per line) → `value`; unknown names stay as they are."""
    text = to_halfwidth(cell).replace("\ufeff", "").strip()
    name = "_".join(text.lower().split())
    if name in HEADER_ALIASES:
        return HEADER_ALIASES[name]
    if "\n" in text:
        for line in text.splitlines():
            line_name = "_".join(line.lower().split())
            if line_name in HEADER_ALIASES:
                return HEADER_ALIASES[line_name]
            if line_name in CANONICAL_COLUMNS:
                return line_name
    return name


CANONICAL_COLUMNS = {"region_code", "period", "indicator_code", "indicator_name", "breakdown", "value", "unit",
              "numerator", "denominator", "reported_on", "source"}


def is_header(cells: list[str]) -> bool:
    names = {canonical_column(c) for c in cells if c}
    return {"value", "unit"} <= names and bool(names & {"indicator_code", "indicator_name"})


def find_header(rows: list[list[str]]) -> int:
    """Index of the header row among the first rows: 0 unless title rows (each with at most
    MAX_TITLE_CELLS cells filled) stand above a recognisable header."""
    for i, cells in enumerate(rows[:MAX_TITLE_ROWS + 1]):
        if is_header(cells):
            return i
        if sum(1 for c in cells if c.strip()) > MAX_TITLE_CELLS:
            return 0
    return 0


@dataclass
class Identity:
    """Region and period of a file without those columns, and how they were found."""

    region_code: str | None = None
    period: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def period_from_title(text: str) -> str | None:
    """`2024年第一季度…` → 2024Q1, `2024年1-6月` → 2024Q2, `2024年度…` → 2024; None when the title names none."""
    t = to_halfwidth(text)
    m = _QUARTER_TITLE.search(t)
    if m:
        return f"{m.group(1)}Q{_CN_DIGITS[m.group(2)]}"
    m = _MONTHS_TITLE.search(t)
    if m:
        month = int(m.group(2)) if m.group(2).isdigit() else _CN_MONTH.get(m.group(2), 0)
        if month in (3, 6, 9, 12):
            return f"{m.group(1)}Q{month // 3}"
        return None
    m = _YEAR_TITLE.search(t)
    return m.group(1) if m else None


def regions_in_title(text: str, region_names: dict[str, str]) -> set[str]:
    """Codes of the regions whose Chinese name appears in `text`. A title naming a city and its county
    (泉州市晋江市) gives two: the caller refuses rather than guess which one the figures are for."""
    return {code for name, code in region_names.items() if name and name in text}


def identity_from_titles(titles: list[str], region_names: dict[str, str]) -> Identity:
    """Region and period from the title rows of a report; problems say what could not be decided."""
    ident = Identity()
    text = " ".join(titles)
    periods = {p for p in (period_from_title(t) for t in titles) if p}
    if len(periods) == 1:
        ident.period = periods.pop()
        ident.notes.append(f"period {ident.period} from the title row")
    elif periods:
        ident.problems.append(f"the title rows name several periods ({', '.join(sorted(periods))})")
    codes = regions_in_title(text, region_names)
    if len(codes) == 1:
        ident.region_code = codes.pop()
        ident.notes.append(f"region {ident.region_code} from the title row")
    elif codes:
        ident.problems.append(f"the title rows name several regions ({', '.join(sorted(codes))})")
    return ident


def identity_from_form(cells: list[list[str]]) -> Identity:
    """Region and period from the hidden sheet of a planwatch form (key, value rows)."""
    values = {row[0].strip(): (row[1].strip() if len(row) > 1 else "") for row in cells if row and row[0]}
    ident = Identity(values.get("region_code") or None, values.get("period") or None)
    ident.notes.append(f"form {values.get('form_id', '?')} version {values.get('form_version', '?')}")
    return ident
