"""Table headers: which column is which, read from the header words in printed order.

The same vocabulary serves the three table layouts; a header broken over several cells
('2020' + '年值', '指标' + '属性') is read from the concatenation of its cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from planwatch.ingest.extract.rows import YEARLY, TTableKind
from planwatch.core.plan_periods import ANNUAL_COLUMN

HEADER_TOKEN = re.compile(
    r"序号|领域|类别|指标名称|主要指标|项目和指标|计量单位|单位|指标属性|属性|备注"
    r"|\d{4}(?=年度目标值)|年度目标值"
    r"|\d{4}年?(?:期初值|预计值实际值|预计值|实际值|目标值|完成值|完成情况|年值|值)?"
    r"|目标值|目标|完成情况|完成值|预计值|实际值|年值|指标"
)
HEADER_RUN = re.compile(f"(?:{HEADER_TOKEN.pattern})+")
# Cells that open a table header.
HEADER_STARTS = {"序号", "领域", "类别", "指标名称", "主要指标", "项目和指标"}
VALUE_ROLES = ("baseline", "target", "actual")


def is_value_role(role: str) -> bool:
    """baseline, target, actual, or an annual target `target_YYYY` of any year."""
    return role in VALUE_ROLES or ANNUAL_COLUMN.match(role) is not None


@dataclass
class TableSpec:
    """Column roles in printed order: seq, category, name, unit, baseline, target, target_20xx,
    actual, attribute, remark."""

    roles: list[str]
    baseline_year: str = ""
    target_year: str = ""
    title: str = ""
    notes: list[str] = field(default_factory=list)
    # a yearly-target group printed without its years: placeholder columns, renamed to the
    # period's years once the document's period is known (document.py)
    yearly_defaulted: bool = False

    @property
    def kind(self) -> TTableKind:
        return "completion" if "actual" in self.roles else "indicators"

    @property
    def value_roles(self) -> list[str]:
        return [r for r in self.roles if is_value_role(r)]

    @property
    def annual_roles(self) -> list[str]:
        return [r for r in self.roles if ANNUAL_COLUMN.match(r)]

    def has(self, role: str) -> bool:
        return role in self.roles


def normalize_header_text(text: str) -> str:
    return re.sub(r"[\s|｜]", "", text)


def is_header_text(text: str) -> bool:
    t = normalize_header_text(text)
    return bool(t) and HEADER_RUN.fullmatch(t) is not None


def parse_header(text: str, title: str = "") -> TableSpec | None:
    """The column roles of a header such as '序号指标名称2020年值2025目标值指标属性', or None."""
    tokens = HEADER_TOKEN.findall(normalize_header_text(text))
    roles: list[str] = []
    baseline_year = target_year = ""
    yearly_group = False
    yearly_filled: list[str] = []
    for tok in tokens:
        year_m = re.match(r"^(\d{4})", tok)
        year = year_m.group(1) if year_m else ""
        rest = tok[4:].lstrip("年") if year else tok
        if tok == "序号":
            roles.append("seq")
        elif tok in ("领域", "类别"):
            roles.append("category")
        elif tok in ("指标名称", "主要指标", "项目和指标") or (tok == "指标" and "name" not in roles):
            roles.append("name")
        elif tok in ("单位", "计量单位"):
            roles.append("unit")
        elif tok in ("属性", "指标属性") or tok == "指标":
            if "attribute" not in roles:
                roles.append("attribute")
        elif tok == "备注":
            roles.append("remark")
        elif tok == "年度目标值":
            yearly_group = True
            roles.append("yearly")
        elif year and not rest and yearly_group and "yearly" in roles:
            # the second header row of a yearly-target group: the years the plan prints
            yearly_filled.append(f"target_{year}")
        elif rest in ("完成值", "完成情况") or (rest == "实际值"):
            roles.append("actual")
        elif rest in ("期初值", "预计值实际值", "预计值", "年值", "值") or (year and not rest):
            roles.append("baseline")
            baseline_year = baseline_year or year
        elif rest in ("目标值", "目标"):
            roles.append("target")
            target_year = year or target_year
    yearly_defaulted = "yearly" in roles and not yearly_filled
    if "yearly" in roles:
        i = roles.index("yearly")
        roles[i:i + 1] = yearly_filled or list(YEARLY)
        target_year = target_year or roles[i + len(yearly_filled or YEARLY) - 1][-4:]
    if "name" not in roles or not any(is_value_role(r) for r in roles):
        return None
    spec = TableSpec(roles=roles, baseline_year=baseline_year, target_year=target_year, title=title,
                     yearly_defaulted=yearly_defaulted)
    if spec.kind == "completion":
        # a completion table's target year, when not printed, is its period's last year (document.py)
        if "baseline" in roles and "target" in roles and roles.index("baseline") > roles.index("target"):
            roles[roles.index("baseline")] = "actual"
    return spec
