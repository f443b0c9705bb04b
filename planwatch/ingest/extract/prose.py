"""Layout 'prose': targets stated in sentences ('…城乡居民最低生活保障标准达到14000元/年…').

Only text from the first goals heading ('主要目标', '发展目标') to the end counts: the background
before it states past results with the same verbs. Two sentence shapes are read:

* name + verb + value + unit, e.g. '覆盖率达到90%', '不低于低保标准1.3倍' (a short object may sit
  between the verb and the number);
* a rate name + value + unit + 以上/以下 without a verb, e.g. '动态精准率99%以上'.

The name is the clause before the verb (from the last comma, full stop or semicolon). The target
year is the nearest '到YYYY年' / 'YYYY年底前' earlier in the same sentence, else the last year of the
document's plan period (planwatch.ingest.extract.period). A redacted
value ('达到*%') gives a row with an empty target_value.
"""

from __future__ import annotations

import re

from planwatch.ingest.extract.rows import ProseTarget

GOAL_HEADING_RE = re.compile(r"主要目标|发展目标")
COMPARATORS = {
    "达到": ">=", "达": ">=", "提高到": ">=", "提升到": ">=", "增加到": ">=", "增长到": ">=", "增至": ">=",
    "不低于": ">=", "不少于": ">=", "超过": ">=", "突破": ">=",
    "不超过": "<=", "不高于": "<=", "控制在": "<=", "降至": "<=", "降低到": "<=",
    "保持在": "=", "稳定在": "=",
}
SUFFIX_COMPARATORS = {"以上": ">=", "以下": "<=", "以内": "<="}
CLAUSE_DELIMS = "，,。;；:：!！?？"
RATE_NAME_END = "(?:率|比例|占比|水平)"
YEAR_RE = re.compile(r"到(20\d\d)年|(20\d\d)年(?:底|末)?前")
LEADING_RE = re.compile(r"^(?:到20\d\d年(?:底|末)?|20\d\d年(?:底|末)?前|其中|力争|并|实现|按照|确保|各地)+")


def _patterns(units: list[str]) -> list[re.Pattern[str]]:
    verbs = "|".join(sorted(COMPARATORS, key=len, reverse=True))
    unit_alt = "|".join(re.escape(u) for u in units)
    name = rf"(?P<name>[^{CLAUSE_DELIMS}\d]{{2,40}}?)"
    value = r"(?P<value>\d+(?:\.\d+)?|\*+)"
    tail = rf"(?P<unit>{unit_alt})?(?P<suffix>以上|以下|以内)?"
    return [
        re.compile(rf"{name}(?P<verb>{verbs})(?P<object>[^{CLAUSE_DELIMS}\d*]{{0,10}}?){value}{tail}"),
        re.compile(rf"(?P<name>[^{CLAUSE_DELIMS}\d]{{2,40}}?{RATE_NAME_END}){value}"
                   rf"(?P<unit>{unit_alt})(?P<suffix>以上|以下)"),
    ]


def goal_start(text: str) -> int | None:
    m = GOAL_HEADING_RE.search(text)
    return m.start() if m else None


def parse(text: str, units: list[str], default_year: str = "") -> list[ProseTarget]:
    start = goal_start(text)
    if start is None:
        return []
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    one_line = len(line_starts) <= 2 and len(text) > 2000
    found: dict[int, ProseTarget] = {}
    for pattern in _patterns(units):
        for m in pattern.finditer(text, start):
            raw_name = m.group("name")
            name = LEADING_RE.sub("", raw_name).strip()
            if len(name) < 2 or "%" in name:
                continue
            name_at = m.start("name") + raw_name.find(name)
            if name_at in found:
                continue
            sentence_start = max(text.rfind("。", 0, name_at), text.rfind("\n", 0, name_at)) + 1
            years = list(YEAR_RE.finditer(text, sentence_start, name_at))
            year = (years[-1].group(1) or years[-1].group(2)) if years else default_year
            verb = m.groupdict().get("verb") or ""
            comparator = SUFFIX_COMPARATORS.get(m.group("suffix") or "", COMPARATORS.get(verb, ">="))
            value = m.group("value")
            if one_line:
                pos = name_at
            else:
                pos = next(i for i in range(len(line_starts), 0, -1) if line_starts[i - 1] <= name_at)
            target = ProseTarget(
                source_line=pos, indicator_name=name, unit=m.group("unit") or "", target_year=year,
                target_value="" if "*" in value else value, comparator=comparator,
                quote=text[name_at:m.end()],
            )
            if "*" in value:
                target.ambiguous.append("value redacted (*) in the document: target left empty")
            if not target.unit:
                target.ambiguous.append("no unit printed after the value")
            found[name_at] = target
    return [found[k] for k in sorted(found)]
