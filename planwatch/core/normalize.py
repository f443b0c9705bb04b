"""What people actually type into a statistics submission, turned into numbers, units and dates.

Each rule is a small pure function so that it can be tested on its own. A value that cannot be
read raises `NotANumber` with a sentence a submitter understands; nothing here guesses silently:
callers keep the raw text beside what these functions return.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

# Full-width forms (Chinese input methods) of the characters that occur in numbers and units.
_HALFWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "．": ".", "，": ",", "－": "-", "＋": "+", "％": "%", "　": " ", "／": "/", "：": ":",
        "。": ".",  # a full stop typed for a decimal point in a number cell
    }
)

# Cell contents that mean "no figure reported" in government spreadsheets.
MISSING_MARKERS = frozenset({"", "-", "--", "---", "—", "——", "–", "/", "…", "……", "n/a", "na", "null", "none"})

_NUMBER = re.compile(
    r"^(?P<sign>[+-])?(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?P<frac>\.\d+)?\s*(?P<rest>.*)$"
)
_DIGIT = re.compile(r"\d")
_DATE_FORMS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")

# The texts that mean true in a catalog's yes/no column (is_integral, has_components, is_simulated);
# anything else, the empty cell included, is false. The GX suites read is_integral as the catalog
# derived it (raw.indicator_rules); dbt's as_boolean macro is pinned to this tuple by a test.
TRUE_TEXTS = ("true", "1", "yes", "y", "t")

BREAKDOWNS = {
    "": "", "total": "", "合计": "", "全部": "", "总计": "",
    "urban": "urban", "城镇": "urban", "城市": "urban",
    "rural": "rural", "农村": "rural", "乡村": "rural",
}


class NotANumber(ValueError):
    """A value cell that is neither a number nor a missing marker."""


@dataclass(frozen=True)
class ParsedValue:
    """A value cell read: `value` None means the submitter marked the figure as missing."""

    value: float | None
    unit: str | None  # a unit typed after the number in the same cell (`45%`, `1.2万人`)


def to_halfwidth(text: str) -> str:
    """Full-width digits, points, signs and `％` as their ASCII forms."""
    return text.translate(_HALFWIDTH)


def is_missing(text: str | None) -> bool:
    """True for an empty cell or a dash-like marker (`--`, `—`, `/`)."""
    return text is None or to_halfwidth(text).strip().lower() in MISSING_MARKERS


def normalize_unit(text: str | None) -> str:
    """A unit as the catalog spells it: half-width, no spaces (`％ ` → `%`, `万 人` → `万人`)."""
    return "".join(to_halfwidth(text or "").split())


def parse_value(text: str | None) -> ParsedValue:
    """Read a value cell: `1,234.5`, `１２３`, `45%`, `1.2万人`, `--` (missing).

    Raises NotANumber for anything else, naming the cell's text.
    """
    if text is None:
        return ParsedValue(None, None)
    try:
        # The common case, a plain decimal, without the regular expression.
        v = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise NotANumber(f"value '{text}' is not a finite number")
        if "_" not in text:  # float() accepts 1_000; a submitter did not mean that
            return ParsedValue(v, None)
    t = to_halfwidth(text).strip()
    if t.lower() in MISSING_MARKERS:
        return ParsedValue(None, None)
    if t.startswith("="):
        raise NotANumber(f"value '{text}' is a spreadsheet formula whose result is not saved in the file "
                         "(open and save it in Excel, or paste the values)")
    m = _NUMBER.match(t)
    if m is None or not (m.group("int") or m.group("frac")):
        raise NotANumber(f"value '{text}' is not a number (write digits such as 12.5, or -- when there is no figure)")
    rest = normalize_unit(m.group("rest"))
    if _DIGIT.search(rest) or rest[:1] in (".", ",", "-", "+"):
        raise NotANumber(f"value '{text}' is not one number (write one decimal number such as 12.5)")
    number = float((m.group("sign") or "") + (m.group("int") or "0").replace(",", "") + (m.group("frac") or ""))
    return ParsedValue(number, rest or None)


def parse_number(text: str | None) -> float | None:
    """A numerator or denominator cell: a number (full-width, thousands separators allowed) or missing."""
    parsed = parse_value(text)
    if parsed.unit:
        raise NotANumber(f"'{text}' should be a bare number without a unit")
    return parsed.value


def normalize_breakdown(text: str | None) -> str | None:
    """`urban`, `rural`, or '' for the total; None when the cell is none of these."""
    return BREAKDOWNS.get(normalize_unit(text).lower())


def parse_reported_on(text: str | None) -> date | None:
    """A date in one of the forms spreadsheets export (2023-07-20, 2023/7/20, 2023年7月20日); None if empty."""
    t = to_halfwidth(text or "").strip()
    if not t:
        return None
    # Spreadsheets export dates with a time part: 2023-07-20 00:00:00 or 2023-07-20T00:00:00.
    t = t.replace("T", " ").split(" ")[0]
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(t, form).date()
        except ValueError:
            continue
    raise ValueError(f"reported_on '{text}' is not a date (write YYYY-MM-DD, e.g. 2023-07-20)")


def parse_bool(text: str | None) -> bool:
    """A yes/no cell of the catalog as a boolean: one of TRUE_TEXTS (any case, trimmed) is true."""
    return (text or "").strip().lower() in TRUE_TEXTS


def ratio_scale(unit: str) -> float:
    """The factor in value = numerator / denominator × scale for a ratio unit (`%` → 100, `张/千名老人` → 1000)."""
    u = normalize_unit(unit)
    if "%" in u:
        return 100.0
    if "‰" in u:
        return 1000.0
    for marker, scale in (("/万", 10000.0), ("/千", 1000.0), ("/百", 100.0), ("每万", 10000.0), ("每千", 1000.0)):
        if marker in u:
            return scale
    return 1.0


def format_number(value: float, decimals: int = 2) -> str:
    """A value as a plain decimal string, no exponent and no trailing zeros (1234567.5, 12, 0.25)."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
