"""The common row type of every layout parser, and the column sets of the three plan files.

A layout parser produces `TableRow`s (indicator and completion tables) or `ProseTarget`s; the
column lists below are the contract of docs/architecture.md "Plan files", plus `ambiguous`, which
only the extractor writes (reviewed files never carry it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TTableKind = Literal["indicators", "completion"]

INDICATOR_COLUMNS: tuple[str, ...] = (
    "region_code", "region_name", "plan", "seq", "category", "indicator_name", "unit",
    "baseline_year", "baseline_value", "target_year", "target_value", "attribute",
    "target_2021", "target_2022", "target_2023", "target_2024", "target_2025", "breakdown",
    "source_doc", "source_line", "indicator_code", "notes",
)
COMPLETION_COLUMNS: tuple[str, ...] = (
    "region_code", "region_name", "plan", "seq", "category", "indicator_name", "unit",
    "target_year", "target_value", "actual_value", "attribute", "breakdown",
    "source_doc", "source_line", "indicator_code", "notes", "baseline_year", "baseline_value",
)
PROSE_COLUMNS: tuple[str, ...] = (
    "region_code", "region_name", "plan", "indicator_name", "unit", "target_year", "target_value",
    "comparator", "quote", "source_doc", "source_line", "indicator_code", "notes",
)
EXTRA_COLUMN = "ambiguous"
# Review columns at the end of the reviewed files, optional (a file without them reads them empty):
# the unit the reviewer reads where the printed one cannot be right (张 printed for beds per 1000
# older persons, 万人 for a per-10,000 rate), with the reason; and, for indicator rows, the kind of
# target (stock, annual_flow, cumulative) of indicator and prose rows. Printed values and units are never changed.
REVIEW_COLUMNS: tuple[str, ...] = ("unit_as_read", "unit_note")
INDICATOR_REVIEW_COLUMNS: tuple[str, ...] = REVIEW_COLUMNS + ("target_kind",)

# Wording that makes a target a total over the plan period (national tables print such totals in [ ]).
CUMULATIVE_WORDING = ("累计", "新增", "五年", "期间", "[")
PER_YEAR_WORDING = ("每年", "年均")


def propose_target_kind(*texts: str) -> str:
    """The extractor's proposal for `target_kind` from the printed wording (name, quote, value):
    'annual_flow' for 每年/年均, 'cumulative' for 累计/新增/五年/期间/[…], '' otherwise (the catalog's
    default then applies). The reviewer confirms it (raw/plan_indicators/README.md)."""
    text = " ".join(texts)
    if any(word in text for word in PER_YEAR_WORDING):
        return "annual_flow"
    if any(word in text for word in CUMULATIVE_WORDING):
        return "cumulative"
    return ""


YEARLY = ("target_2021", "target_2022", "target_2023", "target_2024", "target_2025")
ATTRIBUTES = {"约束性": "binding", "预期性": "expected"}
BREAKDOWNS = {"城市": "urban", "城镇": "urban", "农村": "rural"}


@dataclass
class TableRow:
    """One printed row of a plan table, values as printed ('' where the document has none)."""

    kind: TTableKind
    source_line: int
    seq: str = ""
    category: str = ""
    indicator_name: str = ""
    unit: str = ""
    values: dict[str, str] = field(default_factory=dict)  # column name -> printed value
    attribute: str = ""
    breakdown: str = ""
    indicator_code: str = ""
    notes: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    def flag(self, reason: str) -> None:
        if reason not in self.ambiguous:
            self.ambiguous.append(reason)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class ProseTarget:
    """One target stated in running text ('城乡居民最低生活保障标准达到14000元/年')."""

    source_line: int
    indicator_name: str
    unit: str
    target_year: str
    target_value: str
    comparator: str
    quote: str
    indicator_code: str = ""
    notes: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentInfo:
    """What every output row repeats about its document."""

    region_code: str
    region_name: str
    source_doc: str


def _common(doc: DocumentInfo, plan: str) -> dict[str, str]:
    return {"region_code": doc.region_code, "region_name": doc.region_name, "plan": plan,
            "source_doc": doc.source_doc}


def with_annual_columns(columns: tuple[str, ...], annual: list[str]) -> tuple[str, ...]:
    """`columns` with its `target_YYYY` block replaced by `annual` (the years of the plan's period)."""
    if not annual:
        return columns
    first = next((i for i, c in enumerate(columns) if c in YEARLY), len(columns))
    rest = [c for c in columns if c not in YEARLY]
    return tuple(rest[:first] + list(annual) + rest[first:])


def _table_row_dict(row: TableRow, doc: DocumentInfo, plan: str, columns: tuple[str, ...]) -> dict[str, str]:
    out = dict.fromkeys(columns, "")
    out.update(_common(doc, plan))
    out.update(seq=row.seq, category=row.category, indicator_name=row.indicator_name, unit=row.unit,
               attribute=row.attribute, breakdown=row.breakdown, source_line=str(row.source_line),
               indicator_code=row.indicator_code, notes="; ".join(row.notes))
    for column, value in row.values.items():
        if column in out:
            out[column] = value
    out[EXTRA_COLUMN] = "; ".join(row.ambiguous)
    return out


def indicator_dict(row: TableRow, doc: DocumentInfo, plan: str, annual: list[str] | None = None) -> dict[str, str]:
    """`annual`: the plan period's `target_YYYY` columns (default: the shared column list's)."""
    out = _table_row_dict(row, doc, plan, with_annual_columns(INDICATOR_COLUMNS, annual or []) + INDICATOR_REVIEW_COLUMNS)
    out["target_kind"] = propose_target_kind(row.indicator_name, *row.values.values())
    return out


def completion_dict(row: TableRow, doc: DocumentInfo, plan: str) -> dict[str, str]:
    return _table_row_dict(row, doc, plan, COMPLETION_COLUMNS + REVIEW_COLUMNS)


def prose_dict(target: ProseTarget, doc: DocumentInfo, plan: str) -> dict[str, str]:
    out = dict.fromkeys(PROSE_COLUMNS + INDICATOR_REVIEW_COLUMNS, "")
    out.update(_common(doc, plan))
    out.update(indicator_name=target.indicator_name, unit=target.unit, target_year=target.target_year,
               target_value=target.target_value, comparator=target.comparator, quote=target.quote,
               source_line=str(target.source_line), indicator_code=target.indicator_code,
               notes="; ".join(target.notes))
    out["target_kind"] = propose_target_kind(target.indicator_name, target.quote)
    out[EXTRA_COLUMN] = "; ".join(target.ambiguous)
    return out
