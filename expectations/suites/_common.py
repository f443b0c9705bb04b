"""What a suite is made of, and the SQL fragments every suite shares.

A `Suite` is a named list of `Rule`s run against one batch (a table or a query) of one DuckDB
file. A rule is either an "unexpected rows" query (GX's `UnexpectedRowsExpectation`: the query
returns the offending rows, their first columns being the keys kept as the finding's sample) or
one of GX's built-in expectations. A query reads the batch as the table `batch_rows`; GX's own
`{batch}` placeholder is added by `Rule.gx_query` (GX substitutes it with `(...) AS subselect`,
so it cannot take an alias of its own). Every rule carries its severity: `error` blocks publishing,
`warn` publishes with the finding recorded.

GX's `unexpected_rows_query` takes no bind parameters, so thresholds are formatted into the
SQL; they reach here only as Python floats/ints (see `Thresholds.load`), never as text from a
file. Literal braces would clash with GX's `{batch}` placeholder, so the SQL here uses none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping


TSeverity = Literal["error", "warn"]
TTarget = Literal["ingest", "candidate"]

THRESHOLD_KEYS: dict[str, type] = {
    "jump_factor": float,
    "history_zscore": float,
    "history_min_points": int,
    "row_drop_fraction": float,
    "ratio_abs_tolerance": float,
    "ratio_rel_tolerance": float,
    "plan_bridge_rel_tolerance": float,
    "sample_size": int,
}


class ThresholdError(ValueError):
    """thresholds.yml is missing a key or holds something that is not a number."""


@dataclass(frozen=True)
class Thresholds:
    jump_factor: float
    history_zscore: float
    history_min_points: int
    row_drop_fraction: float
    ratio_abs_tolerance: float
    ratio_rel_tolerance: float
    plan_bridge_rel_tolerance: float
    sample_size: int

    @classmethod
    def load(cls, path: Path) -> "Thresholds":
        import yaml

        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        values: dict[str, Any] = {}
        for key, kind in THRESHOLD_KEYS.items():
            if key not in data:
                raise ThresholdError(f"`file={path}`: key `{key}` is missing; add it (see the comments there)")
            raw = data[key]
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise ThresholdError(f"`file={path}`: `{key}: {raw!r}` is not a number")
            values[key] = kind(raw)
            if values[key] < 0:
                raise ThresholdError(f"`file={path}`: `{key}: {raw!r}` must not be negative")
        if values["jump_factor"] <= 1:
            raise ThresholdError(f"`file={path}`: `jump_factor` must be greater than 1")
        return cls(**values)


@dataclass(frozen=True)
class SuiteParams:
    """What a suite's rules may depend on besides the data."""

    quarter: str                     # the run's quarter, e.g. 2024Q4
    quarter_index: int               # planwatch.core.periods.Quarter.index of it
    thresholds: Thresholds
    previous_row_counts: Mapping[str, int] = field(default_factory=dict)  # "schema.table" -> rows


@dataclass(frozen=True)
class Rule:
    name: str
    severity: TSeverity
    description: str
    query: str | None = None                           # unexpected rows, keys first; reads batch_rows
    builtin: tuple[str, dict[str, Any]] | None = None  # GX expectation class name and kwargs
    # The query reads its suite's KeptBatch.rule_rows table (kept beside the batch) instead of batch_rows.
    from_kept: bool = False

    def __post_init__(self) -> None:
        if self.severity not in ("error", "warn"):
            raise ValueError(f"rule {self.name}: severity must be error or warn, not {self.severity!r}")
        if (self.query is None) == (self.builtin is None):
            raise ValueError(f"rule {self.name}: give exactly one of query and builtin")
        if self.query is not None and (("batch_rows" not in self.query and not self.from_kept) or "{" in self.query):
            raise ValueError(f"rule {self.name}: the query must read batch_rows and contain no braces")

    def gx_query(self) -> str:
        """The query as GX wants it: the batch bound to `batch_rows` through GX's `{batch}`."""
        assert self.query is not None
        head = "with batch_rows as (select * from {batch})"
        body = self.query.strip()
        if body[:5].lower() == "with ":
            return f"{head}, {body[5:]}"
        return f"{head} {body}"


@dataclass(frozen=True)
class KeptRuleRows:
    """A cross-row rule's offending rows, kept beside the batch and brought up to date with it.

    The rows must be a function of: the batch's rows, `groups_sql` (a set of region_code ×
    indicator_code computed from the whole batch, e.g. the pairs reported only yearly) and
    `inputs_sql` (one row of everything else they depend on, e.g. a checksum of the plan). A row of
    period p then changes only when the batch changed at p (p >= the earliest recomputed period) or
    its pair moved in or out of the groups: planwatch.quality.validate recomputes those rows only, and
    all of them when `inputs_sql` gives another row. `rows_sql(batch, groups, low, changed, high)` selects
    `region_code, indicator_code, breakdown, period_index` of every offending row (low None, changed
    None), or only of those whose period_index >= low or whose pair is in the table `changed`; it
    reads the batch from the table `batch` and the groups from the table `groups`; `high` is the
    batch's last period_index (KeptBatch.high).
    """

    table: str                                        # its table in the kept file (a code constant)
    groups_table: str                                 # the groups as computed last, same file
    groups_sql: Callable[[str], str]
    inputs_sql: Callable[[str], str]
    rows_sql: Callable[[str, str, int | None, str | None, int], str]


@dataclass(frozen=True)
class KeptBatch:
    """How to keep a suite's batch between runs and recompute only the periods that new rows reach.

    `between(low, high)` selects the batch's rows whose `period_index` lies in [low, high] (no lower
    end when `low` is None); it must select exactly the batch's rows of those periods, so that the
    batch kept from an earlier run, with the rows of the periods from `low` on replaced, equals the
    batch computed afresh. `sources_sql` proves which source rows changed since: one row per source
    file, `file_id, rows, checksum, min_index` (its rows, a checksum of every column the batch reads,
    its earliest period_index). planwatch.quality.validate recomputes every period from the earliest one
    of any file whose row, checksum or period changed, was added or went away.
    """

    between: Callable[[int | None, int], str]
    sources_sql: str
    high: int  # the batch's last period_index (the run's quarter): between(None, high) is the batch
    rule_rows: KeptRuleRows | None = None  # a cross-row rule's rows kept with the batch (a rule with from_kept reads them)


@dataclass(frozen=True)
class Suite:
    name: str
    target: TTarget     # which file: the ingest store (raw suites) or the run's candidate (marts)
    batch_sql: str      # the SELECT that defines the batch
    rules: list[Rule]
    # Compute the batch once per run into a scratch table that every rule reads (planwatch.quality.validate
    # does it), instead of GX re-deriving it inside each rule's queries. For batches that are costly
    # to derive (a window over every raw row); the rows and thus the findings are the same.
    materialize: bool = False
    # Keep the materialised batch between runs and recompute only the periods new rows reach (see KeptBatch).
    kept: KeptBatch | None = None
    # Every table ("schema.table") the batch and the rules read. When given, each query rule's rows are
    # kept between runs (planwatch.quality.validate, _update_carried) with a fingerprint of these tables
    # (columns, rows, a hash of every row) and of the suite's SQL, and computed again only when it
    # changed: the plan rules read no statistics, so a new quarter's rows cannot change their findings.
    # GX still runs every rule, on the kept rows. A table left out here would let a change to it go
    # unseen: tests/planwatch/quality/test_validate_carried.py checks the list against the SQL.
    inputs: tuple[str, ...] = ()


def num(column: str) -> str:
    """SQL: a plan value (decimal string as printed, or a number) as DOUBLE; '', '--', '*' are NULL."""
    return f"try_cast(nullif(trim(cast({column} as varchar)), '') as double)"


# The bounds of every indicator, in its canonical unit, as planwatch.core.catalog derives them once
# (`Catalog.rule_rows`, written by the plan loader to raw.indicator_rules): the catalog's
# `lower_bound`/`upper_bound` where given, else what the unit allows (a share in [0, 100 / factor],
# counts and amounts not negative). `share_scale` is what numerator / denominator is multiplied by
# to give a share in that unit.
BOUNDS = """
    select i.indicator_code, i.unit, i.kind, i.measure, i.direction,
           r.lower_bound as lo, r.upper_bound as hi, coalesce(r.is_integral, false) as integral, r.share_scale
    from raw.indicators i
    left join raw.indicator_rules r on r.indicator_code = i.indicator_code
"""


def outside_bounds(value: str, lo: str = "k.lo", hi: str = "k.hi") -> str:
    """SQL predicate: `value` is not finite or lies outside [lo, hi] (a NULL side is open)."""
    return (f"({value} is not null and (isnan({value}) or isinf({value}) "
            f"or ({lo} is not null and {value} < {lo}) or ({hi} is not null and {value} > {hi})))")


def stock_jumped(previous: str, value: str, factor: float) -> str:
    """SQL predicate of the rule `stock_quarter_jump`: both values positive and one more than `factor`
    times the other. Its one home: the raw suite and the submission receipts
    (planwatch/ingest/receipts.py) both use it."""
    return (f"({previous} > 0 and {value} > 0 "
            f"and ({value} / {previous} > {factor!r} or {previous} / {value} > {factor!r}))")


def period_label(index_sql: str) -> str:
    """SQL: `YYYYQn` for a Quarter.index."""
    return f"(cast(({index_sql}) // 4 as varchar) || 'Q' || cast(({index_sql}) % 4 + 1 as varchar))"


def row_count_rule(table: str, params: SuiteParams) -> Rule | None:
    """A sudden drop of `table`'s rows against the published warehouse blocks publishing."""
    previous = params.previous_row_counts.get(table)
    if not previous:
        return None
    floor = int(previous * (1.0 - params.thresholds.row_drop_fraction))
    return Rule(
        name="row_count_not_dropped",
        severity="error",
        description=(f"{table} keeps at least {1 - params.thresholds.row_drop_fraction:.0%} of the "
                     f"{previous} rows it has in the published warehouse"),
        builtin=("ExpectTableRowCountToBeBetween", {"min_value": floor}),
    )
