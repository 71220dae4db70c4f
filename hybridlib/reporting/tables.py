"""Comparable units -> summaries with intervals and the paper's tables.

:func:`summarise` gives each system's mean over seeds of the paper's macro average (over
(query language, candidate language) cells) with a 95% interval from the two-level (question
cluster x seed) bootstrap of :mod:`hybridlib.metrics.clustered`, on the units that
:func:`hybridlib.reporting.results.comparison_units` has checked like for like. The other
functions turn summaries and units into the book's tables: the paper's main table beside
ours, one row per measure, the language matrix, the alpha trend, Tatoeba by direction and
seen languages, and the effect sizes the paper's story rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hybridlib.data.tatoeba import tatoeba_directions
from hybridlib.metrics.clustered import clustered_bootstrap
from hybridlib.metrics.measures import measure_digits, measure_label
from hybridlib.reporting.display import readable_index
from hybridlib.reporting.results import comparison_units
from hybridlib.systems import system_name

# The paper's Table 1 and Table 2 (arXiv 2408.10536), mAP Mono / Cross / Multi, rank distance.
PAPER = pd.DataFrame(
    [
        ("XLM-R", "X-X", "xquad-r", 0.792, 0.674, 0.547, 410.2),
        ("XLM-R", "X-Y", "xquad-r", 0.755, 0.700, 0.593, 295.4),
        ("XLM-R", system_name("hybrid", 0.5), "xquad-r", 0.798, 0.705, 0.593, 286.6),
        ("LaBSE", "X-X", "xquad-r", 0.808, 0.752, 0.652, 261.5),
        ("LaBSE", "X-Y", "xquad-r", 0.801, 0.762, 0.679, 225.2),
        ("LaBSE", system_name("hybrid", 0.5), "xquad-r", 0.817, 0.767, 0.682, 221.1),
        ("XLM-R", "X-X", "mlqa-r", 0.648, 0.584, 0.473, 287.5),
        ("XLM-R", "X-Y", "mlqa-r", 0.626, 0.620, 0.508, 226.7),
        ("XLM-R", system_name("hybrid", 0.5), "mlqa-r", 0.648, 0.623, 0.512, 227.1),
        ("LaBSE", "X-X", "mlqa-r", 0.681, 0.656, 0.550, 225.3),
        ("LaBSE", "X-Y", "mlqa-r", 0.671, 0.677, 0.576, 198.3),
        ("LaBSE", system_name("hybrid", 0.5), "mlqa-r", 0.686, 0.681, 0.579, 195.0),
    ],
    columns=["model", "system", "suite", "map_mono", "map_cross", "map_multi", "rank_distance"],
)
MAIN_MEASURES = {  # column -> (setting, metric, header)
    "map_mono": ("mono", "map", f"Mono {measure_label('map')}"),
    "map_cross": ("cross", "map", f"Cross {measure_label('map')}"),
    "map_multi": ("multi", "map", f"Multi {measure_label('map')}"),
    "rank_distance": ("multi", "rank_distance", measure_label("rank_distance")),
}


def summarise(per_query: pd.DataFrame, runs: pd.DataFrame, suite: str, systems: Sequence[str],
              measures: Sequence[tuple[str, str]], *, n_resamples: int = 2000,
              seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Per system and (setting, metric): the mean over seeds of the macro average over cells,
    and its interval from the two-level bootstrap. Systems without a setting (BM25 has Mono
    only) are left out of that setting's comparison."""
    rows = []
    for setting, metric in measures:
        having = [s for s in systems if ((per_query["suite"] == suite) & (per_query["system"] == s)
                                          & (per_query["setting"] == setting)).any()]  # fmt: skip
        if not having:
            continue
        draws = clustered_bootstrap(
            comparison_units(per_query, runs, suite, having, setting, metric),
            having, n_resamples=n_resamples, seed=seed,
        )  # fmt: skip
        tail = (1 - confidence) / 2
        low, high = np.quantile(draws.draws, [tail, 1 - tail], axis=0)
        for i, system in enumerate(draws.systems):
            rows.append({"suite": suite, "system": system, "setting": setting, "metric": metric,
                         "mean": float(draws.estimate[i]), "ci_low": float(low[i]),
                         "ci_high": float(high[i]), "n_seeds": draws.n_seeds[system],
                         "n_clusters": draws.n_clusters})  # fmt: skip
    return pd.DataFrame(rows)


def format_interval(mean: float, low: float, high: float, places: int) -> str:
    """``0.512 [0.498, 0.526]``; a value without interval alone."""
    if any(np.isnan(v) for v in (mean,)):
        return "–"
    if np.isnan(low) or np.isnan(high) or low == high == mean:
        return f"{mean:.{places}f}"
    return f"{mean:.{places}f} [{low:.{places}f}, {high:.{places}f}]"


def main_table(summary: pd.DataFrame, suite: str, systems: Sequence[str], *,
               paper: bool = True) -> pd.DataFrame:  # fmt: skip
    """The paper's table for ``suite``: our systems (mean [95% interval]) and, with
    ``paper``, the paper's XLM-R and LaBSE rows. A measure a system was not evaluated on
    (BM25 has Mono only) shows a dash."""
    rows = []
    for system in systems:
        row: dict[str, Any] = {"source": "ours", "system": system}
        for _column, (setting, metric, header) in MAIN_MEASURES.items():
            hit = summary[(summary["suite"] == suite) & (summary["system"] == system)
                          & (summary["setting"] == setting) & (summary["metric"] == metric)]  # fmt: skip
            if hit.empty:
                row[header] = "–"
            else:
                mean, low, high = hit[["mean", "ci_low", "ci_high"]].iloc[0]
                row[header] = format_interval(mean, low, high, measure_digits(metric))
        rows.append(row)
    if paper:
        for record in PAPER[PAPER["suite"] == suite].itertuples():
            row = {"source": f"paper {record.model}", "system": record.system}
            for column, (_setting, metric, header) in MAIN_MEASURES.items():
                row[header] = f"{getattr(record, column):.{measure_digits(metric)}f}"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["source", "system"])


def measure_table(summary: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """One row per measure of ``summary`` (indexed by readable suite and measure names, e.g.
    ``("MLQA-R", "Mono mAP")``), one column per system; "–" where a system has no value."""
    data = summary[summary["system"].isin(systems)].copy()
    data["cell"] = [format_interval(m, lo, hi, measure_digits(metric)) for m, lo, hi, metric
                    in zip(data["mean"], data["ci_low"], data["ci_high"], data["metric"])]  # fmt: skip
    table = data.pivot_table(index=["suite", "setting", "metric"], columns="system",
                             values="cell", aggfunc="first").fillna("–")  # fmt: skip
    return readable_index(table[[s for s in systems if s in table.columns]])


def language_matrix(
    per_query: pd.DataFrame, suite: str, system: str, metric: str = "map"
) -> pd.DataFrame:
    """Query language x candidate language mean ``metric`` (Mono on the diagonal, Cross off
    it), averaged over the system's seeds."""
    data = per_query[(per_query["suite"] == suite) & (per_query["system"] == system)
                     & (per_query["metric"] == metric) & per_query["setting"].isin(["mono", "cross"])]  # fmt: skip
    cells = (
        data.groupby(["seed", "query_language", "candidate_language"])["value"].mean().reset_index()
    )
    return cells.pivot_table(
        index="query_language", columns="candidate_language", values="value", aggfunc="mean"
    )


def seed_values(per_query: pd.DataFrame, suite: str, systems: Sequence[str],
                setting: str, metric: str) -> pd.DataFrame:  # fmt: skip
    """One row per (system, seed): the macro average over cells of ``setting`` ``metric``."""
    data = per_query[(per_query["suite"] == suite) & (per_query["setting"] == setting)
                     & (per_query["metric"] == metric) & per_query["system"].isin(systems)]  # fmt: skip
    cells = data.groupby(["system", "seed", "cell"])["value"].mean()
    return cells.groupby(["system", "seed"]).mean().rename("value").reset_index()


def alpha_trend(per_query: pd.DataFrame, suite: str, alphas: dict[str, float], *,
                metric: str = "map", confidence: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Least-squares slope of ``metric`` on alpha per setting over every (system, seed) point
    (``value = a + slope * alpha``), with its t-interval (``n - 2`` degrees of freedom), its
    two-sided p-value and the alpha with the best mean."""
    import scipy.stats

    rows = []
    for setting in ("mono", "cross", "multi"):
        points = seed_values(per_query, suite, list(alphas), setting, metric)
        x = points["system"].map(alphas).to_numpy(dtype=float)
        y = points["value"].to_numpy(dtype=float)
        if len(np.unique(x)) < 2 or len(x) < 3:
            continue
        fit = scipy.stats.linregress(x, y)
        half = scipy.stats.t.ppf(0.5 + confidence / 2, len(x) - 2) * fit.stderr
        means = points.assign(alpha=x).groupby("alpha")["value"].mean()
        trend = ("rises with alpha" if fit.slope - half > 0 else
                 "falls with alpha" if fit.slope + half < 0 else "no linear trend shown")  # fmt: skip
        rows.append({"setting": setting.title(),
                     "slope per unit alpha": format_interval(fit.slope, fit.slope - half, fit.slope + half, 3),
                     "p": f"{fit.pvalue:.3g}", "points": len(x), "best alpha": float(means.idxmax()),
                     "trend": trend})  # fmt: skip
    if not rows:
        return pd.DataFrame({"note": ["fewer than two alphas were trained"]})
    return pd.DataFrame(rows).set_index("setting")


def tatoeba_table(per_query: pd.DataFrame, runs: pd.DataFrame, systems: Sequence[str],
                  training_languages: Sequence[str], *, metric: str = "recall@1",
                  n_resamples: int = 2000) -> pd.DataFrame:  # fmt: skip
    """Tatoeba ``metric`` by direction (``xx->en``: the non-English sentence is the query) and
    by whether the non-English language was a training language: one row per group, one
    column per system (mean [95% interval] of the macro mean over languages)."""
    data = per_query[(per_query["suite"] == "tatoeba") & (per_query["metric"] == metric)].copy()
    if data.empty or not systems:
        return pd.DataFrame({"note": ["Tatoeba was not evaluated in this build"]})
    data["group_direction"], data["foreign"] = tatoeba_directions(
        data["query_language"], data["candidate_language"]
    )
    data["seen"] = data["foreign"].isin(list(training_languages))
    rows = []
    for (way, seen), part in data.groupby(["group_direction", "seen"]):
        summary = summarise(
            part, runs, "tatoeba", systems, [("cross", metric)], n_resamples=n_resamples
        )
        languages = sorted(set(part["foreign"]))
        row = {
            "direction": way,
            "languages": ("seen: " if seen else "unseen: ") + " ".join(languages),
        }
        for r in summary.itertuples():
            row[r.system] = format_interval(r.mean, r.ci_low, r.ci_high, 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["direction", "languages"])


EFFECTS = (  # (name, better, other, setting, metric): the differences the paper's story rests on
    ("Hybrid - X-X, Mono mAP", system_name("hybrid", 0.5), "X-X", "mono", "map"),
    ("Hybrid - X-Y, Cross mAP", system_name("hybrid", 0.5), "X-Y", "cross", "map"),
    ("Hybrid - X-Y, Multi mAP", system_name("hybrid", 0.5), "X-Y", "multi", "map"),
    ("X-Y - X-X, Multi mAP", "X-Y", "X-X", "multi", "map"),
    ("X-X - X-Y, Mono mAP", "X-X", "X-Y", "mono", "map"),
    ("X-X - X-Y, rank distance", "X-X", "X-Y", "multi", "rank_distance"),
)


def interval_sign(low: float, high: float) -> str:
    """An interval's sign: "+" above 0, "-" below it, "0" when it covers 0."""
    return "+" if low > 0 else "-" if high < 0 else "0"


def effect_sizes(per_query: pd.DataFrame, runs: pd.DataFrame, suite: str, *,
                 n_resamples: int = 2000, seed: int = 0,
                 effects: Sequence[tuple[str, str, str, str, str]] = EFFECTS) -> pd.DataFrame:  # fmt: skip
    """The differences ``effects`` (default: the sampler differences of :data:`EFFECTS`) with
    their 95% intervals (two-level bootstrap); one row each (``difference = better - other``
    in the measure's units). Each is ``(name, better, other, setting, metric)``."""
    from hybridlib.metrics.clustered import claim_test

    rows = []
    for name, better, other, setting, metric in effects:
        if not {better, other} <= set(runs["system"]):
            continue
        units = comparison_units(per_query, runs, suite, [better, other], setting, metric)
        draws = clustered_bootstrap(units, [better, other], n_resamples=n_resamples, seed=seed)
        test = claim_test(draws, better, other, margin=0.0, name=name)
        rows.append({"effect": name, "difference": test.difference, "ci_low": test.ci_low,
                     "ci_high": test.ci_high, "sign": interval_sign(test.ci_low, test.ci_high)})  # fmt: skip
    return pd.DataFrame(rows)


def language_scores(per_query: pd.DataFrame, suite: str, systems: Sequence[str], setting: str,
                    metric: str, seen: Sequence[str] = ()) -> pd.DataFrame:  # fmt: skip
    """Per system and query language: ``metric`` of ``setting`` on ``suite``, the mean over
    the language's cells and queries of each seed, then over seeds (``value``) with the
    seeds' spread (``seed_sd``, NaN with one seed) and ``seen`` (the language is in
    ``seen``: trained on). One row per (system, query language)."""
    part = per_query[(per_query["suite"] == suite) & per_query["system"].isin(systems)
                     & (per_query["setting"] == setting) & (per_query["metric"] == metric)]  # fmt: skip
    if part.empty:
        raise ValueError(f"no {setting} {metric} on {suite!r} for {list(systems)}")
    per_seed = part.groupby(["system", "query_language", "seed"])["value"].mean().reset_index()
    table = (
        per_seed.groupby(["system", "query_language"])["value"]
        .agg(value="mean", seed_sd="std", n_seeds="count")
        .reset_index()
    )
    table["seen"] = table["query_language"].isin(set(seen))
    return table


def untranslated_words_table(scores: pd.DataFrame, shares: dict[str, float], lexical: str = "bm25",
                             systems: Sequence[str] = ()) -> pd.DataFrame:  # fmt: skip
    """Per query language of machine-translated queries: the share of words the translator
    left untranslated (``shares``), the ``lexical`` retriever's score (what those shared words
    alone retrieve) and each of ``systems``' score, with the lexical score as a share of it
    (``"<system> explained"``: an upper reading of how much of its cross-lingual score shared
    words could account for). ``scores``: :func:`language_scores` rows."""
    value = scores.pivot_table(index="query_language", columns="system", values="value")
    if lexical not in value:
        raise ValueError(f"no {lexical!r} rows in the scores (systems: {sorted(value.columns)})")
    table = pd.DataFrame({"untranslated words": pd.Series(shares, dtype=float)}).join(
        value[[lexical, *[s for s in systems if s in value]]], how="inner"
    )
    for system in systems:
        if system in table:
            table[f"{system}: {lexical} / it"] = table[lexical] / table[system]
    table.index.name = "query language"
    return table


def headline_sentence(summary: pd.DataFrame, setting: str, metric: str,
                      systems: Sequence[str]) -> str:  # fmt: skip
    """``"Hybrid(0.50) 0.412 [0.398, 0.425], X-X 0.401 [...]"``: each of ``systems``' mean
    and 95% interval on one measure of a :func:`summarise` table, in the given order (a
    system without that measure is left out)."""
    rows = summary[(summary["setting"] == setting) & (summary["metric"] == metric)].set_index(
        "system"
    )
    places = measure_digits(metric)
    parts = []
    for system in systems:
        if system in rows.index:
            row = rows.loc[system]
            interval = format_interval(row["mean"], row["ci_low"], row["ci_high"], places)
            parts.append(f"{system} {interval}")
    return ", ".join(parts)
