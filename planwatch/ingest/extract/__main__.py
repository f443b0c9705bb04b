"""`python -m planwatch.ingest.extract PLAN.txt [--completion | --prose] [--region-code CODE]`

Writes draft rows as CSV to stdout (with an extra `ambiguous` column) and, per document, the rows
found and the rows ambiguous to stderr.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from planwatch.core.catalog import REFERENCE_FILES, Catalog
from planwatch.core.config import Settings
from planwatch.core.errors import PlanwatchError
from planwatch.ingest.extract.document import extract_document
from planwatch.ingest.extract.rows import (
    COMPLETION_COLUMNS,
    EXTRA_COLUMN,
    INDICATOR_COLUMNS,
    INDICATOR_REVIEW_COLUMNS,
    PROSE_COLUMNS,
    REVIEW_COLUMNS,
    with_annual_columns,
)
from planwatch.core.plan_periods import annual_columns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planwatch.ingest.extract", description=__doc__)
    parser.add_argument("documents", nargs="+", type=Path, help="plan document(s), UTF-8 text")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--completion", action="store_true", help="the previous plan's completion tables")
    which.add_argument("--prose", action="store_true", help="targets stated in prose")
    parser.add_argument("--region-code", default=None, help="override the region found in the title")
    parser.add_argument("--reference-dir", type=Path, default=None,
                        help="catalog folder (default: raw/reference of PLANWATCH_HOME)")
    args = parser.parse_args(argv)
    kind = "completion" if args.completion else "prose" if args.prose else "indicators"
    # the review columns come last, as in the reviewed files (target_kind holds the extractor's proposal)
    columns = {"indicators": INDICATOR_COLUMNS + INDICATOR_REVIEW_COLUMNS,
               "completion": COMPLETION_COLUMNS + REVIEW_COLUMNS,
               "prose": PROSE_COLUMNS + INDICATOR_REVIEW_COLUMNS}[kind]
    reference_dir = args.reference_dir or Settings.from_env().reference_dir
    catalog = None
    if all((reference_dir / f).exists() for f in REFERENCE_FILES):
        catalog = Catalog.load(reference_dir)
    else:
        print(f"warning: no catalog in {reference_dir}: indicator codes are left empty and glued "
              f"numbers are split with unit rules only", file=sys.stderr)
    status = 0
    results = []
    for path in args.documents:
        try:
            results.append(extract_document(path, catalog, args.region_code))
        except PlanwatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = exc.exit_code
    # the annual-target columns are the years of the documents' periods (target_2026 … for a 15th plan)
    annual = annual_columns(sorted({c for r in results for row in r.of(kind) for c in row}))
    header = list(columns)
    if kind == "indicators":
        header = [*with_annual_columns(INDICATOR_COLUMNS, annual or annual_columns(INDICATOR_COLUMNS)),
                  *INDICATOR_REVIEW_COLUMNS]
    writer = csv.DictWriter(sys.stdout, fieldnames=[*header, EXTRA_COLUMN], extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerows(result.of(kind))
        for message in result.messages:
            print(message, file=sys.stderr)
        print(result.summary(kind), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
