"""Test-wide setup: Airflow and planwatch point at throwaway folders, never at the repository's."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from planwatch.core.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = Path(os.environ.get("PLANWATCH_SEEDS_DIR", REPO_ROOT.parent / "shared" / "seeds"))

# Airflow reads its configuration at import time, so this must happen before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="planwatch-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture
def planwatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A planwatch home in tmp_path holding a copy of the repository's raw/ reference and plan files
    (but no statistics): tests write their own warehouse there."""
    home = tmp_path / "home"
    raw = home / "raw"
    for sub in ("reference", "plan_indicators", "plan_completion", "plan_prose_targets"):
        src = REPO_ROOT / "raw" / sub
        if src.exists():
            shutil.copytree(src, raw / sub)
        else:
            (raw / sub).mkdir(parents=True)
    (raw / "statistics").mkdir(parents=True)
    (raw / "plans").mkdir(parents=True)
    monkeypatch.setenv("PLANWATCH_HOME", str(home))
    return home


@pytest.fixture
def ingest_settings(tmp_path: Path) -> "Settings":
    """Settings of an empty home in tmp_path whose ingest store has its schema (no rows)."""
    from planwatch.core.config import Settings
    from planwatch.core.db import connect, ensure_ingest_schema

    settings = Settings(home=tmp_path)
    settings.ensure_dirs()
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
    return settings


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
