"""Builds of the dbt project from the tiny ingest fixture (tests/fixtures/ingest/), shared per module."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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
