"""Closed vocabularies and small records shared by the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union, get_args

from planwatch.core.periods import Quarter

TStage = Literal[
    "register_files",
    "load_plans",
    "load_statistics",
    "validate_raw",
    "dbt_build",
    "validate_marts",
    "publish",
    "report",
]
# The stages in run order, read from TStage so the two cannot drift apart.
STAGES: tuple[TStage, ...] = get_args(TStage)
# Stages of one run that run side by side: the DAG's parallel tasks, run_all's two processes. Neither
# reads what the other writes: validate_raw reads the ingest store and writes only its findings there
# (publish gates on them), dbt_build reads the store only to snapshot it and then writes only its
# candidate. Together they keep both cores busy where dbt alone leaves about a third of them idle
# (bench/README.md, eleventh pass). The first runs in a process of its own under run_all.
CONCURRENT_STAGES: tuple[TStage, ...] = ("validate_raw", "dbt_build")
# Under run_all the checks' process, having imported GX for the first, runs this stage too once the build
# has passed, so that the run imports GX once, not in both processes (3-4 s of CPU beside the load and the
# build's start; bench/README.md, thirteenth pass). The DAG runs it as a task of its own, as before.
CHECKS_AFTER_BUILD: TStage = "validate_marts"
# Two processes hold two DuckDB memory limits: at 4x national (11,400 regions) the pair peaked at
# 2,649 MiB against 1,695 MiB one after the other (bench/README.md). `0` runs them one after the other.
SIDE_BY_SIDE_ENV = "PLANWATCH_SIDE_BY_SIDE"


def side_by_side() -> bool:
    """Whether CONCURRENT_STAGES run side by side (the default) or one after the other (SIDE_BY_SIDE_ENV=0)."""
    import os

    return os.environ.get(SIDE_BY_SIDE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")

TSeverity = Literal["error", "warn"]
TDirection = Literal["increase", "decrease", "maintain"]
TMeasure = Literal["stock", "flow"]

# What a stage reports: small numbers and short strings only (they travel through XCom).
Metrics = dict[str, Union[int, float, str, bool, None]]


@dataclass(frozen=True)
class RunContext:
    """One pipeline run: the quarter it publishes and its id (Airflow's run id, or one we make)."""

    run_id: str
    quarter: Quarter
    extra: dict[str, str] = field(default_factory=dict)
