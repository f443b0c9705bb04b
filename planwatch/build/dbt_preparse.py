"""dbt's parse of the project, made beside the statistics load for the build that follows it.

dbt starts every build by parsing the project: with a valid kept parse (build/dbt_parse.py) that is
checking every file against it and loading it, 0.5-0.6 s of a national incremental build; without one
(a warehouse's first build, or the first after the dbt code changed) a parse from scratch, 3.4 s
(bench/README.md). None of it reads the candidate or the statistics. `run_all` and the benchmark run
every stage in one process, so the parse runs in a thread while the statistics load keeps DuckDB busy
(planwatch.run.pipeline.before_stage), and the build hands the parsed project to dbt
(`dbtRunner(manifest=...)`), which then skips its own parse.

The parse is used only by a build it fits: the same project, vars and profile (dbt opens the candidate
through the parse folder's link, build/dbt_parse.py, whose path is part of the profile and names the
catalog in every node). Otherwise, when it failed, or when another build held the parse folder, the
build parses as before. Airflow runs each stage in its own process, where nothing was parsed ahead.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from planwatch.build.dbt_parse import LINK_NAME, PARSE_FILE
from planwatch.core.background_import import wait_for_import

log = logging.getLogger(__name__)

PREPARSE_DIR = "preparse"  # in the parse folder: dbt's target and log folders of the parse
# the environment dbt renders the profile from (dbt/profiles.yml), besides the candidate's path
PROFILE_ENV = ("PLANWATCH_DBT_TARGET", "PLANWATCH_DUCKDB_MEMORY_LIMIT")

_job: dict[str, Any] = {}


def _key(dbt_dir: Path, parse_dir: Path, vars_json: str) -> tuple[Any, ...]:
    return (str(dbt_dir.resolve()), str(parse_dir.resolve()), vars_json,
            tuple(os.environ.get(name) for name in PROFILE_ENV))


def parse_in_background(dbt_dir: Path, parse_dir: Path, vars_json: str,
                        args_for: Any) -> None:
    """Start `dbt parse` of `dbt_dir` with `vars_json` in a daemon thread (once per process until taken).

    `args_for(command, target_dir)` gives dbt's arguments as the build passes them (dbt_runner), so that
    the parse is the one the build would make."""
    if _job:
        return
    parse_dir.mkdir(parents=True, exist_ok=True)
    done: dict[str, Any] = {"manifest": None}

    def parse() -> None:
        wait_for_import("dbt.cli.main")
        try:
            from dbt.cli.main import dbtRunner

            with open(parse_dir / "lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # another build holds the folder: the build parses itself
                    return
                target = parse_dir / PREPARSE_DIR
                shutil.rmtree(target, ignore_errors=True)
                args = args_for("parse", target)
                kept = parse_dir / PARSE_FILE
                if kept.exists():
                    args += ["--partial-parse-file-path", str(kept)]
                # the profile as the build renders it: the candidate through the link (dbt_parse)
                old = os.environ.get("PLANWATCH_BUILD_DB")
                os.environ["PLANWATCH_BUILD_DB"] = str(parse_dir / LINK_NAME)
                try:
                    result = dbtRunner().invoke(args)
                finally:
                    if old is None:
                        os.environ.pop("PLANWATCH_BUILD_DB", None)
                    else:
                        os.environ["PLANWATCH_BUILD_DB"] = old
                new = target / PARSE_FILE
                if result.success and new.exists():  # a parse from scratch: kept for the next build too
                    shutil.copyfile(new, parse_dir / (PARSE_FILE + ".new"))
                    os.replace(parse_dir / (PARSE_FILE + ".new"), kept)
                shutil.rmtree(target, ignore_errors=True)
                if result.success:
                    done["manifest"] = result.result
        except Exception:  # noqa: BLE001 - the build parses again and meets the error where it is reported
            log.debug("parsing the dbt project ahead failed", exc_info=True)

    thread = threading.Thread(target=parse, name="dbt-parse-ahead", daemon=True)
    _job.update(thread=thread, key=_key(dbt_dir, parse_dir, vars_json), done=done)
    thread.start()


def wait() -> None:
    """Block until a parse started ahead has ended (it holds the parse folder's lock meanwhile)."""
    if _job:
        _job["thread"].join()


def take(dbt_dir: Path, parse_dir: Path | None, vars_json: str, dbt_db: Path) -> Any | None:
    """The manifest parsed ahead if it fits this build (waiting for the parse to end), else None.
    Taken once: a later build parses itself."""
    if not _job:
        return None
    job = dict(_job)
    _job.clear()
    job["thread"].join()
    manifest = job["done"]["manifest"]
    if manifest is None or parse_dir is None:
        return None
    if job["key"] != _key(dbt_dir, parse_dir, vars_json) or dbt_db != parse_dir / LINK_NAME:
        return None
    return manifest


def discard() -> None:
    """Forget a parse made ahead (a process that builds no more)."""
    if _job:
        _job["thread"].join()
        _job.clear()
