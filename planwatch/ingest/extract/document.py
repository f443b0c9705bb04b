"""One plan document in, draft rows of the three plan files out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from planwatch.core.catalog import Catalog, normalize_name
from planwatch.core.errors import FileRefused
from planwatch.ingest.extract import cell_per_line, flattened, pipe_table, prose
from planwatch.ingest.extract.cells import FoundTable
from planwatch.ingest.extract.detect import TLayout, detect_layout
from planwatch.ingest.extract.period import default_periods, document_period, table_period
from planwatch.ingest.extract.region import detect_region
from planwatch.ingest.extract.rows import (
    BREAKDOWNS, EXTRA_COLUMN, DocumentInfo, TableRow, completion_dict, indicator_dict, prose_dict,
)
from planwatch.core.plan_periods import PlanPeriod
from planwatch.ingest.extract.values import split_unit_suffix, unit_vocabulary

log = logging.getLogger(__name__)

UNRESOLVED = "indicator name not in the alias table (raw/reference/indicator_aliases.csv): add an alias"


@dataclass
class ExtractResult:
    """Draft rows of one document, in the formats of raw/plan_indicators, raw/plan_completion and
    raw/plan_prose_targets, each row with an extra `ambiguous` column (empty, or the reason)."""

    path: Path
    layout: TLayout
    region_code: str
    region_name: str
    rows: list[dict[str, str]] = field(default_factory=list)
    completion: list[dict[str, str]] = field(default_factory=list)
    prose: list[dict[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, str]]:
        return {"indicators": self.rows, "completion": self.completion, "prose": self.prose}[kind]

    def summary(self, kind: str = "indicators") -> str:
        rows = self.of(kind)
        ambiguous = sum(1 for r in rows if r.get(EXTRA_COLUMN))
        return (f"{self.path.name}: layout {self.layout}, region {self.region_code or '?'}, "
                f"{kind}: {len(rows)} rows found, {ambiguous} ambiguous")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})",
                          "convert the plan document to UTF-8 text") from exc
    except OSError as exc:
        raise FileRefused(str(path), f"cannot be read ({exc.strerror})") from exc


def find_tables(text: str, layout: TLayout, catalog: Catalog | None, region_code: str) -> list[FoundTable]:
    units = unit_vocabulary(catalog)
    lines = text.split("\n")
    if layout == "flattened":
        return flattened.parse(text, units, catalog, region_code)
    if layout == "pipe_table":
        return pipe_table.parse(lines, units)
    if layout == "cell_per_line":
        return cell_per_line.parse(lines, units)
    return []


def finish_row(row: TableRow, table: FoundTable, catalog: Catalog | None, region_code: str,
               units: list[str]) -> None:
    """What every layout shares: unit printed inside the name, years, code, bounds."""
    spec = table.spec
    if not row.unit:
        name, unit = split_unit_suffix(row.indicator_name, units)
        if unit:
            row.indicator_name, row.unit = name, unit
    if spec.has("baseline"):
        row.values["baseline_year"] = spec.baseline_year
    if spec.annual_roles and not row.values.get("target"):
        row.values["target"] = row.values.get(spec.annual_roles[-1], "")
    row.values["target_year"] = spec.target_year
    row.values["baseline_value"] = row.values.get("baseline", "")
    row.values["target_value"] = row.values.get("target", "")
    row.values["actual_value"] = row.values.get("actual", "")
    if catalog is None:
        row.note("no catalog: indicator code not resolved")
        return
    if not row.indicator_code:
        row.indicator_code = catalog.resolve_name(row.indicator_name, region_code) or ""
    if not row.indicator_code:
        row.note(UNRESOLVED)
        return
    ind = catalog.indicators.get(row.indicator_code)
    if ind is None:
        return
    if not row.breakdown:
        row.breakdown = breakdown_of(row.indicator_name, ind.name_zh)
    for column in ("baseline", "target", "actual", *spec.annual_roles):
        text = row.values.get(column, "")
        if not text:
            continue
        value = catalog.convert(float(text), row.unit or ind.unit, ind.unit)
        if value is None:
            continue
        why = catalog.bound_violation(ind.code, value)
        if why:
            row.flag(f"{column}: {why} (misread?)")


def breakdown_of(printed: str, canonical: str) -> str:
    """'urban' for '城市居民最低生活保障率' of the catalog's '最低生活保障率': a name that is the
    canonical (total) indicator qualified by an urban or rural prefix. '城市街道综合性…' of
    '街道(乡镇)综合性…' is not: it names a different population, not a part of the total."""
    name, canon = normalize_name(printed), normalize_name(canonical)
    for prefix, breakdown in BREAKDOWNS.items():
        if name.startswith(prefix) and prefix not in canon and name[len(prefix):].endswith(canon):
            return breakdown
    return ""


def carry_categories(rows: list[TableRow]) -> None:
    """A category cell spans its group: rows below it without one belong to it."""
    current = ""
    for row in rows:
        if row.category:
            current = row.category
        else:
            row.category = current


def place_in_period(table: FoundTable, period: PlanPeriod | None) -> None:
    """Years the table leaves to its period: a yearly-target group printed without its years takes
    the period's, a completion table without a printed target year takes the period's last year."""
    spec = table.spec
    if period is None:
        return
    if spec.yearly_defaulted and len(spec.annual_roles) == len(period.annual_columns()):
        rename = dict(zip(spec.annual_roles, period.annual_columns()))
        spec.roles = [rename.get(r, r) for r in spec.roles]
        for row in table.rows:
            row.values = {rename.get(k, k): v for k, v in row.values.items()}
        spec.target_year = str(period.last_year)
        spec.yearly_defaulted = False
    if spec.kind == "completion" and not spec.target_year:
        spec.target_year = str(period.last_year)


def extract_document(path: Path, catalog: Catalog | None, region_code: str | None = None,
                     periods: list[PlanPeriod] | None = None) -> ExtractResult:
    """Draft rows for a plan document; a document without any table gives no table rows and says so.

    The plan, base, target and annual-target years come from the document: the period it names
    (十五五, 第十五个五年), else each table's target year; `periods` default to raw/reference's."""
    text = read_text(path)
    periods = default_periods() if periods is None else periods
    doc_period = document_period(text, periods)
    layout = detect_layout(text)
    region = catalog.regions.get(region_code) if (catalog and region_code) else None
    if region is None and not region_code:
        region = detect_region(text, catalog)
    code = region.code if region else (region_code or "")
    result = ExtractResult(path=path, layout=layout, region_code=code,
                           region_name=region.name_zh if region else "")
    if not code:
        result.messages.append(
            f"{path.name}: region not recognised from the title (no region_name_zh of "
            f"raw/reference/regions.csv found): pass --region-code")
    doc = DocumentInfo(code, result.region_name, path.name)
    units = unit_vocabulary(catalog)
    tables = find_tables(text, layout, catalog, code)
    if not tables:
        result.messages.append(f"{path.name}: no indicator table found (layout {layout}); "
                               f"only prose targets can be extracted from it")
    for table in tables:
        carry_categories(table.rows)
        period = table_period(table.spec.kind, table.spec.target_year, doc_period, periods)
        place_in_period(table, period)
        if period is None:
            result.messages.append(f"{path.name}: table at {table.header_pos}: plan period not recognised (no "
                                   f"十X五 in the document, target year {table.spec.target_year or 'not printed'} "
                                   f"ends no period of raw/reference/plan_periods.csv): fill in `plan`")
        plan = period.plan if period else ""
        for row in table.rows:
            finish_row(row, table, catalog, code, units)
            if table.spec.kind == "completion":
                result.completion.append(completion_dict(row, doc, plan))
            else:
                annual = period.annual_columns() if period else table.spec.annual_roles
                result.rows.append(indicator_dict(row, doc, plan, annual))
        if not table.rows:
            result.messages.append(f"{path.name}: table header at {table.header_pos} has no rows that "
                                   f"could be read")
    for target in prose.parse(text, units, str(doc_period.last_year) if doc_period else ""):
        if catalog is not None:
            target.indicator_code = catalog.resolve_name(target.indicator_name, code) or ""
            if not target.indicator_code:
                target.notes.append(UNRESOLVED)
        result.prose.append(prose_dict(target, doc, doc_period.plan if doc_period else ""))
    for message in result.messages:
        log.info(message)
    return result
