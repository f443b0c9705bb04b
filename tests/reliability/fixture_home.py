"""A small, complete planwatch home for the reliability tests, written from tests/fixtures/ingest/.

The reliability tests run the whole pipeline many times (and kill it on purpose), so they use the
tiny catalog and plans the dbt tests are built on, turned back into the raw files a real home
holds: reference CSVs, one plan CSV per region and document kind, and one statistics submission
per `file_seq` of `stat_observations.csv`. The pipeline reads them through every real stage.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INGEST_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ingest"

STAT_COLUMNS = ["region_code", "period", "indicator_code", "breakdown", "value", "unit", "numerator",
                "denominator", "reported_on", "source"]


def _read(name: str) -> list[dict[str, str]]:
    with (INGEST_FIXTURES / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def _period_end(period: str) -> date:
    year = int(period[:4])
    quarter = int(period[5]) if len(period) == 6 else 4
    month = quarter * 3
    return (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)


def write_reference_and_plans(raw: Path) -> None:
    from planwatch.ingest.load_plans import COMPLETION_COLUMNS, PLAN_COLUMNS, PROSE_COLUMNS

    aliases = {r["alias"]: r["indicator_code"] for r in _read("indicator_aliases")}
    for name in ("regions", "indicators", "indicator_aliases", "units"):
        rows = _read(name)
        _write(raw / "reference" / f"{name}.csv", list(rows[0].keys()), rows)
    # The periods have one home, the repository's raw/reference.
    (raw / "reference" / "plan_periods.csv").write_bytes((REPO_ROOT / "raw" / "reference" / "plan_periods.csv").read_bytes())
    for folder, columns in (("plan_indicators", PLAN_COLUMNS), ("plan_completion", COMPLETION_COLUMNS),
                            ("plan_prose_targets", PROSE_COLUMNS)):
        by_file: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in _read(folder):
            # The dbt fixture leaves one code empty to test alias resolution in dbt; a reviewed plan file
            # carries the code, and the plan_consistency suite blocks a publish without it.
            row["indicator_code"] = row["indicator_code"] or aliases.get(row["indicator_name"], "")
            if folder == "plan_indicators" and row["indicator_code"] == "ELD_BEDS_PER_1000":
                row["target_value"] = "45"  # the dbt fixture's 42 -> 40 contradicts `increase` on purpose
            by_file[f"{row['region_code']}_{row['plan']}"].append(row)
        for stem, rows in by_file.items():
            _write(raw / folder / f"{stem}.csv", columns, rows)


def statistics_files() -> dict[int, list[dict[str, str]]]:
    """Submission rows by `file_seq`, with a `reported_on` 20 days after the period ends."""
    files: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in _read("stat_observations"):
        row = dict(row)
        row["reported_on"] = (_period_end(row["period"]) + timedelta(days=20)).isoformat()
        if row["indicator_code"] == "AST_APPROVAL_DAYS" and row["value"] == "18.5":
            row["value"] = "19"  # a count: the raw suite blocks fractions, and this home must publish
        files[int(row["file_seq"])].append(row)
    return dict(files)


def write_statistics(raw: Path, seqs: tuple[int, ...] | None = None) -> list[Path]:
    """Write the submissions `seqs` (all by default) as raw/statistics/fixture_<seq>.csv."""
    written = []
    for seq, rows in sorted(statistics_files().items()):
        if seqs is not None and seq not in seqs:
            continue
        path = raw / "statistics" / f"submission_{seq:02d}.csv"
        _write(path, STAT_COLUMNS, rows)
        written.append(path)
    return written


def make_home(home: Path, seqs: tuple[int, ...] | None = None) -> Path:
    raw = home / "raw"
    write_reference_and_plans(raw)
    (raw / "plans").mkdir(parents=True, exist_ok=True)
    (raw / "statistics").mkdir(parents=True, exist_ok=True)
    write_statistics(raw, seqs)
    return home
