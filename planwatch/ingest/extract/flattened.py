"""Layout 'flattened': a table pasted into running text, every cell glued to the next
('…比例%5570约束性6城市街道…').

Rows end at the attribute word (约束性/预期性). Before it: an optional category, the sequence
number (when the table has one), the name, the unit and the value digits; after it, in completion
tables, the completion value. Category and unit boundaries are found with the catalog's alias table
and unit list; glued digits are cut by `glued.split`. Positions are 0-based character offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planwatch.core.catalog import Catalog
from planwatch.ingest.extract.cells import FoundTable
from planwatch.ingest.extract.glued import rules_for, split
from planwatch.ingest.extract.header import HEADER_TOKEN, TableSpec, parse_header
from planwatch.ingest.extract.rows import ATTRIBUTES, BREAKDOWNS, TableRow

ATTRIBUTE_RE = re.compile("|".join(ATTRIBUTES))
STOP_RE = re.compile(r"[,，。;；:：!！?？]")
MAX_SEGMENT = 80
BREAKDOWN_WORDS = "|".join(BREAKDOWNS)
VALUE_RE = rf"(?:{BREAKDOWN_WORDS})?(?:\d[\d.]*|--|\*)"
TAIL_RE = re.compile(rf"((?:{VALUE_RE})+)$")
HEAD_RE = re.compile(rf"((?:{VALUE_RE})+)")  # used with .match(text, pos)
NAME_STARTS = ("指标名称", "主要指标", "项目和指标")
ROW_PREFIX_TOKENS = ("序号", "类别", "领域")


@dataclass
class Resolver:
    """Looks up printed names in the catalog (None when there is no catalog)."""

    catalog: Catalog | None
    region_code: str

    def code(self, name: str) -> str:
        if self.catalog is None or not name:
            return ""
        return self.catalog.resolve_name(name, self.region_code) or ""


def find_headers(text: str) -> list[tuple[int, int, TableSpec]]:
    """(start, end, spec) of every table header in the text."""
    found = []
    run_re = re.compile(f"(?:{HEADER_TOKEN.pattern}){{3,}}")
    for m in run_re.finditer(text):
        tokens = [(t.start(), t.group()) for t in HEADER_TOKEN.finditer(text, m.start(), m.end())]
        names = [k for k, (_, tok) in enumerate(tokens) if tok in NAME_STARTS]
        if not names:
            continue
        first = names[-1]
        while first > 0 and tokens[first - 1][1] in ROW_PREFIX_TOKENS:
            first -= 1
        start = tokens[first][0]
        title_start = max(text.rfind("表", 0, start), start - 60, 0)
        spec = parse_header(text[start:m.end()], text[title_start:start])
        if spec is not None and spec.has("attribute"):
            found.append((start, m.end(), spec))
    return found


def _split_unit(rest: str, units: list[str], resolver: Resolver) -> tuple[str, str]:
    """(name, unit) for 'name+unit': prefer the split whose name the catalog knows, then the
    longest unit."""
    options = [(rest[: -len(u)], u) for u in units if rest.endswith(u) and len(rest) > len(u)]
    options.append((rest, ""))
    for name, unit in options:
        if resolver.code(name):
            return name, unit
    return options[0]


def _split_category(text: str, resolver: Resolver) -> tuple[str, str]:
    """('养老服务', '每千名老人拥有养老床位数') when the catalog knows the rest but not the whole."""
    if resolver.code(text):
        return "", text
    for k in range(2, min(len(text) - 2, 12)):
        if resolver.code(text[k:]):
            return text[:k], text[k:]
    return "", text


def _values(glob: str) -> list[tuple[str, str]]:
    """[(breakdown, value)] of '城市80农村40' or [('', '680')] of '680'."""
    parts = re.findall(rf"({BREAKDOWN_WORDS})?(\d[\d.]*|--|\*)", glob)
    return [(BREAKDOWNS.get(b, ""), v) for b, v in parts]


def parse(text: str, units: list[str], catalog: Catalog | None, region_code: str) -> list[FoundTable]:
    resolver = Resolver(catalog, region_code)
    tables = []
    for start, end, spec in find_headers(text):
        rows = _rows(text, end, spec, units, resolver)
        tables.append(FoundTable(spec, rows, start))
    return tables


def _rows(text: str, pos: int, spec: TableSpec, units: list[str], resolver: Resolver) -> list[TableRow]:
    rows: list[TableRow] = []
    roles = spec.roles
    att = roles.index("attribute")
    before = [r for r in roles[:att] if r in spec.value_roles]
    after = [r for r in roles[att + 1:] if r in spec.value_roles]
    expected_seq = 1
    while True:
        m = ATTRIBUTE_RE.search(text, pos)
        if m is None:
            break
        segment = text[pos:m.start()]
        if STOP_RE.search(segment) or len(segment) > MAX_SEGMENT or not segment:
            break
        seg_start = pos
        category = seq = ""
        if spec.has("seq"):
            sm = re.search(rf"(?<![\d.]){expected_seq}(?=[^\d.%])", segment)
            if sm is None:
                break
            category, seq = segment[:sm.start()], str(expected_seq)
            body_start = sm.end()
        else:
            body_start = 0
        body = segment[body_start:]
        tail = TAIL_RE.search(body) if before else None
        glob = tail.group(1) if tail else ""
        name_unit = body[: len(body) - len(glob)]
        name, unit = _split_unit(name_unit, units, resolver)
        if not spec.has("seq"):
            extra, name = _split_category(name, resolver)
            category = category or extra
        pos = m.end()
        post: list[tuple[str, str]] = []
        if after:
            hm = HEAD_RE.match(text, pos)
            if hm:
                post = _values(hm.group(1))
                pos = hm.end()
        pre = _values(glob) if glob else []
        breakdowns = [b for b, _ in pre if b] or [b for b, _ in post if b]
        # the name's own offset: after the sequence number and any category glued before it
        name_pos = seg_start + body_start + name_unit.find(name.strip())
        for k, breakdown in enumerate(breakdowns or [""]):
            row = TableRow(kind=spec.kind, source_line=name_pos, seq=seq, category=category.strip(),
                           indicator_name=name.strip(), unit=unit, attribute=ATTRIBUTES[m.group()],
                           breakdown=breakdown)
            row.indicator_code = resolver.code(row.indicator_name)
            if breakdowns:
                pre_v = [v for b, v in pre if b == breakdown]
                post_v = [v for b, v in post if b == breakdown]
            else:
                pre_v = [v for _, v in pre]
                post_v = [v for _, v in post]
            _place(row, before, pre_v, glob, resolver)
            _place(row, after, post_v, "", resolver)
            rows.append(row)
        expected_seq += 1
    return rows


def _place(row: TableRow, columns: list[str], values: list[str], glob: str, resolver: Resolver) -> None:
    if not columns:
        return
    if len(values) == len(columns):
        row.values.update(zip(columns, values))
        return
    if len(values) == 1 and len(columns) > 1 and not row.breakdown:
        rules = rules_for(resolver.catalog, row.indicator_code, row.unit)
        chosen, reason = split(values[0], columns, rules)
        row.values.update(chosen)
        if reason:
            row.flag(reason)
        elif sum(1 for v in chosen.values() if v) < len(columns):
            row.flag(f"one value for {len(columns)} columns ({', '.join(columns)}): read as the target")
        else:
            row.note(f"glued digits '{values[0]}' cut as {'/'.join(chosen.values())} ({rules.source})")
        return
    row.flag(f"{len(values)} values for {len(columns)} columns ({', '.join(columns)}): values left empty")
