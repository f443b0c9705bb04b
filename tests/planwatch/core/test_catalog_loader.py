"""planwatch.core.catalog_loader: the catalog every stage loads, with the regions of simulated sets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from planwatch.core.catalog_loader import (REGION_COLUMNS, load_catalog, reference_dirs, simulated_plan_files,
                                          simulated_region_files)
from planwatch.core.config import Settings
from planwatch.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def _home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path)
    shutil.copytree(REPO / "raw" / "reference", settings.reference_dir)
    return settings


def _simulated_set(settings: Settings, name: str, regions: list[tuple[str, str]]) -> Path:
    ref = settings.statistics_dir / name / "_reference"
    (ref / "plan_indicators").mkdir(parents=True)
    lines = [",".join(REGION_COLUMNS)] + [f"{code},{zh},Sim {code},county,320500,苏州市,true" for code, zh in regions]
    (ref / "regions_simulated.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (ref / "plan_indicators" / f"{name}_14th.csv").write_text("region_code\n", encoding="utf-8")
    return ref


def test_without_simulated_sets_the_catalog_is_raw_reference(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    catalog = load_catalog(settings)
    assert reference_dirs(settings) == [] and simulated_plan_files(settings) == []
    assert catalog.regions["320583"].name_zh == "昆山市" and catalog.regions["320583"].is_simulated is False
    assert len(catalog.regions) == sum(1 for _ in (settings.reference_dir / "regions.csv").open()) - 1


def test_the_regions_of_every_simulated_set_join_the_catalog_as_simulated(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    b = _simulated_set(settings, "set_b", [("990002", "模拟县二")])
    a = _simulated_set(settings, "set_a", [("990001", "模拟县一")])
    assert reference_dirs(settings) == [a, b]
    assert simulated_region_files(settings) == [a / "regions_simulated.csv", b / "regions_simulated.csv"]
    assert [p.name for p in simulated_plan_files(settings)] == ["set_a_14th.csv", "set_b_14th.csv"]
    catalog = load_catalog(settings)
    region = catalog.regions["990001"]
    assert (region.name_zh, region.level, region.parent_code, region.is_simulated) == ("模拟县一", "county", "320500", True)
    assert catalog.regions["990002"].is_simulated and not catalog.regions["320583"].is_simulated


def test_a_simulated_region_with_a_real_regions_code_is_refused_naming_the_file(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    ref = _simulated_set(settings, "clash", [("320583", "假昆山")])
    with pytest.raises(ConfigError, match=r"`region_code=320583` in .*clash/_reference/regions_simulated\.csv is a "
                                          r"simulated region with the code of the real region 昆山市; delete .*clash"):
        load_catalog(settings)
    assert ref.exists()  # refused, nothing deleted for the user
