"""Layout 'prose': targets stated in sentences of the goals section
('…城乡居民最低生活保障标准达到14000元/年…').

Only the goals section counts (from a heading such as '“十四五”时期主要目标' or '发展目标' to the
next chapter), because the background section states past results with the same verbs. A redacted
value ('达到*%') is kept as a row with an empty target_value.
"""

from __future__ import annotations

import re

from planwatch.extract.rows import ProseTarget

GOAL_HEADING_RE = re.compile(r"(?:十四五.{0,3}时期)?(?:主要目标|发展目标)")
NEXT_CHAPTER_RE = re.compile(r"(?:^|[。\s])(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+章)")
COMPARATORS = {
    "达到": ">=", "提高到": ">=", "提升到": ">=", "增加到": ">=", "增长到": ">=", "增至": ">=",
    "不低于": ">=", "不少于": ">=", "超过": ">=", "力争达到": ">=",
    "不超过": "<=", "不高于": "<=", "控制在": "<=", "降至": "<=", "降低到": "<=",
    "保持在": "=", "稳定在": "=",
}
SUFFIX_COMPARATORS = {"以上": ">=", "以下": "<=", "以内": "<="}
DELIMS = "，,。;；:：、!！?？“”\"()（）"


def _target_re(units: list[str]) -> re.Pattern[str]:
    verbs = "|".join(sorted(COMPARATORS, key=len, reverse=True))
    unit_alt = "|".join(re.escape(u) for u in units)
    return re.compile(
        rf"(?P<name>[^{DELIMS}]{{2,40}}?)(?P<verb>{verbs})"
        rf"(?P<value>\d+(?:\.\d+)?|\*+)(?P<unit>{unit_alt})?(?P<suffix>以上|以下|以内|左右)?"
    )


def goal_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each goals section: from its heading to the next chapter heading."""
    spans = []
    for m in GOAL_HEADING_RE.finditer(text):
        nxt = NEXT_CHAPTER_RE.search(text, m.end())
        end = nxt.start() if nxt else len(text)
        if spans and m.start() < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((m.start(), end))
    return spans


def parse(text: str, units: list[str], default_year: str = "2025") -> list[ProseTarget]:
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    pattern = _target_re(units)
    targets: list[ProseTarget] = []
    for start, end in goal_spans(text):
        for m in pattern.finditer(text, start, end):
            name = re.sub(r"^(?:到20\d\d年(?:底|末)?|力争|全市|其中)", "", m.group("name")).strip()
            if len(name) < 2:
                continue
            year_m = re.search(r"到(20\d\d)年", text[max(start, m.start() - 40):m.start()])
            comparator = SUFFIX_COMPARATORS.get(m.group("suffix") or "", COMPARATORS[m.group("verb")])
            value = m.group("value")
            quote_start = m.start("name") + m.group("name").find(name)
            line = next(i for i in range(len(line_starts), 0, -1) if line_starts[i - 1] <= quote_start)
            target = ProseTarget(
                source_line=line, indicator_name=name, unit=m.group("unit") or "",
                target_year=year_m.group(1) if year_m else default_year,
                target_value="" if "*" in value else value, comparator=comparator,
                quote=text[quote_start:m.end()],
            )
            if "*" in value:
                target.notes.append("value redacted in the document")
            targets.append(target)
    return targets
