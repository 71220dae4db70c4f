"""How results read in the book: measure names (a suite's is its registry entry's label,
:func:`hybridlib.suites.suite_label`), claims tables with named columns (the tables' columns
are never raw keys)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hybridlib.metrics.measures import measure_label
from hybridlib.suites import suite_label

MISSING = "–"  # a measure a system has no value for (the table's note says why)


def measure_name(setting: str, metric: str) -> str:
    """``("mono", "map")`` -> ``Mono mAP``, ``("multi", "rank_distance")`` -> ``Multi rank
    distance (lower is better)`` (labels: :data:`hybridlib.metrics.measures.MEASURES`)."""
    return f"{setting.title()} {measure_label(metric)}"


def readable_index(table: pd.DataFrame) -> pd.DataFrame:
    """A table indexed by (suite, setting, metric) re-indexed by (suite, measure), named."""
    rows = [(suite_label(s), measure_name(setting, m)) for s, setting, m in table.index]
    out = table.copy()
    out.index = pd.MultiIndex.from_tuples(rows, names=["suite", "measure"])
    return out


FEW_SEEDS_MARK = " †"  # a verdict on fewer than 3 seeds per system (claims_table's few_seeds)


def _number(value: float | None, digits: int) -> str:
    return MISSING if value is None or np.isnan(value) else f"{value:.{digits}f}"


def _p_value(value: float | None) -> str:
    if value is None or np.isnan(value):
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(values, lows, highs, digits: int) -> list[str]:
    return [
        MISSING if v is None or np.isnan(v) else
        f"{_number(v, digits)} [{_number(lo, digits)}, {_number(hi, digits)}]"
        for v, lo, hi in zip(values, lows, highs)
    ]  # fmt: skip


def _flagged(verdicts: pd.Series, table: pd.DataFrame) -> list[str]:
    few = table["few_seeds"] if "few_seeds" in table else [False] * len(table)
    return [f"{v}{FEW_SEEDS_MARK}" if f else str(v) for v, f in zip(verdicts, few)]


def claims_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A claims table (:func:`hybridlib.reporting.evaluate_claims`) as the book shows it: one
    row per claim; both estimates, the difference with its 95% interval, the margin, the
    Holm-adjusted p-values and the verdict, under named columns; where the table has claims
    with an assay, the other pure sampler's difference from ``other`` [95% interval] and the
    assay's reading. A verdict on fewer than 3 seeds per system is marked
    :data:`FEW_SEEDS_MARK`."""
    shown = pd.DataFrame({
        "claim": table["name"],
        "estimate": [_number(v, digits) for v in table["estimate"]],
        "other's estimate": [_number(v, digits) for v in table["other_estimate"]],
        "difference [95% interval]": _interval(table["difference"], table["ci_low"],
                                               table["ci_high"], digits),
        "margin": [_number(v, digits) for v in table["margin"]],
        "p, non-inferiority (Holm)": [_p_value(v) for v in table["p_noninferiority_adjusted"]],
        "p, superiority (Holm)": [_p_value(v) for v in table["p_superiority_adjusted"]],
        "verdict": _flagged(table["verdict"], table),
    })  # fmt: skip
    if "assay" in table and table["assay"].notna().any():
        shown["other pure sampler's difference [95% interval]"] = _interval(
            table["assay_difference"], table["assay_ci_low"], table["assay_ci_high"], digits
        )
        shown["assay"] = [MISSING if v is None else v for v in table["assay_verdict"]]
    if "mde" in table:
        shown["smallest detectable effect"] = [_number(v, digits) for v in table["mde"]]
    return shown.set_index("claim")


def synergy_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A synergy table (:func:`hybridlib.reporting.evaluate_synergy`) as the book shows it:
    one row per suite and measure; the three estimates, Hybrid minus the midpoint of the two
    pure samplers [95% interval] with its Holm-adjusted p-value and verdict, and the
    intersection-union test of "at least as good as both" with its Holm-adjusted p-value and
    verdict."""
    shown = pd.DataFrame({
        "suite": [suite_label(s) for s in table["suite"]],
        "measure": table["measure"],
        "Hybrid": [_number(v, digits) for v in table["hybrid"]],
        "X-X": [_number(v, digits) for v in table["x_x"]],
        "X-Y": [_number(v, digits) for v in table["x_y"]],
        "Hybrid − midpoint [95% interval]": _interval(
            table["contrast"], table["contrast_ci_low"], table["contrast_ci_high"], digits),
        "p, above the midpoint (Holm)": [_p_value(v) for v in table["p_contrast_adjusted"]],
        "midpoint": _flagged(table["contrast_verdict"], table),
        "p, as good as both (Holm)": [_p_value(v) for v in table["p_both_adjusted"]],
        "both": _flagged(table["both_verdict"], table),
    })  # fmt: skip
    return shown.set_index(["suite", "measure"])
