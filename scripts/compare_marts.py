"""Compare the marts (and `bi` views) of two published warehouses, row for row.

    .venv/bin/python scripts/compare_marts.py BEFORE.duckdb AFTER.duckdb [--schemas marts,bi]
        [--ignore-column NAME ...] [--show 5]

Every table and view of the schemas is compared as a multiset of rows: doubles agree within 1e-9
relative (1e-12 absolute near zero), everything else exactly. Prints one line per relation (rows on
each side, `same` or what differs) and up to `--show` differing rows of each side. Exit 0 when every
relation is the same, 1 on any difference (a relation or column on one side only counts), 2 when a
file cannot be read. Both files are opened read-only.

`--ignore-column` leaves out a column wherever it occurs (for values that name the run, such as the
run id or check times in the `bi.dq_*` views); the output lists what was left out.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

# The tolerance and the scalar rule are the engine comparison's (make test-spark): one definition
# of "the same value" for both.
from planwatch.build.engine_compare import ABS_TOL, REL_TOL
from planwatch.build.engine_compare import _same as same_scalar

SIGNIFICANT = 9  # doubles are sorted by this many significant digits, then compared within REL_TOL


@dataclass
class Outcome:
    relation: str
    rows_a: int | None
    rows_b: int | None
    problems: list[str] = field(default_factory=list)
    only_a: list[tuple[Any, ...]] = field(default_factory=list)
    only_b: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.problems


def values_agree(a: Any, b: Any) -> bool:
    """Equal, doubles within the tolerance (NaN equals NaN), lists and structs element by element."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_agree(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_agree(a[k], b[k]) for k in a)
    if isinstance(a, (str, bool)) != isinstance(b, (str, bool)):
        return False  # '1' is not 1.0, true is not 1
    return same_scalar(a, b, REL_TOL, ABS_TOL)


def _sort_key(value: Any) -> tuple[Any, ...]:
    """A total order over mixed values; doubles rounded so that near-equal ones sort together."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return (2, math.inf, 1)
        return (2, float(f"{value:.{SIGNIFICANT - 1}e}") if isinstance(value, float) else value, 0)
    if isinstance(value, (list, tuple)):
        return (3, tuple(_sort_key(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _sort_key(v)) for k, v in sorted(value.items())))
    return (5, type(value).__name__, str(value))


def _row_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_sort_key(v) for v in row)


def _relations(con: duckdb.DuckDBPyConnection, catalog: str, schemas: list[str]) -> dict[str, list[str]]:
    """`schema.name` → column names (in order) of every table and view of `schemas` in `catalog`."""
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema in (select unnest(?::varchar[])) "
        "order by table_schema, table_name, ordinal_position", [catalog, schemas]).fetchall()
    out: dict[str, list[str]] = {}
    for schema, name, column in rows:
        out.setdefault(f"{schema}.{name}", []).append(column)
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _count(con: duckdb.DuckDBPyConnection, ref: str) -> int:
    row = con.execute(f"select count(*) from {ref}").fetchone()
    return int(row[0]) if row else 0


def compare_relation(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> Outcome:
    schema, name = relation.split(".", 1)
    a, b = f"a.{_quote(schema)}.{_quote(name)}", f"b.{_quote(schema)}.{_quote(name)}"
    outcome = Outcome(relation, _count(con, a), _count(con, b))
    if not columns:  # every column left out: only the row counts can differ
        if outcome.rows_a != outcome.rows_b:
            outcome.problems.append("row counts differ (every column left out)")
        return outcome
    select = ", ".join(_quote(c) for c in columns)
    # Most relations are equal to the bit: let DuckDB say so without fetching them.
    differing = con.execute(
        f"select (select count(*) from (select {select} from {a} except all select {select} from {b})), "
        f"(select count(*) from (select {select} from {b} except all select {select} from {a}))").fetchone()
    if differing == (0, 0):
        return outcome
    rows_a = sorted(con.execute(f"select {select} from {a}").fetchall(), key=_row_key)
    rows_b = sorted(con.execute(f"select {select} from {b}").fetchall(), key=_row_key)
    i = j = 0
    while i < len(rows_a) and j < len(rows_b):
        if all(values_agree(x, y) for x, y in zip(rows_a[i], rows_b[j])):
            i, j = i + 1, j + 1
        elif _row_key(rows_a[i]) <= _row_key(rows_b[j]):
            outcome.only_a.append(rows_a[i])
            i += 1
        else:
            outcome.only_b.append(rows_b[j])
            j += 1
    outcome.only_a += rows_a[i:]
    outcome.only_b += rows_b[j:]
    if outcome.only_a or outcome.only_b:
        outcome.problems.append(f"{len(outcome.only_a)} row(s) only in A, {len(outcome.only_b)} only in B")
    return outcome


def compare(path_a: Path, path_b: Path, schemas: list[str], ignore: set[str]) -> list[Outcome]:
    con = duckdb.connect()
    try:
        con.execute("attach ? as a (read_only)", [str(path_a)])
        con.execute("attach ? as b (read_only)", [str(path_b)])
        rel_a, rel_b = _relations(con, "a", schemas), _relations(con, "b", schemas)
        outcomes = []
        for relation in sorted(set(rel_a) | set(rel_b)):
            if relation not in rel_b or relation not in rel_a:
                side = "A" if relation in rel_a else "B"
                outcomes.append(Outcome(relation, None, None, [f"only in {side}"]))
                continue
            cols_a = [c for c in rel_a[relation] if c not in ignore]
            cols_b = [c for c in rel_b[relation] if c not in ignore]
            if cols_a != cols_b:
                problem = (f"column order differs: A {cols_a}, B {cols_b}" if set(cols_a) == set(cols_b) else
                           f"columns differ: only in A {sorted(set(cols_a) - set(cols_b))}, "
                           f"only in B {sorted(set(cols_b) - set(cols_a))}")
                outcomes.append(Outcome(relation, None, None, [problem]))
                continue
            outcomes.append(compare_relation(con, relation, cols_a))
        return outcomes
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/compare_marts.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="the warehouse before (A)")
    parser.add_argument("b", type=Path, help="the warehouse after (B)")
    parser.add_argument("--schemas", default="marts,bi", help="comma-separated schemas to compare (default marts,bi)")
    parser.add_argument("--ignore-column", action="append", default=[], metavar="NAME",
                        help="leave this column out wherever it occurs (repeatable)")
    parser.add_argument("--show", type=int, default=5, help="differing rows shown per side and relation")
    args = parser.parse_args(argv)
    for path in (args.a, args.b):
        if not path.is_file():
            print(f"`file={path}` does not exist: pass two published warehouses (warehouse/planwatch.duckdb)",
                  file=sys.stderr)
            return 2
    schemas = [s.strip() for s in args.schemas.split(",") if s.strip()]
    try:
        outcomes = compare(args.a, args.b, schemas, set(args.ignore_column))
    except duckdb.Error as exc:
        print(f"cannot read {args.a} or {args.b}: {exc}", file=sys.stderr)
        return 2
    print(f"A {args.a}\nB {args.b}")
    if args.ignore_column:
        print(f"columns left out: {', '.join(sorted(set(args.ignore_column)))}")
    width = max((len(o.relation) for o in outcomes), default=10)
    for o in outcomes:
        counts = f"{o.rows_a if o.rows_a is not None else '-':>9} {o.rows_b if o.rows_b is not None else '-':>9}"
        print(f"{o.relation:{width}} {counts}  {'same' if o.same else '; '.join(o.problems)}")
        for label, rows in (("A", o.only_a), ("B", o.only_b)):
            for row in rows[:args.show]:
                print(f"    only in {label}: {row}")
            if len(rows) > args.show:
                print(f"    … {len(rows) - args.show} more only in {label}")
    differing = [o for o in outcomes if not o.same]
    print(f"{len(outcomes)} relations compared in schemas {', '.join(schemas)}: {len(outcomes) - len(differing)} "
          f"the same, {len(differing)} differ")
    return 1 if differing or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
