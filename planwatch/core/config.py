"""Where planwatch reads and writes: one home folder, overridable by `PLANWATCH_HOME`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """All paths of one planwatch installation. Code (dbt, expectations) stays in the repository."""

    home: Path
    code_root: Path = REPO_ROOT

    @classmethod
    def from_env(cls) -> "Settings":
        home = Path(os.environ.get("PLANWATCH_HOME", str(REPO_ROOT))).resolve()
        return cls(home=home)

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def reference_dir(self) -> Path:
        return self.raw_dir / "reference"

    @property
    def plan_indicators_dir(self) -> Path:
        return self.raw_dir / "plan_indicators"

    @property
    def plan_completion_dir(self) -> Path:
        return self.raw_dir / "plan_completion"

    @property
    def plan_prose_dir(self) -> Path:
        return self.raw_dir / "plan_prose_targets"

    @property
    def plans_dir(self) -> Path:
        return self.raw_dir / "plans"

    @property
    def statistics_dir(self) -> Path:
        return self.raw_dir / "statistics"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def ingest_db(self) -> Path:
        return self.warehouse_dir / "ingest.duckdb"

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / "planwatch.duckdb"

    @property
    def candidates_dir(self) -> Path:
        return self.warehouse_dir / "candidates"

    @property
    def versions_dir(self) -> Path:
        return self.warehouse_dir / "versions"

    @property
    def parquet_dir(self) -> Path:
        return self.warehouse_dir / "parquet"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dbt_dir(self) -> Path:
        return self.code_root / "dbt"

    @property
    def expectations_dir(self) -> Path:
        return self.code_root / "expectations"

    def candidate_db(self, run_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)
        return self.candidates_dir / f"{safe}.duckdb"

    def ensure_dirs(self) -> None:
        for path in (self.warehouse_dir, self.candidates_dir, self.versions_dir, self.reports_dir,
                     self.statistics_dir, self.plans_dir):
            path.mkdir(parents=True, exist_ok=True)
