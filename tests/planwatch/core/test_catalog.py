"""The catalog's bounds: one rule, read by the loader and the checks alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from planwatch.core.catalog import Catalog

REFERENCE = Path(__file__).resolve().parents[3] / "raw" / "reference"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(REFERENCE)


def test_printed_names_of_different_cities_resolve_to_one_code(catalog: Catalog) -> None:
    names = ("护理型床位占养老机构床位比例", "护理型床位占养老机构床位总数的比例")
    assert {catalog.resolve_name(n) for n in names} == {"ELD_NURSING_BED_SHARE"}
    assert catalog.resolve_name("没有这个指标") is None


def test_units_convert_within_a_dimension_only(catalog: Catalog) -> None:
    assert catalog.convert(2.5, "‰", "%") == pytest.approx(0.25)
    assert catalog.convert(1.2, "万人", "人") == pytest.approx(12000)
    assert catalog.convert(5, "%", "人") is None


def test_bounds_of_a_share_and_a_count(catalog: Catalog) -> None:
    assert catalog.bound_violation("ELD_NURSING_BED_SHARE", 100.0) is None
    assert "above the upper bound 100" in (catalog.bound_violation("ELD_NURSING_BED_SHARE", 130.0) or "")
    assert "below the lower bound 0" in (catalog.bound_violation("ELD_NURSING_BED_SHARE", -1.0) or "")
    assert "not a finite number" in (catalog.bound_violation("ELD_NURSING_BED_SHARE", float("nan")) or "")
    integral = next(code for code, ind in catalog.indicators.items() if ind.is_integral)
    assert "not a whole number" in (catalog.bound_violation(integral, 3.5) or "")


def test_an_empty_bound_falls_back_to_what_the_unit_allows(catalog: Catalog) -> None:
    from dataclasses import replace

    code = "ELD_NURSING_BED_SHARE"
    catalog.indicators[code] = replace(catalog.indicators[code], lower_bound=None, upper_bound=None)
    assert catalog.effective_bounds(code) == (0.0, 100.0)


def test_a_share_is_scaled_by_the_loaders_ratio_scale_which_is_100_over_its_units_factor(
        catalog: Catalog) -> None:
    from planwatch.core.normalize import ratio_scale

    shares = {u.unit: u for u in catalog.units.values() if u.dimension == "share"}
    assert set(shares) == {"%", "％", "‰"}
    for unit in shares.values():  # what the unit table says a share is
        assert ratio_scale(unit.unit) == pytest.approx(100.0 / unit.factor), unit.unit
    assert catalog.share_scale("ELD_NURSING_BED_SHARE") == 100.0
    assert catalog.share_scale("ORG_SOCIAL_WORKER_POP_SHARE") == 1000.0
    beds_per_thousand = next(c for c, i in catalog.indicators.items() if i.unit == "张/千名老人")
    assert catalog.share_scale(beds_per_thousand) is None  # a rate per thousand elderly, not a share
    assert ratio_scale("张/千名老人") == 1000.0            # the loader still scales its ratio
