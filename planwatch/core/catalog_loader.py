"""The catalog every stage loads (`load_catalog`): raw/reference, plus the reference data that travels
with a simulated submission set, outside the committed reference files.

The simulator (planwatch.demo.simulate) writes that data; the stages read it here. The simulator's synthetic county regions need a regions row and a plan so that their statistics
resolve. It writes them into a `_reference/` folder inside its output folder under
`raw/statistics/`:

    raw/statistics/<set>/_reference/regions_simulated.csv         same columns as raw/reference/regions.csv
    raw/statistics/<set>/_reference/plan_indicators/<name>.csv     same columns as raw/plan_indicators/*.csv

`register_files` never registers anything under a `_reference/` folder as a submission. The
statistics loader adds these regions to the catalog (`load_catalog`), and the plan loader reads
`simulated_plan_files(settings)` beside `raw/plan_indicators/`. Deleting the set removes both.
"""

from __future__ import annotations

import csv
from pathlib import Path

from planwatch.core.catalog import Catalog, Region
from planwatch.core.config import Settings
from planwatch.core.errors import ConfigError

REFERENCE_DIRNAME = "_reference"
REGIONS_FILENAME = "regions_simulated.csv"
PLANS_DIRNAME = "plan_indicators"
REGION_COLUMNS = ("region_code", "region_name_zh", "region_name_en", "level", "parent_code",
                  "parent_name_zh", "is_simulated")


def reference_dirs(settings: Settings) -> list[Path]:
    """Every `_reference/` folder under raw/statistics, in path order."""
    root = settings.statistics_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob(REFERENCE_DIRNAME) if p.is_dir())


def simulated_region_files(settings: Settings) -> list[Path]:
    return [d / REGIONS_FILENAME for d in reference_dirs(settings) if (d / REGIONS_FILENAME).is_file()]


def simulated_plan_files(settings: Settings) -> list[Path]:
    """Plan indicator CSVs of simulated regions, to be loaded like raw/plan_indicators/*.csv."""
    return [p for d in reference_dirs(settings) for p in sorted((d / PLANS_DIRNAME).glob("*.csv"))]


def read_simulated_regions(path: Path) -> list[Region]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            Region(
                code=(r.get("region_code") or "").strip(), name_zh=(r.get("region_name_zh") or "").strip(),
                name_en=(r.get("region_name_en") or "").strip(), level=(r.get("level") or "").strip(),
                parent_code=(r.get("parent_code") or "").strip(), is_simulated=True,
            )
            for r in csv.DictReader(fh)
        ]


def load_catalog(settings: Settings) -> Catalog:
    """The catalog of raw/reference plus the regions of every simulated set under raw/statistics."""
    catalog = Catalog.load(settings.reference_dir)
    for path in simulated_region_files(settings):
        for region in read_simulated_regions(path):
            known = catalog.regions.get(region.code)
            if known is not None and not known.is_simulated:
                raise ConfigError(
                    f"`region_code={region.code}` in {path} is a simulated region with the code of the real region "
                    f"{known.name_zh}; delete {path.parent.parent} and run the simulator again"
                )
            catalog.regions[region.code] = region
    return catalog
