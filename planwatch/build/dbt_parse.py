"""dbt's parse of the project, kept between the builds of one warehouse.

dbt parses the whole project at every invocation (3.5 s of a national incremental build,
bench/README.md) unless it finds its last parse (`partial_parse.msgpack`) still valid: same dbt
version, same vars, same profile, and per file the same contents and the same values of the env
vars the file read (dbt-core 1.11, `ManifestLoader.is_partial_parsable`, `PartialParsing`). Two
things change every run and would each throw the parse away:

* the run's quarter and the rebuild bound: they reach dbt as env vars (dbt_runner.RUN_ENV_VARS), which
  the macros read only when dbt executes, never while it parses, so no file is parsed again for them;
* the candidate's path, part of the profile (`path`, and the catalog named after the file): dbt
  opens the candidate through a hard link with a fixed name in the parse folder instead (not a
  symbolic link: DuckDB resolves it and names the catalog after the target).

The link is the one thing here that touches the candidate: DuckDB keeps the write-ahead log beside the
path it opened (`<link>.wal`), so a log left there by a killed build is deleted before the next one
(its candidate is never reused: build_from_ingest starts each one afresh), and a log dbt left at close
is checkpointed into the candidate before the link goes. A killed build's link keeps its candidate's
blocks on disk until the next build removes it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from planwatch.build.snapshot import remove_db
from planwatch.core.db import connect, wal_of

log = logging.getLogger(__name__)

PARSE_DIR_NAME = ".dbt-parse"  # beside the candidates (build/candidate.py)
PARSE_FILE = "partial_parse.msgpack"  # dbt's name for its kept parse
LINK_NAME = "build.duckdb"


@contextmanager
def kept_parse(parse_dir: Path | None, candidate_db: Path, target_dir: Path) -> Iterator[tuple[Path, Path | None]]:
    """Yield (the path dbt opens the candidate by, the kept parse file for dbt to read, or None).

    With `parse_dir` None, or when another build holds the folder, nothing is kept: the candidate's
    own path and a parse from scratch, as before. After dbt, its new parse (in `target_dir`)
    replaces the kept one whole; dbt checks a kept parse before using it, so at worst one build
    parses from scratch.
    """
    if parse_dir is None:
        yield candidate_db, None
        return
    parse_dir.mkdir(parents=True, exist_ok=True)
    with open(parse_dir / "lock", "w") as lock:
        link = parse_dir / LINK_NAME
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            remove_db(link)  # a killed build's: its candidate is never reused
            os.link(candidate_db, link)
            linked = True
        except OSError as exc:  # held by another build, no candidate yet, another file system
            log.info("dbt_build: no kept parse in %s (%s); dbt parses the project afresh", parse_dir, exc)
            linked = False
        if not linked:
            yield candidate_db, None
            return
        try:
            kept = parse_dir / PARSE_FILE
            yield link, kept if kept.exists() else None  # dbt refuses a parse file that is not there
        finally:
            try:
                if wal_of(link).exists():
                    # a log dbt left at close: into the candidate, which others open by its own path
                    with connect(link):
                        pass  # DuckDB replays the log on open and checkpoints it on close
            finally:
                remove_db(link)
        new = target_dir / PARSE_FILE
        if new.exists():
            shutil.copyfile(new, parse_dir / (PARSE_FILE + ".new"))
            os.replace(parse_dir / (PARSE_FILE + ".new"), parse_dir / PARSE_FILE)
