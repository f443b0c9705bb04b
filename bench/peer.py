"""The peer: fct_indicator_progress computed the way an analyst would in pandas.

Read the CSVs, resolve and convert the plan targets, keep the latest value per key, merge the
observations with the plan, compute progress and status with vectorised numpy. Same rules as the
dbt models (and bench/floor.sql); growth_ratio and labels are left out. Like the floor it assumes
clean statistics (the simulator without --faults): no quarantine rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

PLACEHOLDERS = ("", "--", "-", "*", "—", "/")
OUTPUT_COLUMNS = ["region_code", "indicator_code", "breakdown", "period", "actual_value", "baseline_value",
                  "target_value", "expected_value", "progress_ratio", "status"]


@dataclass(frozen=True)
class PeerInputs:
    stats_files: list[Path]
    plan_files: list[Path]
    prose_files: list[Path]
    indicators_csv: Path
    aliases_csv: Path
    units_csv: Path
    plan_dir_prefix: str    # the `source_file` prefix load_plans writes, e.g. "plan_indicators/"
    prose_dir_prefix: str


def _text(s: "pd.Series") -> "pd.Series":
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def _number(s: "pd.Series") -> "pd.Series":
    import pandas as pd

    s = s.astype("string").str.strip()
    return pd.to_numeric(s.mask(s.isin(PLACEHOLDERS)), errors="raise").astype("float64")


def _read_all(files: list[Path]) -> "pd.DataFrame":
    import pandas as pd

    frames = [pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig").assign(_file=f.name)
              for f in files]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # the review columns are optional at the end of a plan file
    for col in ("unit_as_read", "target_kind"):
        if len(df) and col not in df:
            df[col] = ""
    return df.fillna("")


def _plan_start(plan: "pd.Series") -> "pd.Series":
    import pandas as pd

    n = pd.to_numeric(plan.str.replace("th", "", regex=False), errors="coerce")
    return 2016 + 5 * (n - 13)


def plan_targets(inp: PeerInputs) -> "pd.DataFrame":
    import numpy as np
    import pandas as pd

    ind = pd.read_csv(inp.indicators_csv, dtype=str, keep_default_na=False)
    ind = pd.DataFrame({"indicator_code": _text(ind.indicator_code), "unit": _text(ind.unit),
                        "catalog_measure": _text(ind.measure).str.lower()})
    units = pd.read_csv(inp.units_csv, dtype=str, keep_default_na=False)
    units = pd.DataFrame({"unit": _text(units.unit), "dimension": _text(units.dimension),
                          "factor": _number(units.factor)})
    aliases = pd.read_csv(inp.aliases_csv, dtype=str, keep_default_na=False)
    aliases = pd.DataFrame({"alias": _text(aliases.alias), "code": _text(aliases.indicator_code),
                            "alias_region": _text(aliases.region_code).fillna("")})

    raw = _read_all(inp.plan_files)
    seq_text = _text(raw.seq)
    table = pd.DataFrame({
        "source_row_id": inp.plan_dir_prefix + raw._file + "#"
        + seq_text.fillna(_text(raw.source_line)).fillna(_text(raw.indicator_name)),
        "region_code": _text(raw.region_code), "indicator_code": _text(raw.indicator_code),
        "plan": _text(raw.plan).str.lower(), "seq": pd.to_numeric(seq_text, errors="coerce"),
        "indicator_name": _text(raw.indicator_name), "printed_unit": _text(raw.unit),
        "unit_as_read": _text(raw.unit_as_read), "target_kind": _text(raw.target_kind).str.lower(),
        "attribute": _text(raw.attribute).str.lower(), "breakdown": _text(raw.breakdown).str.lower().fillna(""),
        "baseline_year": pd.to_numeric(_text(raw.baseline_year), errors="coerce"),
        "baseline_value": _number(raw.baseline_value),
        "target_year": pd.to_numeric(_text(raw.target_year), errors="coerce"),
        "target_value": _number(raw.target_value),
        **{f"t{y}": _number(raw[f"target_{y}"]) for y in range(2021, 2026)},
        "target_source": "table",
    })
    prose_raw = _read_all(inp.prose_files)
    if len(prose_raw):
        prose = pd.DataFrame({
            "source_row_id": inp.prose_dir_prefix + prose_raw._file + "#" + _text(prose_raw.source_line).fillna("")
            + "#" + _text(prose_raw.indicator_name),
            "region_code": _text(prose_raw.region_code), "indicator_code": _text(prose_raw.indicator_code),
            "plan": _text(prose_raw.plan).str.lower(), "seq": np.nan,
            "indicator_name": _text(prose_raw.indicator_name), "printed_unit": _text(prose_raw.unit),
            "unit_as_read": _text(prose_raw.unit_as_read), "target_kind": _text(prose_raw.target_kind).str.lower(),
            "attribute": pd.NA, "breakdown": "", "baseline_year": np.nan, "baseline_value": np.nan,
            "target_year": pd.to_numeric(_text(prose_raw.target_year), errors="coerce"),
            "target_value": _number(prose_raw.target_value),
            **{f"t{y}": np.nan for y in range(2021, 2026)}, "target_source": "prose",
        })
        # a prose target counts only where the plan's table has no row for the indicator
        by_code = prose.merge(table[["region_code", "plan", "indicator_code"]].dropna().drop_duplicates(),
                              on=["region_code", "plan", "indicator_code"], how="left", indicator=True)
        by_name = prose.merge(table[["region_code", "plan", "indicator_name"]].dropna().drop_duplicates(),
                              on=["region_code", "plan", "indicator_name"], how="left", indicator=True)
        keep = (by_code["_merge"] == "left_only").to_numpy() & (by_name["_merge"] == "left_only").to_numpy()
        table = pd.concat([table, prose[keep]], ignore_index=True)

    # the printed code wins, then the region's alias, then a shared alias (joins may fan out, as in SQL)
    t = table.merge(aliases.rename(columns={"alias": "indicator_name", "alias_region": "region_code",
                                            "code": "region_alias_code"}),
                    on=["indicator_name", "region_code"], how="left")
    shared = aliases[aliases.alias_region == ""].drop(columns="alias_region")
    t = t.merge(shared.rename(columns={"alias": "indicator_name", "code": "shared_alias_code"}),
                on="indicator_name", how="left")
    t["indicator_code"] = t.indicator_code.fillna(t.region_alias_code).fillna(t.shared_alias_code)
    t = t[t.indicator_code.notna()]
    t = t.merge(ind.rename(columns={"unit": "catalog_unit"}), on="indicator_code", how="left")
    # the reviewer's reading of the printed unit, where the file records one, is the unit converted from
    t["read_unit"] = t.unit_as_read.fillna(t.printed_unit)
    t = t.merge(units.rename(columns={"unit": "read_unit", "dimension": "pdim", "factor": "pfac"}),
                on="read_unit", how="left")
    t = t.merge(units.rename(columns={"unit": "catalog_unit", "dimension": "cdim", "factor": "cfac"}),
                on="catalog_unit", how="left")
    same = t.read_unit.isna() | (t.read_unit == t.catalog_unit).fillna(False)
    factor = np.where(t.catalog_unit.isna(), np.nan,
                      np.where(same, 1.0, np.where((t.pdim == t.cdim).fillna(False), t.pfac / t.cfac, np.nan)))
    for col in ["baseline_value", "target_value"] + [f"t{y}" for y in range(2021, 2026)]:
        t[col] = t[col].astype("float64") * factor
    default_kind = np.where(t.catalog_measure == "flow", "annual_flow", "stock")
    t["target_kind"] = t.target_kind.astype(object).where(t.target_kind.notna(), default_kind)
    start = _plan_start(t.plan)
    t["window_start_year"] = (t.baseline_year + 1).fillna(start)
    t["window_end_year"] = t.target_year.fillna(start + 4)
    t["plan_target_id"] = t.region_code + "|" + t.plan + "|" + t.indicator_code + "|" + t.breakdown
    t["_table_first"] = (t.target_source != "table").astype(int)
    t = t.sort_values(["plan_target_id", "_table_first", "seq", "source_row_id"], na_position="last", kind="stable")
    return t.drop_duplicates("plan_target_id", keep="first")


def observations(inp: PeerInputs) -> "pd.DataFrame":
    import pandas as pd

    frames = []
    for f in inp.stats_files:
        df = pd.read_csv(f, usecols=["region_code", "period", "indicator_code", "breakdown", "value"],
                         dtype={"region_code": str, "period": str, "indicator_code": str, "breakdown": str,
                                "value": "float64"}, keep_default_na=False, na_values={"value": [""]})
        df["_file"] = str(f)
        frames.append(df)
    obs = pd.concat(frames, ignore_index=True)
    obs = obs[obs.value.notna()]  # a row reported as missing is not a figure
    obs["period"] = obs.period.str.upper()
    obs["breakdown"] = obs.breakdown.fillna("")
    # the latest file wins
    obs = obs.sort_values("_file", kind="stable").drop_duplicates(
        ["region_code", "indicator_code", "breakdown", "period"], keep="last")
    is_q = obs.period.str.len() == 6
    obs["period_type"] = is_q.map({True: "quarter", False: "year"})
    obs["period_year"] = obs.period.str[:4].astype(int)
    obs["period_quarter"] = 4
    obs.loc[is_q, "period_quarter"] = obs.loc[is_q, "period"].str[5].astype(int)
    obs["period_index"] = obs.period_year * 4 + obs.period_quarter - 1
    return obs


def compute(inp: PeerInputs, v: dict[str, Any]) -> "pd.DataFrame":
    """fct_indicator_progress's compared columns; `v` holds the dbt vars (thresholds)."""
    import numpy as np
    import pandas as pd

    targets = plan_targets(inp)
    obs = observations(inp)
    ind = pd.read_csv(inp.indicators_csv, dtype=str, keep_default_na=False)
    ind = pd.DataFrame({"indicator_code": _text(ind.indicator_code), "measure": _text(ind.measure).str.lower(),
                        "direction": _text(ind.direction).str.lower(),
                        "lower_bound": pd.to_numeric(_text(ind.lower_bound), errors="coerce"),
                        "upper_bound": pd.to_numeric(_text(ind.upper_bound), errors="coerce")})

    keys = ["region_code", "indicator_code", "breakdown"]
    plan_cols = ["plan_target_id", "plan", "attribute", "target_kind", "baseline_year", "baseline_value",
                 "target_year", "target_value", "window_start_year", "window_end_year"] + [
                     f"t{y}" for y in range(2021, 2026)]
    df = obs.merge(targets[keys + plan_cols], on=keys, how="left")
    # a plan reaches past its target year up to the run's year: those figures stay in its series
    in_reach = ((df.period_year >= df.window_start_year)
                & (df.period_year <= np.maximum(df.window_end_year, v["as_of_year"])))
    df["_current"] = (in_reach & (df.period_year <= df.window_end_year)).astype(int)
    for col in plan_cols:  # an observation outside every window keeps no plan
        if df[col].dtype == object or str(df[col].dtype) == "string":
            df[col] = df[col].where(in_reach, None)
        else:
            df[col] = df[col].where(in_reach)
    df["_has_plan"] = in_reach.astype(int)
    # a window holding the year beats a passed one, then the later-ending window, then the later plan
    df = df.sort_values(["_has_plan", "_current", "window_end_year", "plan"], ascending=False, na_position="last",
                        kind="stable")
    df = df.drop_duplicates(keys + ["period"], keep="first")
    df["is_after"] = (df._has_plan == 1) & (df._current == 0)

    df = df.merge(ind, on="indicator_code", how="inner")

    # a cumulative target counts the flow's full years since the plan's first year (the annual figure,
    # else Q4's year-to-date): the running total of the years before this one, if none is missing
    years = obs.merge(ind[ind.measure == "flow"][["indicator_code"]], on="indicator_code")
    years = years[(years.period_type == "year") | (years.period_quarter == 4)]
    years = years.assign(_q=(years.period_type != "year").astype(int)).sort_values(
        keys + ["period_year", "_q"], kind="stable").drop_duplicates(keys + ["period_year"], keep="first")
    years["running_total"] = years.groupby(keys).value.cumsum()
    years["years_counted"] = years.groupby(keys).cumcount() + 1
    totals = years[keys + ["period_year", "running_total", "years_counted"]]
    start_year = df.window_start_year
    for name, year_col in (("prev", df.period_year - 1), ("pre", start_year - 1)):
        looked_up = df[keys].assign(period_year=year_col).merge(totals, on=keys + ["period_year"], how="left")
        df[f"{name}_total"] = looked_up.running_total.to_numpy()
        df[f"{name}_count"] = looked_up.years_counted.to_numpy()
    cumulative = (df.target_kind == "cumulative").fillna(False).to_numpy(dtype=bool)
    counted = df.prev_count.fillna(0) - df.pre_count.fillna(0)
    df["prior_years_total"] = np.select(
        [~cumulative, (df.period_year <= start_year).to_numpy(), (counted == df.period_year - start_year).to_numpy()],
        [np.nan, 0.0, (df.prev_total - df.pre_total.fillna(0)).to_numpy(dtype=float)], np.nan)
    df["_plan_key"] = df.plan.fillna("\x00")
    df = df.sort_values(keys + ["_plan_key", "period_index", "period_type"], kind="stable")
    g = df.groupby(keys + ["_plan_key"], sort=False)
    df["observations_to_date"] = g.cumcount() + 1
    for col, src in (("first_value", "value"), ("first_type", "period_type"), ("first_year", "period_year"),
                     ("first_quarter", "period_quarter")):
        df[col] = g[src].transform("first")

    year = df.period_year.astype(float)
    q = df.period_quarter.astype(float)
    this_year = np.full(len(df), np.nan)
    previous_year = np.full(len(df), np.nan)
    for y in range(2021, 2026):
        this_year = np.where(df.period_year == y, df[f"t{y}"], this_year)
        previous_year = np.where(df.period_year - 1 == y, df[f"t{y}"], previous_year)

    flow = (df.measure == "flow").to_numpy()
    quarter = (df.period_type == "quarter").to_numpy()
    value = df.value.to_numpy(dtype=float)
    cumulative = (df.target_kind == "cumulative").fillna(False).to_numpy(dtype=bool)
    is_ytd = flow & quarter & ~cumulative
    # a running total sits at its quarter's end like a level
    time_point = np.where((flow & ~cumulative) | ~quarter, year, year - 1 + q / 4.0)
    comparable = np.where(cumulative, df.prior_years_total.to_numpy(dtype=float) + value,
                          np.where(is_ytd, value * 4.0 / q, value))
    first_q = (df.first_type == "quarter").to_numpy()
    fy = df.first_year.to_numpy(dtype=float)
    fq = df.first_quarter.to_numpy(dtype=float)
    fv = df.first_value.to_numpy(dtype=float)
    first_time = np.where(flow | ~first_q, fy, fy - 1 + fq / 4.0)
    first_comparable = np.where(flow & first_q, fv * 4.0 / fq, fv)

    baseline = df.baseline_value.to_numpy(dtype=float)
    target = df.target_value.to_numpy(dtype=float)
    target_year = df.target_year.to_numpy(dtype=float)
    has_base = ~np.isnan(baseline)
    has_target = ~np.isnan(target) & ~np.isnan(target_year)
    # a cumulative target runs from zero at the end of the year before the plan's first year
    base = np.where(cumulative, 0.0, np.where(has_base, baseline, first_comparable))
    baseline_year = df.baseline_year.to_numpy(dtype=float)
    base_time = np.where(cumulative, df.window_start_year.to_numpy(dtype=float) - 1.0,
                         np.where(has_base, np.where(np.isnan(baseline_year), target_year - 5, baseline_year),
                                  first_time))
    data_points = df.observations_to_date.to_numpy() + (has_base | cumulative).astype(int)
    direction_sign = np.select([df.direction == "increase", df.direction == "decrease"], [1, -1], 0)
    elapsed = time_point - base_time
    planned = target_year - base_time
    gap = target - base
    target_sign = np.sign(gap)
    effective = np.where(direction_sign == 0, target_sign, direction_sign)
    is_binding = (df.attribute == "binding").fillna(False).to_numpy(dtype=bool)

    with np.errstate(all="ignore"):
        planned_nz = np.where(planned == 0, np.nan, planned)
        straight = base + gap * (time_point - base_time) / planned_nz
        previous_anchor = np.where(np.isnan(previous_year), base + gap * (year - 1 - base_time) / planned_nz,
                                   previous_year)
        has_annual = ~np.isnan(this_year)
        expected_comparable = np.select(
            [~has_target, has_annual & ((flow & ~cumulative) | (q == 4)), has_annual],
            [np.nan, this_year, previous_anchor + (this_year - previous_anchor) * q / 4.0],
            straight)
        target_ahead = has_target & (effective != 0) & (target_sign == effective)
        compound = (base > 0) & (comparable > 0) & (target > 0)
        natural_limit = np.select([effective == 1, effective == -1],
                                  [df.upper_bound.to_numpy(dtype=float), df.lower_bound.to_numpy(dtype=float)],
                                  np.nan)
        too_few = np.isnan(elapsed) | (elapsed <= 0) | (data_points < v["min_data_points"])
        projected = np.where(
            ~has_target | too_few, np.nan,
            np.where(compound, base * np.power(comparable / base, planned / elapsed),
                     base + (comparable - base) * planned / elapsed))
        progress_ratio = np.where(target_ahead, (comparable - base) / gap, np.nan)
        projected_ratio = np.where(target_ahead, (projected - base) / gap, np.nan)
        meets = np.select(
            [effective == 1, effective == -1, is_binding],
            [comparable >= target, comparable <= target, np.abs(comparable - target) <= 1e-9],
            np.abs(comparable - target) <= v["maintain_margin"] * np.abs(target)) & has_target
        near_limit = (~is_binding & ~np.isnan(natural_limit) & (target == natural_limit)
                      & (np.abs(comparable - natural_limit) <= v["natural_limit_margin"]))
        ahead = np.select([effective == 1, effective == -1],
                          [comparable >= expected_comparable, comparable <= expected_comparable], False)
        ratio = projected_ratio
        graded = np.select([ratio >= v["on_track"], ratio >= v["needs_acceleration"], ratio >= 0],
                           ["on_track", "needs_acceleration", "limited_progress"], "deterioration")
        # behind its expected value a binding indicator is never on track
        graded_binding = np.select([ratio >= v["needs_acceleration"], ratio >= 0],
                                   ["needs_acceleration", "limited_progress"], "deterioration")
        final = (year.to_numpy() == target_year) & (q.to_numpy() == 4)
        # a NaN comparison is False, as a SQL NULL condition falls through to the next branch
        # after the target year the verdict given at it stands, with no expected value
        after = df.is_after.to_numpy(dtype=bool)
        status = np.select(
            [~has_target, after, meets, near_limit, final, too_few, ~target_ahead, ahead, np.isnan(ratio),
             is_binding],
            ["no_target", "target_year_passed", "target_achieved", "target_achieved", "target_not_achieved",
             "insufficient_data", "deterioration", "on_track", "insufficient_data", graded_binding], graded)
        expected_value = np.where(after, np.nan, np.where(is_ytd, expected_comparable * q / 4.0, expected_comparable))

    return pd.DataFrame({
        "region_code": df.region_code.to_numpy(), "indicator_code": df.indicator_code.to_numpy(),
        "breakdown": df.breakdown.to_numpy(), "period": df.period.to_numpy(), "actual_value": value,
        "baseline_value": baseline, "target_value": target, "expected_value": expected_value,
        "progress_ratio": progress_ratio, "status": status,
    })
