"""Load the catalog and the reviewed plan files into the ingest store.

The files in `raw/` are the truth: each load replaces the plan and reference tables whole, so a
corrected CSV is picked up by the next run and a rerun changes nothing. Plan documents dropped
into `raw/plans/` that have no reviewed file yet are extracted automatically and loaded with
`review_status = 'draft'`, so they show up in the warehouse before a person has checked them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.catalog import Catalog
from planwatch.core.catalog_loader import load_catalog, simulated_plan_files, simulated_region_files
from planwatch.core.config import Settings
from planwatch.core.db import connect, ensure_ingest_schema, quote_identifier, table_exists
from planwatch.core.errors import FileRefused
from planwatch.ingest.extract.rows import COMPLETION_COLUMNS as EXTRACTED_COMPLETION_COLUMNS
from planwatch.ingest.extract.rows import INDICATOR_COLUMNS, INDICATOR_REVIEW_COLUMNS, REVIEW_COLUMNS
from planwatch.ingest.extract.rows import PROSE_COLUMNS as EXTRACTED_PROSE_COLUMNS
from planwatch.ingest.plan_text import PlainBatch, read_plain, refuse_missing
from planwatch.core.plan_periods import FILENAME as PLAN_PERIODS_FILE
from planwatch.core.plan_periods import annual_columns
from planwatch.core.plan_periods import load as load_plan_periods
from planwatch.core.types import Metrics, RunContext

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

log = logging.getLogger(__name__)

# The columns of docs/architecture.md "Plan files", shared with the extractor that drafts them.
PLAN_COLUMNS = list(INDICATOR_COLUMNS)
# Annual targets are `target_YYYY` columns of whatever years a plan names: a file must have the
# other columns, and raw.plan_indicators gets every year any file has.
PLAN_REQUIRED_COLUMNS = [c for c in PLAN_COLUMNS if c not in annual_columns(PLAN_COLUMNS)]
COMPLETION_COLUMNS = list(EXTRACTED_COMPLETION_COLUMNS)
PROSE_COLUMNS = list(EXTRACTED_PROSE_COLUMNS)

# (table, folder attribute of Settings, columns every file must have, review columns read when present)
PLAN_TABLES: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("plan_indicators", "plan_indicators_dir", PLAN_REQUIRED_COLUMNS, list(INDICATOR_REVIEW_COLUMNS)),
    ("plan_completion", "plan_completion_dir", COMPLETION_COLUMNS, list(REVIEW_COLUMNS)),
    ("plan_prose_targets", "plan_prose_dir", PROSE_COLUMNS, list(INDICATOR_REVIEW_COLUMNS)),
)
REFERENCE_TABLES = {
    "regions": "regions.csv",
    "indicators": "indicators.csv",
    "indicator_aliases": "indicator_aliases.csv",
    "units": "units.csv",
    "plan_periods": PLAN_PERIODS_FILE,
}
# Rules derived from the catalog by planwatch.catalog, written beside the files they come from so
# that dbt, the checks and the loader read one derivation: (table, typed columns).
RULE_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "indicator_rules": (("indicator_code", "string"), ("unit", "string"), ("lower_bound", "float64"),
                        ("upper_bound", "float64"), ("is_integral", "bool_"), ("share_scale", "float64")),
    "unit_conversions": (("from_unit", "string"), ("to_unit", "string"), ("factor", "float64")),
}


# The text of plain plan files split together (plan_text): about 200 national plan files, 20,000 rows.
PLAIN_BATCH_CHARS = 4_000_000

# A file's rows column by column: {column name: one cell per row}, and how many rows.
Columns = tuple[dict[str, list[str]], int]


def _read_columns(path: Path, required: list[str]) -> Columns:
    """A reviewed CSV's cells column by column, every value a stripped string; refuses files missing a column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            refuse_missing(path, header, required)
            # Columns straight from the rows (zip in C), not a dict per row: the dicts and the
            # per-cell look-ups that turned them into Arrow columns were most of the stage's CPU
            # (bench/README.md). Short rows read as '' in the missing columns, cells beyond the
            # header are dropped, and a name given twice keeps its last column, as a dict per row did.
            pad = [""] * len(header)
            rows = [cells + pad for cells in reader if cells]
            columns = zip(*rows) if rows else iter([()] * len(header))
            return {name: list(map(str.strip, cells)) for name, cells in zip(header, columns)}, len(rows)
    except UnicodeDecodeError as exc:
        raise FileRefused(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})",
                          "save the reviewed file as UTF-8") from exc


def _columns_of(rows: list[dict[str, str]]) -> Columns:
    """Rows given as dicts (the extractor's drafts) column by column, '' where a row lacks a column."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name, "") for row in rows] for name in names}, len(rows)


def write_catalog_rules(con: "duckdb.DuckDBPyConnection", catalog: Catalog) -> dict[str, int]:
    """Replace raw.indicator_rules and raw.unit_conversions by what `catalog` derives; rows per table."""
    import pyarrow as pa

    counts = {}
    for table, rows in (("indicator_rules", catalog.rule_rows()), ("unit_conversions", catalog.conversion_rows())):
        columns = RULE_TABLES[table]
        batch = pa.table({name: pa.array([row[name] for row in rows], type=getattr(pa, kind)())
                          for name, kind in columns})
        con.register("_rule_rows", batch)
        try:
            con.execute(f"CREATE OR REPLACE TABLE raw.{table} AS SELECT * FROM _rule_rows")
        finally:
            con.unregister("_rule_rows")
        counts[table] = len(rows)
    return counts


def _csv_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv") if p.is_file()) if folder.exists() else []


def _draft_rows(settings: Settings, catalog: Catalog, reviewed: set[str]) -> list[dict[str, str]]:
    """Extractor output for plan documents in raw/plans/ that nobody has reviewed yet."""
    if not settings.plans_dir.exists():
        return []
    rows: list[dict[str, str]] = []
    periods = load_plan_periods(settings.reference_dir)
    for doc in sorted(settings.plans_dir.glob("*.txt")):
        if doc.name in reviewed:
            continue
        from planwatch.ingest.extract import extract_document

        result = extract_document(doc, catalog, periods=periods)
        log.info("draft plan %s: %d rows extracted, %d ambiguous", doc.name,
                 len(result.rows), sum(1 for r in result.rows if r.get("ambiguous")))
        for row in result.rows:
            row = dict(row)
            row["review_status"] = "draft"
            row["source_file"] = f"plans/{doc.name}"
            rows.append(row)
    return rows


class _StagedRows:
    """The rows of one raw table (a plan table, or a reference file), written to DuckDB in batches as read.

    Holding every file's rows as Python dicts until the end took 2.9 GiB at 11,400 regions (the
    peak of a 4x refresh, bench/README.md); a batch holds at most BATCH rows, column by column. The
    batches go straight into raw.<table>, made at the first batch with the annual `target_YYYY`
    columns known then in their place: a staging table copied in the final order at the end cost
    a second write of every row (bench/README.md, tenth pass). An annual column that first comes
    later (a later file, a draft) is added at the end, and `write` then rewrites the table in the
    final order: the same table, rows in the same order, as one insert of every row gave.
    """

    BATCH = 50_000

    def __init__(self, con: "duckdb.DuckDBPyConnection", table: str, columns: list[str], annual_at: int = 0) -> None:
        self.con = con
        self.table = table  # a name from the module's constants
        self.columns = columns  # besides the annual ones: the files' other columns are dropped
        self.annual_at = annual_at  # where the annual columns go among `columns`
        self.buffer: list[tuple[Columns, dict[str, str]]] = []  # (a file's columns, its constant columns)
        self.buffered = 0
        self.buffer_annual: set[str] = set()
        self.staged: list[str] = []  # columns of raw.<table> as made, in their order
        self.rows = 0

    def add(self, columns: Columns, annual: list[str], constants: dict[str, str] | None = None) -> None:
        """Stage a file's `columns`; `constants` are columns with one value for all its rows."""
        self.buffer.append((columns, constants or {}))
        self.buffered += columns[1]
        self.buffer_annual.update(annual)
        if self.buffered >= self.BATCH:
            self._flush()

    def _column(self, name: str) -> "pa.Array":
        """One column of the buffered files as Arrow; '' (or absent) is NULL."""
        import pyarrow as pa
        import pyarrow.compute as pc

        values: list[str | None] = []
        for (cells, rows), constants in self.buffer:
            if name in constants:
                values += [constants[name]] * rows
            else:
                values += cells.get(name) or [None] * rows  # [] for a file without rows
        array = pa.array(values, pa.string())  # one conversion per column, not one per file
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)

    def _ordered(self, annual: set[str]) -> list[str]:
        """The table's columns in their final order, with these annual ones."""
        return self.columns[:self.annual_at] + annual_columns(list(annual - set(self.columns))) + self.columns[self.annual_at:]

    def _create(self, columns: list[str]) -> None:
        table = self.table
        self.con.execute(f"DROP TABLE IF EXISTS raw.{table}")
        self.con.execute(f"CREATE TABLE raw.{table} (" + ", ".join(f"{quote_identifier(c)} VARCHAR" for c in columns) + ")")
        self.staged = list(columns)

    def add_arrow(self, cells: dict[str, "pa.Array"], rows: int, annual: list[str],
                  constants: dict[str, "pa.Array"]) -> None:
        """Stage rows already split into Arrow columns (planwatch.ingest.plan_text), after every row
        added before; `constants` are whole columns too. '' is NULL, as in `_column`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        self._flush()
        columns = self._ordered(set(annual))
        null = pa.scalar(None, pa.string())
        batch = {c: constants.get(c, cells.get(c)) for c in columns}
        self._insert(columns, pa.table({c: pa.nulls(rows, pa.string()) if a is None else
                                        pc.if_else(pc.equal(a, ""), null, a) for c, a in batch.items()}))
        self.rows += rows

    def _flush(self) -> None:
        if not self.buffered:
            self.buffer = []
            return
        import pyarrow as pa

        columns = self._ordered(self.buffer_annual)
        self._insert(columns, pa.table({c: self._column(c) for c in columns}))
        self.rows += self.buffered
        self.buffer, self.buffered, self.buffer_annual = [], 0, set()

    def _insert(self, columns: list[str], batch: "pa.Table") -> None:
        """Insert `batch` (its `columns`) into raw.<table>, made or widened first."""
        # One Arrow batch, not executemany: DuckDB binds executemany row by row (about 4 ms a row,
        # 15 minutes for the 270k plan rows of 2,850 counties; bench/README.md).
        table = self.table
        if not self.staged:
            self._create(columns)
        for c in columns:
            if c not in self.staged:
                self.con.execute(f"ALTER TABLE raw.{table} ADD COLUMN {quote_identifier(c)} VARCHAR")
                self.staged.append(c)
        self.con.register("_plan_rows", batch)
        try:
            self.con.execute(f"INSERT INTO raw.{table} BY NAME SELECT * FROM _plan_rows")
        finally:
            self.con.unregister("_plan_rows")

    def write(self, columns: list[str]) -> int:
        """Make raw.<table> hold the staged rows with `columns` in this order; returns the row count."""
        self._flush()
        table = self.table
        if not self.staged:
            self._create(columns)
        elif self.staged != columns:  # an annual column came after the first batch: rewrite in order
            self.con.execute(f"CREATE TEMP TABLE _plan_stage AS SELECT * FROM raw.{table}")
            picked = ", ".join(quote_identifier(c) if c in self.staged else "NULL" for c in columns)
            self._create(columns)
            self.con.execute(f"INSERT INTO raw.{table} SELECT {picked} FROM _plan_stage")
            self.con.execute("DROP TABLE _plan_stage")
        return self.rows


def load_plans(settings: Settings, run: RunContext) -> Metrics:
    """Stage: replace the reference and plan tables of the ingest store with what raw/ holds now.

    Skipped when the files (and this loader's code) are byte for byte those of the last load: the
    tables would come out the same, and re-reading 2,850 counties' plans cost 9 s of every quarter.
    """
    digest = input_digest(settings)
    metrics: Metrics = {}
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        previous = _unchanged_metrics(con, digest)
        if previous is not None:
            previous["unchanged"] = True
            log.info("load_plans: raw/reference and the plan files are unchanged since the last load; tables kept")
            return previous
        catalog = load_catalog(settings)
        load_plan_periods(settings.reference_dir)  # refuses a missing or malformed periods file, naming it
        con.execute("BEGIN")
        for table, filename in REFERENCE_TABLES.items():
            path = settings.reference_dir / filename
            columns = _header(path)
            staged = _StagedRows(con, table, columns)
            staged.add(_read_columns(path, []), [])
            if table == "regions":
                # Synthetic regions of a simulated set travel with it, not in raw/reference.
                for sim_path in simulated_region_files(settings):
                    staged.add(_read_columns(sim_path, ["region_code"]), [])
            metrics[f"{table}_rows"] = staged.write(columns)
        for table, count in write_catalog_rules(con, catalog).items():
            metrics[f"{table}_rows"] = count
        unresolved = 0
        for table, folder_attr, columns, review_columns in PLAN_TABLES:
            unresolved += _load_plan_table(con, settings, catalog, table, getattr(settings, folder_attr), columns,
                                           review_columns, metrics)
        metrics["rows_unresolved_code"] = unresolved
        con.execute(
            "insert or replace into audit.load_state (stage, input_digest, metrics, loaded_at) "
            "values ('load_plans', ?, ?, current_timestamp)", [digest, json.dumps(metrics)])
        con.execute("COMMIT")
    metrics["unchanged"] = False
    log.info("load_plans: %s", " ".join(f"{k}={v}" for k, v in metrics.items()))
    return metrics


def _load_plan_table(con: "duckdb.DuckDBPyConnection", settings: Settings, catalog: Catalog, table: str,
                     folder: Path, columns: list[str], review_columns: list[str], metrics: Metrics) -> int:
    """Replace raw.<table> by the files of `folder` (and, for plan_indicators, the simulated plans and
    the drafts); fills `metrics` and returns the reviewed rows whose indicator_code is unknown."""
    staged = _StagedRows(con, table, columns + review_columns + ["review_status", "source_file"], len(columns))
    annual: set[str] = set()
    reviewed_docs: set[str] = set()
    unresolved = 0
    files = _csv_files(folder)
    simulated = simulated_plan_files(settings) if table == "plan_indicators" else []
    # Consecutive files without quotes and with one header are split together by Arrow (plan_text);
    # the others one by one by the csv module, in their turn, so the rows keep the files' order.
    plain: PlainBatch | None = None
    plain_files: list[tuple[Path, str, str]] = []  # (path, status, source_file) of plain's bodies

    def stage_plain() -> None:
        nonlocal plain, unresolved
        if plain is None:
            return
        import pyarrow as pa

        cells, parent = plain.columns()
        if len(parent):
            reviewed_docs.update(cells["source_doc"].unique().to_pylist() if "source_doc" in cells else [""])
        statuses = pa.array([f[1] for f in plain_files], pa.string()).take(parent)
        if table == "plan_indicators":
            unresolved += _count_unresolved_plain(cells, parent, statuses, plain_files, catalog)
        constants = {"review_status": statuses,
                     "source_file": pa.array([f[2] for f in plain_files], pa.string()).take(parent)}
        staged.add_arrow(cells, len(parent), annual_columns(plain.header), constants)
        plain, plain_files[:] = None, []

    # The status travels with the path: `path in simulated` was a list search per file.
    for path, status in [(p, "reviewed") for p in files] + [(p, "simulated") for p in simulated]:
        source_file = str(path.relative_to(settings.raw_dir))
        text = read_plain(path, columns)
        if plain is not None and (text is None or text.header != plain.header or plain.chars >= PLAIN_BATCH_CHARS):
            stage_plain()
        if text is not None:
            plain = plain or PlainBatch(text.header)
            plain.add(text.body)
            plain_files.append((path, status, source_file))
            annual.update(annual_columns(text.header))
            continue
        file_columns = _read_columns(path, columns)
        cells, rows = file_columns
        file_annual = annual_columns(_header(path))
        annual.update(file_annual)
        if rows:
            reviewed_docs.update(cells.get("source_doc", [""]))
        if table == "plan_indicators" and status == "reviewed":
            unresolved += _count_unresolved(path, file_columns, catalog)
        staged.add(file_columns, file_annual, {"review_status": status, "source_file": source_file})
    stage_plain()
    if table == "plan_indicators":
        drafts = _draft_rows(settings, catalog, reviewed_docs)
        metrics["draft_rows"] = len(drafts)
        for draft in drafts:
            annual.update(annual_columns(list(draft)))
        staged.add(_columns_of(drafts), sorted(annual))
    metrics[f"{table}_rows"] = staged.write(columns + annual_columns(list(annual)) + review_columns
                                            + ["review_status", "source_file"])
    metrics[f"{table}_files"] = len(files) + len(simulated)
    return unresolved


def input_digest(settings: Settings) -> str:
    """sha256 over every file load_plans reads (name and bytes) and over the code that reads them."""
    paths = [settings.reference_dir / name for name in REFERENCE_TABLES.values()]
    paths += simulated_region_files(settings) + simulated_plan_files(settings)
    for _, folder_attr, _, _ in PLAN_TABLES:
        paths += _csv_files(getattr(settings, folder_attr))
    if settings.plans_dir.exists():
        paths += sorted(settings.plans_dir.glob("*.txt"))
    ingest = Path(__file__).parent
    # core/catalog.py derives raw.indicator_rules and raw.unit_conversions
    code = [ingest / "load_plans.py", ingest / "plan_text.py", ingest.parent / "core" / "plan_periods.py", ingest.parent / "core" / "catalog.py",
            *sorted((ingest / "extract").glob("*.py"))]
    digest = hashlib.sha256()
    # Names relative to raw/ and to the code's folder: a home or clone moved elsewhere loads nothing again.
    for root, group in ((settings.raw_dir, paths), (ingest.parent, code)):
        for path in group:
            digest.update(_relative(path, root).encode() + b"\0")
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # not under it (a reference folder elsewhere): its full name
        return str(path)


def _unchanged_metrics(con: "duckdb.DuckDBPyConnection", digest: str) -> Metrics | None:
    """The last load's metrics when it read exactly these inputs and its tables are all there."""
    if not all(table_exists(con, "raw", t) for t in [*REFERENCE_TABLES, *RULE_TABLES, *(t for t, _, _, _ in PLAN_TABLES)]):
        return None
    row = con.execute("select metrics from audit.load_state where stage = 'load_plans' and input_digest = ?",
                      [digest]).fetchone()
    return json.loads(row[0]) if row else None


def _count_unresolved(path: Path, columns: Columns, catalog: Catalog) -> int:
    """Rows of `path` whose indicator_code is not in the catalog: counted here, reported by the raw checks."""
    cells, rows = columns
    names = cells.get("indicator_name", [None] * rows)
    count = 0
    for code, name in zip(cells.get("indicator_code", [""] * rows), names):
        if code not in catalog.indicators:
            count += 1
            _warn_unresolved(path, code, name)
    return count


def _count_unresolved_plain(cells: dict[str, "pa.Array"], parent: "pa.Array", statuses: "pa.Array",
                            files: list[tuple[Path, str, str]], catalog: Catalog) -> int:
    """`_count_unresolved` over a plain batch's reviewed rows (`parent`: each row's index in `files`;
    `statuses`: each row's review_status)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = cells.get("indicator_code", pa.array([""] * len(parent), pa.string()))
    unknown = pc.invert(pc.is_in(codes, value_set=pa.array(list(catalog.indicators), pa.string())))
    rows = pc.indices_nonzero(pc.and_(unknown, pc.equal(statuses, "reviewed"))).to_pylist()
    names = cells.get("indicator_name")
    for i in rows:
        _warn_unresolved(files[parent[i].as_py()][0], codes[i].as_py(), None if names is None else names[i].as_py())
    return len(rows)


def _warn_unresolved(path: Path, code: str, name: str | None) -> None:
    """The one warning of both readers for a reviewed row whose indicator_code the catalog lacks."""
    log.warning("%s: indicator_code=%r of %r is not in raw/reference/indicators.csv", path.name, code, name)


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])
