"""Compare the marts of two builds of the dbt project: a DuckDB warehouse file and the Parquet
folders another engine wrote (planwatch.build.spark), mart by mart and key by key.

Two builds agree on a mart when they have the same columns, the same keys (each once), equal
text, booleans, dates and integers, and floating-point values within `rel_tol` of each other
(relative, with `abs_tol` around zero): the engines add up doubles in different orders, so the
last bits of a sum or a power may differ, a status may not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass
class MartComparison:
    """How one mart of the two builds compares: counts and the first differences found."""

    mart: str
    key: list[str]
    rows: int = 0
    other_rows: int = 0
    missing_keys: list[tuple[Any, ...]] = field(default_factory=list)
    extra_keys: list[tuple[Any, ...]] = field(default_factory=list)
    column_mismatch: str = ""
    differing_values: list[str] = field(default_factory=list)
    values_compared: int = 0

    @property
    def equal(self) -> bool:
        return not (self.missing_keys or self.extra_keys or self.column_mismatch or self.differing_values)

    def describe(self) -> str:
        """One line for a test failure or a log: what differs, with the first examples."""
        if self.equal:
            return f"{self.mart}: {self.rows} rows equal ({self.values_compared} values)"
        parts = [f"{self.mart}: {self.rows} rows here, {self.other_rows} there"]
        if self.column_mismatch:
            parts.append(f"columns differ ({self.column_mismatch})")
        if self.missing_keys:
            parts.append(f"keys only here {self.missing_keys}")
        if self.extra_keys:
            parts.append(f"keys only there {self.extra_keys}")
        if self.differing_values:
            parts.append("values differ: " + "; ".join(self.differing_values))
        return ", ".join(parts)


def mart_keys(dbt_dir: Path) -> dict[str, list[str]]:
    """Each mart's key, from the `unique` (or `unique_id`) test or unique_combination_of_columns in its YAML."""
    keys: dict[str, list[str]] = {}
    for path in sorted((dbt_dir / "models" / "marts").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models", []):
            for test in model.get("data_tests", []) or model.get("tests", []) or []:
                if isinstance(test, dict) and "unique_combination_of_columns" in test:
                    spec = test["unique_combination_of_columns"]
                    args = spec.get("arguments", spec)
                    keys.setdefault(model["name"], list(args["combination_of_columns"]))
            for column in model.get("columns", []):
                tests = (column.get("data_tests") or column.get("tests") or [])
                # unique_id: the facts' id test (dbt/tests/generic/unique_id.sql), a `unique` on Spark
                if {"unique", "unique_id"} & {t if isinstance(t, str) else next(iter(t)) for t in tests}:
                    keys.setdefault(model["name"], [column["name"]])
    return keys


def _same(a: Any, b: Any, rel_tol: float, abs_tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=rel_tol, abs_tol=abs_tol)
    if hasattr(a, "as_integer_ratio") and hasattr(b, "as_integer_ratio"):  # Decimal against int/float
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=abs_tol)
    return bool(a == b)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def compare_mart(duckdb_file: Path, mart: str, other_parquet: Path, key: list[str],
                 rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL, shown: int = 10) -> MartComparison:
    """Compare `marts.<mart>` of `duckdb_file` with the Parquet folder (or file) `other_parquet`.

    In SQL (DuckDB joins the two by key), so that a national mart of millions of rows compares in
    seconds without coming into Python; the rule per value is `_same`'s."""
    import duckdb

    result = MartComparison(mart=mart, key=key)
    files = ([str(other_parquet)] if other_parquet.is_file()
             else sorted(str(p) for p in other_parquet.glob("*.parquet")))
    con = duckdb.connect()
    try:
        con.execute(f"attach {_sql_text(str(duckdb_file))} as built (read_only)")
        con.execute(f'create temp view ours as select * from built.marts."{mart}"')  # names from the project
        if files:
            listed = ", ".join(_sql_text(f) for f in files)
            con.execute(f"create temp view theirs as select * from read_parquet([{listed}])")
        else:  # an engine writes no file for an empty table
            con.execute("create temp view theirs as select * from ours where false")
        types = {name: kind for name, kind, *_ in con.execute("describe ours").fetchall()}
        other_columns = [r[0] for r in con.execute("describe theirs").fetchall()]
        result.rows = int(con.execute("select count(*) from ours").fetchone()[0])  # type: ignore[index]
        result.other_rows = int(con.execute("select count(*) from theirs").fetchone()[0])  # type: ignore[index]
        if sorted(types) != sorted(other_columns):
            result.column_mismatch = (f"only here: {sorted(set(types) - set(other_columns))}, "
                                      f"only there: {sorted(set(other_columns) - set(types))}")
            return result
        keys = ", ".join(f'"{c}"' for c in key)
        for side in ("ours", "theirs"):
            row = con.execute(f"select count(*) - count(distinct ({keys})) from {side}").fetchone()
            if row and row[0]:
                raise ValueError(f"`mart={mart}`: key {key} is not unique in {side} ({row[0]} repeats)")
        on = " and ".join(f'a."{c}" is not distinct from b."{c}"' for c in key)
        result.missing_keys = [tuple(r) for r in con.execute(
            f"select {keys} from ours as a where not exists (select 1 from theirs as b where {on}) "
            f"order by all limit {int(shown)}").fetchall()]
        result.extra_keys = [tuple(r) for r in con.execute(
            f"select {keys} from theirs as a where not exists (select 1 from ours as b where {on}) "
            f"order by all limit {int(shown)}").fetchall()]

        def differs(column: str) -> str:
            a, b = f'a."{column}"', f'b."{column}"'
            kind = types[column].upper()
            if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
                close = (f"abs(cast({a} as double) - cast({b} as double)) <= {rel_tol!r} * "
                         f"greatest(abs(cast({a} as double)), abs(cast({b} as double))) + {abs_tol!r}")
                return f"not coalesce({a} is not distinct from {b} or ({close}), false)"
            return f"{a} is distinct from {b}"

        columns = list(types)
        counts = con.execute(
            "select count(*), " + ", ".join(f"count(*) filter (where {differs(c)})" for c in columns)
            + f" from ours as a join theirs as b on {on}").fetchone()
        assert counts is not None
        result.values_compared = int(counts[0]) * len(columns)
        for column, count in zip(columns, counts[1:]):
            if not count or len(result.differing_values) >= shown:
                continue
            for row in con.execute(
                    f'select {", ".join(f"a.{c}" for c in (f"{chr(34)}{k}{chr(34)}" for k in key))}, '
                    f'a."{column}", b."{column}" from ours as a join theirs as b on {on} '
                    f"where {differs(column)} order by all limit {int(shown - len(result.differing_values))}"
            ).fetchall():
                result.differing_values.append(
                    f"{dict(zip(key, row[:len(key)]))} {column}: {row[-2]!r} here, {row[-1]!r} there")
    finally:
        con.close()
    return result


def compare_rows(mart: str, key: list[str], columns: list[str], ours: list[tuple[Any, ...]],
                 other_columns: list[str], theirs: list[tuple[Any, ...]],
                 rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL, shown: int = 10) -> MartComparison:
    """Compare two row sets of one mart by `key`: columns by name, values by `_same`."""
    result = MartComparison(mart=mart, key=key, rows=len(ours), other_rows=len(theirs))
    if sorted(columns) != sorted(other_columns):
        result.column_mismatch = (f"only here: {sorted(set(columns) - set(other_columns))}, "
                                  f"only there: {sorted(set(other_columns) - set(columns))}")
        return result
    at = {c: i for i, c in enumerate(columns)}
    other_at = {c: i for i, c in enumerate(other_columns)}

    def index(rows: list[tuple[Any, ...]], positions: dict[str, int]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        keyed: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for row in rows:
            k = tuple(row[positions[c]] for c in key)
            if k in keyed:
                raise ValueError(f"`mart={mart}`: key {key}={k} is not unique")
            keyed[k] = row
        return keyed

    mine, other = index(ours, at), index(theirs, other_at)
    result.missing_keys = sorted(set(mine) - set(other), key=repr)[:shown]
    result.extra_keys = sorted(set(other) - set(mine), key=repr)[:shown]
    for k in sorted(set(mine) & set(other), key=repr):
        for c in columns:
            a, b = mine[k][at[c]], other[k][other_at[c]]
            result.values_compared += 1
            if not _same(a, b, rel_tol, abs_tol) and len(result.differing_values) < shown:
                result.differing_values.append(f"{dict(zip(key, k))} {c}: {a!r} here, {b!r} there")
    return result


def compare_marts(duckdb_file: Path, parquet_dir: Path, dbt_dir: Path,
                  rel_tol: float = REL_TOL) -> list[MartComparison]:
    """Every mart of the project with a key, compared between the two builds."""
    return [compare_mart(duckdb_file, mart, parquet_dir / mart, key, rel_tol)
            for mart, key in sorted(mart_keys(dbt_dir).items())]
