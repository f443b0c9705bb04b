"""Builds of the dbt project from the tiny ingest fixture (tests/fixtures/ingest/), shared per module."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_BUILDER = REPO_ROOT / "tests" / "fixtures" / "ingest" / "build_ingest.py"
DBT_DIR = REPO_ROOT / "dbt"


def load_fixture_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("planwatch_ingest_fixture", FIXTURE_BUILDER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_ingest() -> Callable[..., Path]:
    return load_fixture_builder().build_ingest  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def dbt_dir() -> Path:
    return DBT_DIR


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, build_ingest: Callable[..., Path],
          dbt_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The fixture ingest store built by dbt for 2023Q4: (candidate file, build metrics). Read it, or copy it."""
    from planwatch.build.candidate import build_from_ingest
    from planwatch.core.periods import Quarter

    tmp = tmp_path_factory.mktemp("marts")
    ingest = build_ingest(tmp / "ingest.duckdb")
    candidate = tmp / "candidate.duckdb"
    # with dbt's unit tests, which a pipeline run leaves out (planwatch.build.candidate)
    metrics = build_from_ingest(ingest, candidate, Quarter.parse("2023Q4"), dbt_dir, work_dir=tmp / "work",
                                logic_tests=True)
    return candidate, metrics
