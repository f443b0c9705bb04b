"""Session fixtures of `make test-spark`: the fixture and transition warehouses built on both
engines (tests/spark/engines.py says which)."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import pytest

from tests.spark.engines import DBT_DIR, FIXTURE_BUILDER, REPO_ROOT, TRANSITION, EngineBuilds, build_on_spark


@pytest.fixture(scope="session")
def fixture_builds(tmp_path_factory: pytest.TempPathFactory) -> EngineBuilds:
    from planwatch.build.candidate import build_from_ingest
    from planwatch.core.periods import Quarter

    tmp = tmp_path_factory.mktemp("engines-fixture")
    spec = importlib.util.spec_from_file_location("planwatch_ingest_fixture", FIXTURE_BUILDER)
    assert spec and spec.loader
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    ingest = builder.build_ingest(tmp / "ingest.duckdb")
    candidate = tmp / "candidate.duckdb"
    duck = build_from_ingest(ingest, candidate, Quarter.parse("2023Q4"), DBT_DIR, work_dir=tmp / "duckdb-work",
                            logic_tests=True)
    spark = build_on_spark(ingest, "2023Q4", tmp / "spark")
    return EngineBuilds("fixture", "2023Q4", candidate, dict(duck), tmp / "spark" / "marts", spark)


@pytest.fixture(scope="session")
def transition_builds(tmp_path_factory: pytest.TempPathFactory) -> EngineBuilds:
    sys.path.insert(0, str(REPO_ROOT / "tests" / "reliability"))
    from fixture_home import make_home

    from planwatch.core.config import Settings
    from planwatch.run.pipeline import run_all

    tmp = tmp_path_factory.mktemp("engines-transition")
    home = make_home(tmp / "home")
    shutil.copy(TRANSITION / "330100_15th.csv", home / "raw" / "plan_indicators" / "330100_15th.csv")
    shutil.copy(TRANSITION / "statistics_2025_2026.csv", home / "raw" / "statistics" / "submission_2026.csv")
    settings = Settings(home=home)
    settings.ensure_dirs()
    results = run_all("2026Q2", "engines_test", settings)
    assert results["publish"].get("published", True), results["publish"]
    spark = build_on_spark(settings.ingest_db, "2026Q2", tmp / "spark")
    return EngineBuilds("transition", "2026Q2", settings.published_db, dict(results["dbt_build"]),
                        tmp / "spark" / "marts", spark, parquet_export=settings.parquet_dir)


@pytest.fixture(scope="session", params=["fixture", "transition"])
def builds(request: pytest.FixtureRequest) -> EngineBuilds:
    return request.getfixturevalue(f"{request.param}_builds")  # type: ignore[no-any-return]
