"""Stage `load_statistics`: load every registered statistics file into raw.stat_observations.

Each row is either loaded (value converted to the catalog unit, raw text kept beside it) or put in
raw.stat_quarantine with its line number and a reason a submitter understands. For every file,
rows read = rows loaded + rows quarantined is checked against what landed in the tables and
recorded in the ledger. A file that cannot be read at all is marked `refused` with the reason.
Every version of a row stays; the latest `file_seq` wins downstream.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.catalog import Catalog
from planwatch.core.config import Settings
from planwatch.core.db import connect, ensure_ingest_schema, transaction
from planwatch.core.errors import FileRefused, TerminalError
from planwatch.core.faults import crash_point
from planwatch.core.periods import last_closed_quarter, period_index_sql
from planwatch.core.catalog_loader import load_catalog
from planwatch.ingest import statistics_io
from planwatch.ingest.row_rules import FileOutcome, PrintedUnits, TRow, judge_rows, printed_units
from planwatch.ingest.statistics_io import Submission, open_submission
from planwatch.core.types import Metrics, RunContext

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

log = logging.getLogger(__name__)

# The largest file read while the one before it loads (load_statistics): a county file of the national
# bench is 23 MB, of the 4x bench 92 MB, whose peak could not afford a second one in memory.
READ_AHEAD_MAX_BYTES = 32 * 1024 * 1024

# At most 15 integer digits: a longer string (a pasted ID, 400 nines) may cast to inf or lose digits;
# the row-by-row rules judge it instead (not_a_number when it is not finite).
_PLAIN_NUMBER = r"-?[0-9]{1,15}(\.[0-9]+)?"
# Every character Python's str.strip() removes (the row-by-row rules strip `source`), as a regular
# expression class: RE2's \s is ASCII only, so a source ending in an em space was taken as it
# stood by the fast path and stripped by the rules. (No code point above U+3000 is whitespace.)
_SPACE = "[" + "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if chr(c).isspace()) + "]"
_OBS_INSERT = ("insert into raw.stat_observations (file_id, file_seq, line_no, region_code, period, period_type, "
               "indicator_code, breakdown, value, unit, raw_value, raw_unit, numerator, denominator, reported_on, source, "
               "is_simulated, loaded_at, mapped, period_index) ")


def _clean_rows_sql(header: list[str]) -> str | None:
    """SQL selecting, from `_sub`, the rows every rule would accept unchanged: canonical codes, a plain number in
    the catalog unit, an ISO date, no duplicate key. None when the file names indicators only by printed name.

    Column names come from header positions, never from file contents; values are compared, not spliced.
    """
    col = {name: f"s.c{i}" for i, name in enumerate(header) if name}
    if "indicator_code" not in col:
        return None
    region, period, code, value, unit = (col[c] for c in ("region_code", "period", "indicator_code", "value", "unit"))
    breakdown, num, den = (col.get(c, "''") for c in ("breakdown", "numerator", "denominator"))
    reported, source = col["reported_on"], col["source"]
    return f"""
        select s.line_no, {region} as region_code, {period} as period,
               case when length({period}) = 6 then 'quarter' else 'year' end as period_type,
               {code} as indicator_code, {breakdown} as breakdown, {value} as raw_value, {unit} as raw_unit,
               {num} as num, {den} as den, {reported} as reported, {source} as source
        from _sub s
        -- a key given twice in the file, however its rows look, is judged row by row (duplicate_in_file)
        anti join (select {region} as k0, {period} as k1, {code} as k2, {breakdown} as k3 from _sub s
                   group by all having count(*) > 1) d
            on d.k0 = {region} and d.k1 = {period} and d.k2 = {code} and d.k3 = {breakdown}
        join _catalog_regions r on r.region_code = {region}
        join _catalog_indicators i on i.indicator_code = {code} and i.unit = {unit}
        where s.extra = ''
          -- within the bounds (Catalog.effective_bounds); anything else is judged row by row
          and (i.lo is null or try_cast({value} as double) >= i.lo)
          and (i.hi is null or try_cast({value} as double) <= i.hi)
          and (not i.integral or try_cast({value} as double) = round(try_cast({value} as double)))
          and regexp_full_match({period}, '[0-9]{{4}}(Q[1-4])?')
          and {period_index_sql(period)} <= ?
          and {breakdown} in ('', 'urban', 'rural')
          and regexp_full_match({value}, '{_PLAIN_NUMBER}')
          and ({num} = '' or regexp_full_match({num}, '{_PLAIN_NUMBER}'))
          and ({den} = '' or regexp_full_match({den}, '{_PLAIN_NUMBER}'))
          and ({reported} = '' or (regexp_full_match({reported}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                                   and try_strptime({reported}, '%Y-%m-%d') is not null))
          and not regexp_matches({source}, '^{_SPACE}|{_SPACE}$')
    """


def _register_catalog(con: "duckdb.DuckDBPyConnection", catalog: Catalog) -> None:
    """The catalog's regions and indicators as temp tables of `con`, for `_clean_rows_sql`: made by
    DuckDB from list parameters, not from Arrow tables, for which pyarrow imports pandas
    (statistics_io.LIST_PARAMS_MAX_ROWS)."""
    codes = sorted(catalog.indicators)
    bounds = [catalog.effective_bounds(c) for c in codes]
    _register_rows(con, "_catalog_regions", {"region_code": sorted(catalog.regions)}, force_lists=True)
    _register_rows(con, "_catalog_indicators", {
        "indicator_code": codes, "unit": [catalog.indicators[c].unit for c in codes],
        "lo": [b[0] for b in bounds], "hi": [b[1] for b in bounds],
        "integral": [catalog.indicators[c].is_integral for c in codes]}, force_lists=True)


_SQL_TYPES = {"line_no": "bigint", "value": "double", "numerator": "double", "denominator": "double",
              "reported_on": "date", "is_simulated": "boolean", "lo": "double", "hi": "double",
              "integral": "boolean"}  # every other column: varchar


def _register_rows(con: "duckdb.DuckDBPyConnection", name: str, columns: dict[str, list[object]],
                   force_lists: bool = False) -> None:
    """`columns` (equal lengths) as the relation `name` of `con`, typed by _SQL_TYPES: a temp table
    (dropped by _unregister_rows), or a registered Arrow table above statistics_io.LIST_PARAMS_MAX_ROWS
    rows (where pyarrow's import of pandas is small beside the rows' cost)."""
    rows = len(next(iter(columns.values())))
    if force_lists or rows <= statistics_io.LIST_PARAMS_MAX_ROWS:
        select = ", ".join(f"unnest(?::{_SQL_TYPES.get(c, 'varchar')}[]) as {c}" for c in columns)
        con.execute(f"create or replace temp table {name} as select {select}", list(columns.values()))
        return
    import pyarrow as pa

    arrow = {"bigint": pa.int64(), "double": pa.float64(), "date": pa.date32(), "boolean": pa.bool_(),
             "varchar": pa.string()}
    con.register(name, pa.table({c: pa.array(v, arrow[_SQL_TYPES.get(c, "varchar")]) for c, v in columns.items()}))


def _unregister_rows(con: "duckdb.DuckDBPyConnection", name: str) -> None:
    con.unregister(name)  # a registered Arrow table, or else (unregister ignores the name) a temp table
    con.execute(f"drop table if exists {name}")


def _put_back_optimizers(con: "duckdb.DuckDBPyConnection", after_error: bool = False) -> None:
    """RESET disabled_optimizers. After a failed statement DuckDB may have aborted the transaction and
    then refuses every statement: that refusal must not hide the statement's own error (load_file
    rolls back and the stage fails with it; the setting goes with the connection)."""
    import duckdb

    try:
        con.execute("RESET disabled_optimizers")
    except duckdb.TransactionException:
        if not after_error:
            raise


def _judge_file(con: "duckdb.DuckDBPyConnection", sub: Submission, catalog: Catalog, today: date,
                plan_units: PrintedUnits | None = None) -> tuple[int, FileOutcome]:
    """Split `_sub` into rows accepted as they stand (left in temp table `_clean`) and the rest, judged
    row by row; returns (rows in `_clean`, outcome of the rest). A small file, or one naming its
    indicators by printed name, is judged row by row whole, without `_clean`: (0, outcome)."""
    clean, outcome = _judge(con, sub, catalog, today, plan_units, to_arrow=False)
    return int(clean), outcome  # type: ignore[arg-type]


def _judge(con: "duckdb.DuckDBPyConnection", sub: Submission, catalog: Catalog, today: date,
           plan_units: PrintedUnits | None, to_arrow: bool) -> "tuple[int | pa.Table, FileOutcome]":
    """`_judge_file`; with `to_arrow`, the clean rows are made as an Arrow table (registered as `_clean`
    and returned) instead of a temp table: `judge_ahead` hands them over as Arrow, and writing them
    into a temp table only to read them back cost about 0.06 s of CPU a county file (bench/README.md,
    eleventh pass). The store's connection keeps the temp table: a file judged there is over
    READ_AHEAD_MAX_BYTES, and its clean rows stay within DuckDB's memory limit."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sql = _clean_rows_sql(sub.header)
    if sql is None or sub.is_small:
        rows = con.execute("select * from _sub order by line_no").fetchall()
        return 0, judge_rows(rows, sub.header, catalog, today, plan_units, sub.notes)
    # DuckDB guesses that few rows pass the regular expressions, so it builds its hash tables on the
    # file's side (all of it, every column) and probes them with the 11,400 regions: 600 MiB of a
    # 4x county file, the peak of the 4x refresh. Joined as written, the small sides are built
    # instead (2.6 -> 1.8 s of CPU, +600 -> +150 MiB; bench/README.md). The setting is the
    # database's, not the connection's: put back at once.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    table: pa.Table | None = None
    try:
        if to_arrow:
            table = con.sql(sql, params=[last_closed_quarter(today).index]).to_arrow_table()
        else:
            con.execute(f"create or replace temp table _clean as {sql}", [last_closed_quarter(today).index])
    except BaseException:
        _put_back_optimizers(con, after_error=True)
        raise
    _put_back_optimizers(con)
    if table is not None:
        con.register("_clean", table)

    def rest(extra_lines: list[int]) -> list[TRow]:
        return con.execute(
            "select * from _sub where line_no not in (select line_no from _clean) or list_contains(?, line_no) "
            "order by line_no", [extra_lines]).fetchall()

    def clean_rows() -> int:
        if table is not None:
            return table.num_rows
        # fetchall: a result left open (fetchone) makes DuckDB refuse the next register()
        return int(con.execute("select count(*) from _clean").fetchall()[0][0])

    # A file whose rows are all clean (most of them) skips the search for the others.
    everything_clean = clean_rows() == con.execute("select count(*) from _sub").fetchall()[0][0]
    outcome = judge_rows([] if everything_clean else rest([]), sub.header, catalog, today, plan_units, sub.notes)
    if outcome.rows_loaded:
        # A clean row and a judged row may share a key once normalised (城镇 vs urban, a name vs a code):
        # judge both together so that the duplicate rule sees them.
        keys = pa.table({k: pa.array(outcome.columns[k], pa.string())
                         for k in ("region_code", "period", "indicator_code", "breakdown")})
        con.register("_judged_keys", keys)
        try:
            shared = [r[0] for r in con.execute(
                "select c.line_no from _clean c join _judged_keys k using (region_code, period, indicator_code, breakdown)"
            ).fetchall()]
        finally:
            con.unregister("_judged_keys")
        if shared:
            if table is not None:
                table = table.filter(pc.invert(pc.is_in(table["line_no"], pa.array(shared, pa.int64()))))
                con.register("_clean", table)
            else:
                con.execute("delete from _clean where list_contains(?, line_no)", [shared])
            outcome = judge_rows(rest(shared), sub.header, catalog, today, plan_units, sub.notes)
    return (table if table is not None else clean_rows()), outcome


def _insert(con: "duckdb.DuckDBPyConnection", entry: tuple[str, int, str], sub: Submission, clean: int,
            outcome: FileOutcome, loaded_at: datetime) -> None:
    """Insert the file's rows: `clean` rows accepted as they stand from `_clean` (`_judge_file`'s temp
    table, or the same columns judged ahead, registered), the outcome's accepted and quarantined rows."""
    file_id, file_seq, rel = entry
    if clean:
        con.execute(
            _OBS_INSERT + "select ?::varchar, ?::bigint, line_no, region_code, period, period_type, indicator_code, breakdown, "
            "cast(raw_value as double), raw_unit, raw_value, raw_unit, cast(nullif(num, '') as double), "
            "cast(nullif(den, '') as double), cast(nullif(reported, '') as date), source, lower(source) = 'simulated', "
            f"?::timestamp, ?::varchar, {period_index_sql('period')} from _clean",
            [file_id, file_seq, loaded_at, "; ".join(sub.notes) or None],
        )
    if outcome.rows_loaded:
        _register_rows(con, "_accepted", outcome.columns)
        try:
            con.execute(
                _OBS_INSERT + "select ?::varchar, ?::bigint, line_no, region_code, period, period_type, indicator_code, "
                "breakdown, value, unit, raw_value, raw_unit, numerator, denominator, reported_on, source, is_simulated, "
                f"?::timestamp, mapped, {period_index_sql('period')} from _accepted",
                [file_id, file_seq, loaded_at],
            )
        finally:
            _unregister_rows(con, "_accepted")
    if outcome.quarantine:
        # One batch, not executemany (DuckDB binds that row by row: hours for a file of millions of bad rows).
        q = outcome.quarantine
        _register_rows(con, "_quarantined", {
            "line_no": [line for line, _, _ in q], "raw_text": [sub.raw_text(line) for line, _, _ in q],
            "reason_code": [code for _, code, _ in q], "reason": [reason for _, _, reason in q]})
        try:
            con.execute(
                "insert into raw.stat_quarantine (file_id, path, line_no, raw_text, reason_code, reason, loaded_at) "
                "select ?::varchar, ?::varchar, line_no, raw_text, reason_code, reason, ?::timestamp from _quarantined",
                [file_id, rel, loaded_at],
            )
        finally:
            _unregister_rows(con, "_quarantined")


def _count(con: "duckdb.DuckDBPyConnection", table: str, file_id: str) -> int:
    row = con.execute(f"select count(*) from raw.{table} where file_id = ?", [file_id]).fetchone()  # noqa: S608 - fixed names
    return int(row[0]) if row else 0


@dataclass
class FileResult:
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    reasons: Counter[str]


def read_file(con: "duckdb.DuckDBPyConnection", settings: Settings, catalog: Catalog,
              rel: str) -> tuple[Submission, "pa.Table"]:
    """Open and read one ledger file into its table of text cells; raise FileRefused when it cannot be
    read at all."""
    sub = open_submission(settings.raw_dir / rel, rel, {r.name_zh: r.code for r in catalog.regions.values()})
    table = sub.table(con)
    if table.num_rows == 0:
        raise FileRefused(rel, "has a header but no data rows", "export the sheet again with its figures")
    return sub, table


@dataclass
class JudgedFile:
    """A file read and judged ahead of its load (`judge_ahead`): its rows accepted as they stand (the
    columns of `_clean`, none when the file was judged row by row whole) and the outcome of the rest."""

    sub: Submission
    rows_read: int
    clean: "pa.Table | None"
    outcome: FileOutcome


def judge_ahead(private: "duckdb.DuckDBPyConnection", settings: Settings, catalog: Catalog, rel: str,
                today: date, plan_units: PrintedUnits | None) -> JudgedFile:
    """Read and judge one file on `private`, an in-memory DuckDB of the read-ahead thread with the
    catalog registered (`_register_catalog`): nothing here touches the store, so it runs while the file
    before it is written. Its own database, not a cursor of the store's: `_judge_file` changes a
    setting of the database it runs on, which would change the plans of the store's queries meanwhile
    (`_revising_rows` 0.2 -> 2.3 s, bench/README.md, ninth pass)."""
    sub, table = read_file(private, settings, catalog, rel)
    private.register("_sub", table)
    try:
        clean, outcome = _judge(private, sub, catalog, today, plan_units, to_arrow=True)
    finally:
        private.unregister("_sub")
        private.unregister("_clean")
    return JudgedFile(sub, table.num_rows, None if isinstance(clean, int) or not clean.num_rows else clean, outcome)


def _readable_ahead(settings: Settings, rel: str) -> bool:
    try:
        return (settings.raw_dir / rel).stat().st_size <= READ_AHEAD_MAX_BYTES
    except OSError:
        return False  # read_file, in turn, says what is wrong with it


def load_file(con: "duckdb.DuckDBPyConnection", settings: Settings, catalog: Catalog,
              entry: tuple[str, int, str], today: date, plan_units: PrintedUnits | None = None,
              judged: JudgedFile | None = None) -> FileResult:
    """Load one ledger file inside one transaction; raise FileRefused when it cannot be read at all.

    The caller registers the catalog tables (`_register_catalog`) on `con` first; `judged` is the file
    as `judge_ahead` read and judged it, when the caller did that ahead.
    """
    file_id, file_seq, rel = entry
    if judged is None:
        sub, table = read_file(con, settings, catalog, rel)
    loaded_at = datetime.now()
    try:
        with transaction(con):
            if judged is None:
                con.register("_sub", table)
            # The ledger only sends a file once; if it was edited by hand, the file's rows are replaced, never doubled.
            con.execute("delete from raw.stat_observations where file_id = ?", [file_id])
            con.execute("delete from raw.stat_quarantine where file_id = ?", [file_id])
            if judged is None:
                clean, outcome = _judge_file(con, sub, catalog, today, plan_units)
                rows_read = table.num_rows
            else:  # its clean rows go in under the temp table's name: _insert reads `_clean` either way
                sub, outcome, rows_read = judged.sub, judged.outcome, judged.rows_read
                clean = judged.clean.num_rows if judged.clean is not None else 0
                if judged.clean is not None:
                    con.register("_clean", judged.clean)
            try:
                _insert(con, entry, sub, clean, outcome, loaded_at)
            finally:
                if judged is not None and judged.clean is not None:
                    con.unregister("_clean")  # registered for the insert only
            loaded, quarantined = _count(con, "stat_observations", file_id), _count(con, "stat_quarantine", file_id)
            if loaded != clean + outcome.rows_loaded or rows_read != loaded + quarantined:
                raise TerminalError(
                    f"`file={rel}`: rows read {rows_read} ≠ rows loaded {loaded} + rows quarantined {quarantined}; "
                    "this is a loader defect, nothing of the file was kept: report it with the file attached"
                )
            con.execute(
                "update raw.file_ledger set status = 'loaded', error = null, rows_read = ?, rows_loaded = ?, "
                "rows_quarantined = ?, loaded_at = ? where file_id = ?",
                [rows_read, loaded, quarantined, loaded_at, file_id],
            )
            con.execute("drop table if exists _clean")  # a small file has none
            crash_point("load_statistics.before_commit")  # proves a file is loaded whole or not at all
    finally:
        if judged is None:
            con.unregister("_sub")
    return FileResult(rows_read, loaded, quarantined, Counter(code for _, code, _ in outcome.quarantine))


def load_statistics(settings: Settings, run: RunContext, today: date | None = None) -> Metrics:
    """Load every ledger file of kind statistics that is still `registered`, oldest `file_seq` first."""
    started = time.perf_counter()
    today = today or date.today()
    catalog = load_catalog(settings)
    files_loaded = files_refused = rows_read = rows_loaded = rows_quarantined = rows_revising = 0
    reasons: Counter[str] = Counter()
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        entries = [
            (str(r[0]), int(r[1]), str(r[2]))
            for r in con.execute(
                "select file_id, file_seq, path from raw.file_ledger "
                "where kind = 'statistics' and status = 'registered' order by file_seq"
            ).fetchall()
        ]
        _register_catalog(con, catalog)
        plan_units = printed_units(con)
        done: list[str] = []  # files that get a receipt
        # The next file is read and judged (decoded, split into cells by DuckDB's CSV reader, its clean
        # rows found) in a second thread while this one writes the file before it: the national full
        # load kept 1.0 core of 2 busy (bench/README.md, ninth pass). Its text, cells and clean rows
        # are the extra memory, about 3.5x the file's bytes (+300 MiB for a 92 MB file of the 4x
        # bench), so only a file up to READ_AHEAD_MAX_BYTES is judged ahead; a larger one is read and
        # judged in its turn, on the store's connection, as before.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-ahead") as pool, \
                connect(Path(":memory:")) as private:
            _register_catalog(private, catalog)
            ahead: Future[JudgedFile] | None = None
            for i, entry in enumerate(entries):
                file_id, file_seq, rel = entry
                current, ahead = ahead, None
                if i + 1 < len(entries) and _readable_ahead(settings, entries[i + 1][2]):
                    ahead = pool.submit(judge_ahead, private, settings, catalog, entries[i + 1][2], today, plan_units)
                try:
                    judged = current.result() if current is not None else None
                    result = load_file(con, settings, catalog, entry, today, plan_units, judged=judged)
                except FileRefused as exc:
                    files_refused += 1
                    log.error("refused %s", exc)
                    con.execute(
                        "update raw.file_ledger set status = 'refused', error = ?, loaded_at = ? where file_id = ?",
                        [str(exc), datetime.now(), file_id],
                    )
                    done.append(file_id)
                    continue
                crash_point("load_statistics.file_loaded")  # proves the ledger tells which files are in
                done.append(file_id)
                files_loaded += 1
                rows_read += result.rows_read
                rows_loaded += result.rows_loaded
                rows_quarantined += result.rows_quarantined
                file_reasons = result.reasons
                reasons.update(file_reasons)
                revising = _revising_rows(con, file_id, file_seq)
                rows_revising += revising
                log.info("loaded `file=%s` (file_seq %d): read %d = loaded %d + quarantined %d%s; %d rows revise earlier files",
                         rel, file_seq, result.rows_read, result.rows_loaded, result.rows_quarantined,
                         f" {dict(file_reasons)}" if file_reasons else "", revising)
        receipts = _write_receipts(con, settings, done)
    metrics: Metrics = {
        "receipts": receipts,
        "files_loaded": files_loaded,
        "files_refused": files_refused,
        "rows_read": rows_read,
        "rows_loaded": rows_loaded,
        "rows_quarantined": rows_quarantined,
        "rows_revising": rows_revising,
        "seconds": round(time.perf_counter() - started, 2),
    }
    metrics.update({f"quarantined_{code}": n for code, n in sorted(reasons.items())})
    log.info("load_statistics run %s: %s", run.run_id, metrics)
    return metrics


def _write_receipts(con: "duckdb.DuckDBPyConnection", settings: Settings, file_ids: list[str]) -> int:
    """Receipts of the files of this run (planwatch.ingest.receipts); a receipt that cannot be written is
    logged, the load it describes stays."""
    from planwatch.ingest.receipts import write_receipts

    try:
        return len(write_receipts(con, settings, file_ids)) // 2
    except OSError as exc:
        log.error("receipts of %d file(s) not written to %s: %s", len(file_ids), settings.reports_dir / "receipts", exc)
        return 0


def _revising_rows(con: "duckdb.DuckDBPyConnection", file_id: str, file_seq: int) -> int:
    """Rows of this file that replace a row of an earlier file (same region, period, indicator, breakdown)."""
    row = con.execute(
        "select count(*) from raw.stat_observations n where n.file_id = ? and exists ("
        " select 1 from raw.stat_observations o where o.file_seq < ? and o.region_code = n.region_code"
        " and o.period = n.period and o.indicator_code = n.indicator_code and o.breakdown = n.breakdown)",
        [file_id, file_seq],
    ).fetchone()
    return int(row[0]) if row else 0

