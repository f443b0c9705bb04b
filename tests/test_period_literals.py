"""No period's years or plan names written into code: raw/reference/plan_periods.csv is their only home.

Every year (19xx/20xx), plan label (13th…) and period name (十三五…) in planwatch/, dbt/models/,
dbt/macros/ and expectations/ must be listed, line by line, in tests/period_literals_allowed.txt
(examples in messages and docstrings, the simulator's fault calendar, unit-test rows). A new one
fails this test: read the years from planwatch.core.plan_periods or join stg_reference__plan_periods.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("planwatch", "dbt/models", "dbt/macros", "expectations")
SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".j2"}
# dbt's YAML beside the models holds descriptions and the unit tests' given/expect rows (tests may
# name years); the rules are in the .sql files, which are scanned.
LITERAL = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])|(?<![0-9])1[0-9]th\b|十[一二三四五六七八九]五")
ALLOWED = REPO / "tests" / "period_literals_allowed.txt"


def literal_lines() -> set[str]:
    found = set()
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in SUFFIXES or "report_assets" in path.parts:
                continue
            if path.suffix in (".yml", ".yaml") and path.is_relative_to(REPO / "dbt" / "models"):
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if LITERAL.search(line):
                    found.add(f"{path.relative_to(REPO)}: {line.strip()}")
    return found


def allowed_lines() -> set[str]:
    return {line for line in ALLOWED.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}


def test_no_new_year_or_plan_literal() -> None:
    new = sorted(literal_lines() - allowed_lines())
    assert not new, ("a year or plan name is written into code; take it from raw/reference/plan_periods.csv "
                     "(planwatch.core.plan_periods, stg_reference__plan_periods) or, if it is an example, add the "
                     "line to tests/period_literals_allowed.txt:\n" + "\n".join(new))


def test_the_scan_finds_a_literal() -> None:
    # the pattern itself must catch what it is for, or the test above cannot fail
    for text in ("where plan = '15th'", "coalesce(target_year, 2025)", "“十五五”规划"):
        assert LITERAL.search(text), text
    for text in ("target_[0-9]{4}", "320583", "period_year * 4"):
        assert not LITERAL.search(text), text

