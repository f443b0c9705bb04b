"""Stage `register_files`: put every new raw file into the ledger, identified by the hash of its bytes.

The same bytes twice are one ledger row, wherever they lie. A file whose real path lies outside
raw/ (through a symlink) is refused and never read. New files get increasing `file_seq` numbers in
path order, so that within one scan a revision named to sort after the original counts as later.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from planwatch.core.config import Settings
from planwatch.core.db import connect, ensure_ingest_schema, transaction
from planwatch.core.faults import crash_point
from planwatch.core.catalog_loader import REFERENCE_DIRNAME
from planwatch.ingest.statistics_io import DATA_SUFFIXES
from planwatch.core.types import Metrics, RunContext

log = logging.getLogger(__name__)

TFileKind = Literal["statistics", "plan_document"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_id(path: Path, recorded: tuple[tuple[int, ...], str] | None) -> tuple[str, tuple[int, int, int, int]]:
    """The file's sha256 and its (size, mtime, ctime, inode): the recorded sha256 when the file's are those
    recorded with it, else read from its bytes. Any write to a file moves its ctime, which nothing can set
    back (touch and copies keeping times set mtime only), and a file replaced by another has another inode."""
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if recorded is not None and recorded[0] == stamp:
        return recorded[1], stamp
    return sha256_file(path), stamp


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def scan(root: Path, raw_root: Path, suffixes: tuple[str, ...], skip_dirs: tuple[str, ...] = ()) -> tuple[list[Path], list[Path]]:
    """(files inside raw/, paths refused because they resolve outside raw/) under `root`, sorted."""
    found: list[Path] = []
    outside: list[Path] = []
    if not root.is_dir():
        return found, outside
    seen_dirs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        real = here.resolve()
        if not _is_inside(real, raw_root) or real in seen_dirs:
            if not _is_inside(real, raw_root):
                outside.append(here)
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        for name in sorted(filenames):
            # Hidden files and Excel's lock files (~$book.xlsx) are never submissions.
            if name.startswith((".", "~$")) or not name.lower().endswith(suffixes):
                continue
            path = here / name
            if not _is_inside(path.resolve(), raw_root):
                outside.append(path)
            elif path.is_file():
                found.append(path)
    return sorted(found), sorted(outside)


def register_files(settings: Settings, run: RunContext) -> Metrics:
    """Register new statistics submissions and plan documents in raw.file_ledger."""
    raw_root = settings.raw_dir.resolve()
    stats, stats_outside = scan(settings.statistics_dir, raw_root, DATA_SUFFIXES, skip_dirs=(REFERENCE_DIRNAME,))
    plans, plans_outside = scan(settings.plans_dir, raw_root, (".txt",))
    for path in stats_outside + plans_outside:
        log.error("`file=%s` resolves to %s, outside %s: refused and not registered; copy the file into raw/ "
                  "instead of linking to it", path, path.resolve(), raw_root)
    candidates: list[tuple[Path, TFileKind]] = [(p, "statistics") for p in stats] + [(p, "plan_document") for p in plans]
    candidates.sort(key=lambda item: str(item[0].relative_to(settings.raw_dir)))

    now = datetime.now()
    new = known = 0
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        known_ids = {r[0] for r in con.execute("select file_id from raw.file_ledger").fetchall()}
        row = con.execute("select coalesce(max(file_seq), 0) from raw.file_ledger").fetchone()
        seq = int(row[0]) if row else 0
        hashed = {r[0]: (tuple(r[1:5]), r[5]) for r in con.execute(
            "select path, size_bytes, mtime_ns, ctime_ns, inode, file_id from raw.file_hashes").fetchall()}
        seen: list[tuple[str, int, int, int, int, str]] = []
        with transaction(con):
            for path, kind in candidates:
                rel = path.relative_to(settings.raw_dir).as_posix()
                file_id, stamp = _file_id(path, hashed.get(rel))
                seen.append((rel, *stamp, file_id))
                if file_id in known_ids:
                    known += 1
                    continue
                seq += 1
                con.execute(
                    "insert into raw.file_ledger (file_id, file_seq, path, kind, size_bytes, registered_at, status) "
                    "values (?, ?, ?, ?, ?, ?, 'registered')",
                    [file_id, seq, rel, kind, stamp[0], now],
                )
                known_ids.add(file_id)
                new += 1
                log.info("registered `file=%s` as file_seq %d (%s, sha256 %s…)", rel, seq, kind, file_id[:12])
            if sorted(seen) != sorted((rel, *stamp, file_id) for rel, (stamp, file_id) in hashed.items()):
                con.execute("delete from raw.file_hashes")
                if seen:  # one statement of lists: executemany inserts row by row (3,000 files nationally)
                    con.execute("insert into raw.file_hashes select unnest(?), unnest(?), unnest(?), unnest(?), "
                                "unnest(?), unnest(?)", [list(column) for column in zip(*seen)])
            crash_point("register_files.before_commit")
    metrics: Metrics = {
        "files_seen": len(candidates),
        "files_new": new,
        "files_known": known,
        "files_outside_raw": len(stats_outside) + len(plans_outside),
    }
    log.info("register_files run %s: %s", run.run_id, metrics)
    return metrics
