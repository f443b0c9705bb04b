"""One test per normalisation rule of planwatch.core.normalize."""

from __future__ import annotations

from datetime import date

import pytest

from planwatch.core.normalize import (
    NotANumber,
    format_number,
    is_missing,
    normalize_breakdown,
    normalize_unit,
    parse_number,
    parse_reported_on,
    parse_value,
    ratio_scale,
    to_halfwidth,
)


def test_plain_decimal() -> None:
    assert parse_value("12.5").value == 12.5
    assert parse_value(" -3 ").value == -3.0
    assert parse_value(".5").value == 0.5


@pytest.mark.parametrize("text, expected", [("１２．５", 12.5), ("４５％", 45.0), ("－３", -3.0), ("１，２３４", 1234.0)])
def test_full_width_digits(text: str, expected: float) -> None:
    assert parse_value(text).value == expected


@pytest.mark.parametrize("text, expected", [("1,234", 1234.0), ("12,345,678.9", 12345678.9), ("-1,000", -1000.0)])
def test_thousands_separators(text: str, expected: float) -> None:
    assert parse_value(text).value == expected


@pytest.mark.parametrize("text", ["1,2", "12,34", "1,2345"])
def test_comma_that_is_not_a_thousands_separator_is_refused(text: str) -> None:
    with pytest.raises(NotANumber, match="not one number"):
        parse_value(text)


def test_trailing_percent_is_kept_as_the_cell_unit() -> None:
    parsed = parse_value("45.6%")
    assert (parsed.value, parsed.unit) == (45.6, "%")
    assert parse_value("45.6 ％").unit == "%"


def test_unit_typed_in_the_value_cell() -> None:
    parsed = parse_value("1.2万人")
    assert (parsed.value, parsed.unit) == (1.2, "万人")
    assert parse_value("3 张/千名老人").unit == "张/千名老人"


@pytest.mark.parametrize("text", ["", "  ", "--", "—", "——", "-", "/", "N/A", "－－", None])
def test_missing_markers(text: str | None) -> None:
    assert parse_value(text).value is None
    assert is_missing(text)


@pytest.mark.parametrize("text", ["待核实", "abc", "约12", "≥90", "1.2.3", "12 345", "12-3", "1_000", "nan", "inf"])
def test_not_a_number(text: str) -> None:
    with pytest.raises(NotANumber) as info:
        parse_value(text)
    assert text in str(info.value)


def test_scientific_notation_is_a_number() -> None:
    assert parse_value("1e3").value == 1000.0


def test_numerator_must_be_a_bare_number() -> None:
    assert parse_number("1,200") == 1200.0
    assert parse_number("") is None
    with pytest.raises(NotANumber, match="without a unit"):
        parse_number("1200人")


def test_unit_normalisation() -> None:
    assert normalize_unit(" ％ ") == "%"
    assert normalize_unit("万 人") == "万人"
    assert normalize_unit(None) == ""
    assert to_halfwidth("２０２３．５") == "2023.5"


@pytest.mark.parametrize("text, expected", [("", ""), ("合计", ""), ("urban", "urban"), ("城镇", "urban"),
                                            ("Rural", "rural"), ("农村", "rural"), ("suburb", None)])
def test_breakdown(text: str, expected: str | None) -> None:
    assert normalize_breakdown(text) == expected


@pytest.mark.parametrize("text", ["2023-07-20", "2023/7/20", "2023.07.20", "20230720", "2023年7月20日",
                                  "2023-07-20 00:00:00", "２０２３-０７-２０"])
def test_reported_on_forms(text: str) -> None:
    assert parse_reported_on(text) == date(2023, 7, 20)


def test_reported_on_empty_and_bad() -> None:
    assert parse_reported_on("") is None
    with pytest.raises(ValueError, match="not a date"):
        parse_reported_on("20231320")


@pytest.mark.parametrize("unit, scale", [("%", 100.0), ("‰", 1000.0), ("张/千名老人", 1000.0), ("个/万人", 10000.0),
                                         ("人", 1.0)])
def test_ratio_scale(unit: str, scale: float) -> None:
    assert ratio_scale(unit) == scale


def test_format_number_has_no_exponent_or_trailing_zeros() -> None:
    assert format_number(1234567.5) == "1234567.5"
    assert format_number(12.0) == "12"
    assert format_number(0.125, 6) == "0.125"
    assert format_number(-0.001) == "0"


@pytest.mark.parametrize("text, expected", [
    ("true", True), (" TRUE ", True), ("1", True), ("yes", True), ("Y", True), ("t", True),
    ("false", False), ("0", False), ("no", False), ("", False), (None, False), ("是", False),
])
def test_parse_bool(text: str | None, expected: bool) -> None:
    from planwatch.core.normalize import parse_bool

    assert parse_bool(text) is expected


def test_sql_booleans_read_the_same_texts_as_parse_bool() -> None:
    """dbt's as_boolean macro keeps a copy of TRUE_TEXTS, pinned here (the GX suites read the
    catalog's booleans as the loader derived them, from raw.indicator_rules)."""
    import re
    from pathlib import Path

    from planwatch.core.normalize import TRUE_TEXTS

    repo = Path(__file__).resolve().parents[3]
    macro = (repo / "dbt" / "macros" / "casts.sql").read_text(encoding="utf-8")
    body = macro[macro.index("macro as_boolean"):].split("endmacro")[0]
    listed = re.search(r"\) in \(([^)]*)\)", body)
    assert listed is not None, "as_boolean no longer lists its true texts as `in (...)`"
    assert tuple(t.strip().strip("'") for t in listed.group(1).split(",")) == TRUE_TEXTS

