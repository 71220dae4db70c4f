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


def claims_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A claims table (:func:`hybridlib.reporting.evaluate_claims`) as the book shows it: one
    row per claim; both estimates, the difference with its 95% interval, the margin, the
    Holm-adjusted p-values and the verdict, under named columns."""

    def number(value: float) -> str:
        return MISSING if value is None or np.isnan(value) else f"{value:.{digits}f}"

    def p_value(value: float) -> str:
        return (
            MISSING
            if value is None or np.isnan(value)
            else ("< 0.001" if value < 0.001 else f"{value:.3f}")
        )

    shown = pd.DataFrame({
        "claim": table["name"],
        "estimate": [number(v) for v in table["estimate"]],
        "other's estimate": [number(v) for v in table["other_estimate"]],
        "difference [95% interval]": [f"{number(d)} [{number(lo)}, {number(hi)}]" for d, lo, hi
                                      in zip(table["difference"], table["ci_low"], table["ci_high"])],
        "margin": [number(v) for v in table["margin"]],
        "p, non-inferiority (Holm)": [p_value(v) for v in table["p_noninferiority_adjusted"]],
        "p, superiority (Holm)": [p_value(v) for v in table["p_superiority_adjusted"]],
        "verdict": table["verdict"],
    })  # fmt: skip
    if "mde" in table:
        shown["smallest detectable effect"] = [number(v) for v in table["mde"]]
    return shown.set_index("claim")
