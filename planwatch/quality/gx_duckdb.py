"""Make Great Expectations' SQL execution engine work on DuckDB (through duckdb-engine).

Why GX 1.24.1 fails on DuckDB with ``IndexError: list index out of range`` in
``SqlAlchemyExecutionEngine.resolve_metric_bundle``:

* GX's ``execute_query`` runs ``with engine.connect() as c: result = c.execute(q)`` and only
  calls ``result.fetchall()`` *after* the ``with`` block, i.e. after SQLAlchemy has closed the
  connection and rolled back its transaction. That works for drivers whose cursors hold their
  rows independently of the connection (psycopg2, sqlite3 buffer client side).
* duckdb-engine's cursor is not independent: ``CursorWrapper`` executes on the very same
  ``DuckDBPyConnection`` (DuckDB keeps one pending result per connection), and its dialect issues
  a real ``BEGIN`` (``do_begin``) and ``ROLLBACK`` (``do_rollback``) on that connection. The
  ``ROLLBACK`` sent when GX's ``with`` block closes replaces the pending result, so
  ``fetchall()`` returns ``[]`` and GX indexes ``res[0]`` of an empty list.

Plain SQLAlchemy code works because it fetches inside the ``with`` block.

A second, independent failure hides behind the first: with SQLAlchemy 2.1 the PostgreSQL
inspector that duckdb-engine inherits reflects columns through ``pg_catalog.pg_collation``, which
DuckDB does not have. GX then falls back to ``SELECT * FROM <table> LIMIT 1`` *without the schema
name*, so every table outside ``main`` (``raw.*``, ``marts.*``) is "not found" when GX asks for
column types. The dialect below reflects columns from DuckDB's own ``information_schema``.

The adapter below is a duckdb-engine dialect whose cursors fetch their rows at execute time
(what psycopg2 does), registered as ``duckdb+buffered://``. Every query GX sends is an aggregate
or a bounded sample, so holding the rows in memory costs nothing measurable. ``close_connections``
closes what GX's pools keep open.

Two savings on top, both invisible to GX: each connection can attach scratch DuckDB files
read-only (``connect_args={ATTACH_ARG: {alias: path}}``; planwatch.quality.validate puts batches computed
once there), and GX's two evaluations of an unexpected-rows query (its rows, and ``COUNT(*)`` of
it, in either order) run the query once: the rows are buffered anyway, so the count is their number.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from planwatch.core.db import memory_limit, retry_while_locked

DIALECT_NAME = "duckdb.buffered"
# connect_args key: {alias: path} of DuckDB files every connection attaches read-only (for example
# scratch tables computed once before GX runs; see planwatch.quality.validate).
ATTACH_ARG = "planwatch_attach"


class BufferedCursor:
    """A DB-API cursor over a DuckDB connection that materialises each result on execute."""

    arraysize = 1000

    def __init__(self, inner: Any) -> None:
        self._inner = inner  # duckdb_engine.CursorWrapper
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0
        self.description: Sequence[Any] | None = None
        self.rowcount = -1

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        if not parameters and self._answer_from_cache(statement):
            return
        self._inner.execute(statement, parameters, context)
        self.description = self._inner.description
        self._rows = list(self._inner.fetchall()) if self.description else []
        self._pos = 0
        self.rowcount = len(self._rows) if self.description else -1
        if not parameters and self.description:
            _remember_count(statement, len(self._rows))

    def _answer_from_cache(self, statement: str) -> bool:
        """Serve GX's second evaluation of an unexpected-rows query from its first.

        GX runs each such query twice, for its rows and as `SELECT COUNT(*) FROM (query)`, in
        either order. The rows are fetched in full anyway (buffered), so whichever comes first
        runs the query once and the other is answered from it.
        """
        pending = _PENDING.pop(statement, None)
        if pending is not None:
            self.description, self._rows = pending
            self._pos, self.rowcount = 0, len(self._rows)
            return True
        match = _COUNT_QUERY.match(statement.strip())
        if match is None:
            return False
        query = match.group("query")
        if query not in _COUNTS:
            self._inner.execute(query)
            description = self._inner.description
            rows = list(self._inner.fetchall()) if description else []
            _remember_count(query, len(rows))
            _PENDING[query] = (description, rows)
        self.description = (("unexpected_row_count", None, None, None, None, None, None),)
        self._rows, self._pos, self.rowcount = [(_COUNTS[query],)], 0, 1
        return True

    def executemany(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._inner.executemany(statement, parameters, context)
        self.description, self._rows, self._pos = None, [], 0

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        n = size or self.arraysize
        rows = self._rows[self._pos:self._pos + n]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rows

    def close(self) -> None:
        self._rows, self._pos = [], 0

    @property
    def connection(self) -> Any:
        return self._inner.connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BufferedConnection:
    """Wraps duckdb-engine's ConnectionWrapper so that ``cursor()`` hands out buffered cursors."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self.closed = True

    def cursor(self) -> BufferedCursor:
        return BufferedCursor(self._inner.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _dialect_class() -> type:
    from duckdb_engine import Dialect

    class BufferedDuckDBDialect(Dialect):  # type: ignore[misc]
        """duckdb-engine with client-side buffered cursors (see the module docstring)."""

        supports_statement_cache = False


        def connect(self, *cargs: Any, **cparams: Any) -> Any:
            attach = dict(cparams.pop(ATTACH_ARG, None) or {})
            # read-only opens of the ingest store, which validate_raw shares with dbt_build's snapshot and
            # each stage's run-log write (planwatch.core.types.CONCURRENT_STAGES)
            where = cparams.get("database") or (cargs[0] if cargs else "duckdb")
            connection = BufferedConnection(retry_while_locked(where, lambda: super(BufferedDuckDBDialect, self)
                                                               .connect(*cargs, **cparams)))
            _OPEN.add(connection)
            # The limit every planwatch connection has (planwatch.core.db): without it DuckDB takes up
            # to 80 % of RAM, and the raw suites' history windows made validate_raw the peak of a run
            # (4,789 MiB at 4x national, bench/README.md).
            connection.cursor().execute(f"SET memory_limit = '{memory_limit()}'")
            for alias, path in attach.items():
                # Attached databases belong to the DuckDB instance, which pooled connections share.
                connection.cursor().execute(f"ATTACH IF NOT EXISTS ? AS {_identifier(alias)} (READ_ONLY)",
                                            [str(path)])
            return connection

        def get_columns(self, connection: Any, table_name: str, schema: str | None = None,
                        **kw: Any) -> list[dict[str, Any]]:
            from sqlalchemy import text
            from sqlalchemy.exc import NoSuchTableError

            rows = connection.execute(
                text(
                    "select column_name, data_type, is_nullable from information_schema.columns "
                    "where table_schema = :schema and table_name = :table order by ordinal_position"
                ),
                {"schema": schema or "main", "table": str(table_name)},
            ).fetchall()
            if not rows:
                raise NoSuchTableError(f"{schema or 'main'}.{table_name}")
            return [
                {"name": name, "type": _sql_type(self, data_type), "nullable": nullable == "YES",
                 "default": None}
                for name, data_type, nullable in rows
            ]

    return BufferedDuckDBDialect


_EXTRA_TYPES = {"double": "float8", "decimal": "numeric", "real": "float4", "blob": "bytea",
                "struct": "json", "list": "json", "map": "json"}


def _sql_type(dialect: Any, data_type: str) -> Any:
    """A SQLAlchemy type for a DuckDB ``information_schema`` type name such as ``DECIMAL(18,3)``."""
    from sqlalchemy import types

    base = data_type.split("(")[0].strip().lower()
    base = _EXTRA_TYPES.get(base, base)
    found = dialect.ischema_names.get(base)
    if found is None:
        return types.NullType()
    return found() if isinstance(found, type) else found


def _identifier(name: str) -> str:
    """`name` if it is a plain SQL identifier (ATTACH takes no parameter for its alias)."""
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"{name!r} is not a plain identifier; use letters, digits and _")
    return name


BufferedDuckDBDialect: type | None = None
_OPEN: "weakref.WeakSet[BufferedConnection]" = weakref.WeakSet()

# Rows returned by each parameterless SELECT run since the last close_connections(). GX opens the
# file read-only for a whole validation, so a query's row count cannot change within it.
_COUNTS: dict[str, int] = {}
_MAX_COUNTS = 512
_COUNT_QUERY = re.compile(
    r"^SELECT COUNT\(\*\) as unexpected_row_count FROM \((?P<query>.*)\) AS substituted_batch_subquery$",
    re.DOTALL)


def _remember_count(statement: str, rows: int) -> None:
    if len(_COUNTS) >= _MAX_COUNTS:
        _COUNTS.clear()
    _COUNTS[statement] = rows


# Rows of a query run early to answer GX's COUNT(*) of it, kept for GX's own run of the query.
_PENDING: dict[str, tuple[Any, list[tuple[Any, ...]]]] = {}


def close_connections() -> int:
    """Close every DuckDB connection this dialect opened and that is still open; return how many.

    GX keeps engines (and their connection pools) alive inside its datasources and execution
    engines, out of reach of the caller. DuckDB refuses a read-write connection to a file while
    the same process holds a read-only one, so the caller closes them all before it writes.
    """
    _COUNTS.clear()
    _PENDING.clear()
    closed = 0
    for connection in list(_OPEN):
        if not connection.closed:
            connection.close()
            closed += 1
    _OPEN.clear()
    return closed


def register() -> None:
    """Register the ``duckdb+buffered://`` SQLAlchemy URL scheme (idempotent)."""
    global BufferedDuckDBDialect
    if BufferedDuckDBDialect is None:
        BufferedDuckDBDialect = _dialect_class()
    from sqlalchemy.dialects import registry

    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")


def connection_string(path: Path) -> str:
    """The URL GX should use for a DuckDB file; pass ``read_only`` through ``connect_args``."""
    register()
    return f"duckdb+buffered:///{Path(path).resolve()}"
