"""The published warehouse is written in DuckDB 1.4's storage format, so that BI tools bundling
DuckDB 1.4 or 1.5 can open it (DuckDB 2.0's own format is refused by them). `make test-deploy`
opens it with a real DuckDB 1.4 client; here the file headers are checked."""

from __future__ import annotations

from pathlib import Path

from conftest import RUN_ID
from planwatch.core.config import Settings
from planwatch.core.db import STORAGE_VERSION_NUMBER, storage_version_number


def test_full_and_incremental_builds_keep_duckdb_1_4s_format(template_home: Path, built_home: Path) -> None:
    published = Settings(home=template_home).published_db  # a full refresh, published
    extended = Settings(home=built_home).candidate_db(RUN_ID)  # the next quarter, extending a copy of it
    assert STORAGE_VERSION_NUMBER == 67  # DuckDB 1.4.x and 1.5.x read 64..67; 2.0 writes 69 by default
    assert storage_version_number(published) == 67
    assert storage_version_number(extended) == 67
    assert storage_version_number(Settings(home=template_home).ingest_db) == 67
