"""Evaluation result files -> the book's tables and figures.

Each evaluation execution writes ``{results_dir}/{run_name}/run.json`` (method, sampler,
alpha, seed, fold) and, per suite, ``{results_dir}/{run_name}/{suite}/results.csv`` and
``per_query.csv.gz`` (:func:`hybridlib.evaluation.evaluate`). Here they are read back,
pooled over cross-fitting folds, summarised over seeds (mean and 95% t-interval,
:func:`hybridlib.metrics.significance.aggregate_seeds`) and tested per query
(:func:`hybridlib.metrics.significance.compare`: paired randomization test, Holm-corrected).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from hybridlib.metrics.significance import aggregate_seeds, compare

RUN_COLUMNS = ["run_name", "method", "sampler", "alpha", "seed", "fold"]
CELL = ["suite", "setting", "query_language", "candidate_language"]

# The paper's Table 1 and Table 2 (arXiv 2408.10536), mAP Mono / Cross / Multi, rank distance.
PAPER = pd.DataFrame(
    [
        ("XLM-R", "x-x", "xquad-r", 0.792, 0.674, 0.547, 410.2),
        ("XLM-R", "x-y", "xquad-r", 0.755, 0.700, 0.593, 295.4),
        ("XLM-R", "hybrid", "xquad-r", 0.798, 0.705, 0.593, 286.6),
        ("LaBSE", "x-x", "xquad-r", 0.808, 0.752, 0.652, 261.5),
        ("LaBSE", "x-y", "xquad-r", 0.801, 0.762, 0.679, 225.2),
        ("LaBSE", "hybrid", "xquad-r", 0.817, 0.767, 0.682, 221.1),
        ("XLM-R", "x-x", "mlqa-r", 0.648, 0.584, 0.473, 287.5),
        ("XLM-R", "x-y", "mlqa-r", 0.626, 0.620, 0.508, 226.7),
        ("XLM-R", "hybrid", "mlqa-r", 0.648, 0.623, 0.512, 227.1),
        ("LaBSE", "x-x", "mlqa-r", 0.681, 0.656, 0.550, 225.3),
        ("LaBSE", "x-y", "mlqa-r", 0.671, 0.677, 0.576, 198.3),
        ("LaBSE", "hybrid", "mlqa-r", 0.686, 0.681, 0.579, 195.0),
    ],
    columns=["model", "sampler", "suite", "map_mono", "map_cross", "map_multi", "rank_distance"],
)
MAIN_MEASURES = {  # column -> (setting, metric)
    "map_mono": ("mono", "map"),
    "map_cross": ("cross", "map"),
    "map_multi": ("multi", "map"),
    "rank_distance": ("multi", "rank_distance"),
}


def system_name(row: pd.Series | dict) -> str:
    """``X-X``, ``X-Y``, ``Hybrid(0.50)``, ``untrained``, ``bm25``."""
    if row["method"] != "trained":
        return str(row["method"])
    if row["sampler"] == "hybrid":
        return f"Hybrid({float(row['alpha']):.2f})"
    return str(row["sampler"]).upper()


def _runs(results_dir: str | Path) -> list[tuple[Path, dict]]:
    runs = []
    for meta in sorted(Path(results_dir).glob("*/run.json")):
        runs.append((meta.parent, json.loads(meta.read_text(encoding="utf-8"))))
    if not runs:
        raise FileNotFoundError(f"no evaluation results (*/run.json) under {results_dir}")
    return runs


def load_tables(results_dir: str | Path, kind: str = "per_query") -> pd.DataFrame:
    """Every run's ``results.csv`` (``kind="results"``) or ``per_query.csv.gz``, with the run's
    columns (``RUN_COLUMNS`` and ``system``) added."""
    filename = {"results": "results.csv", "per_query": "per_query.csv.gz"}[kind]
    frames = []
    for folder, meta in _runs(results_dir):
        for path in sorted(folder.glob(f"*/{filename}")):
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
            for column in RUN_COLUMNS:
                frame[column] = meta[column]
            frame["system"] = system_name(meta)
            frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no {filename} under {results_dir}")
    return pd.concat(frames, ignore_index=True)


def pooled_scores(per_query: pd.DataFrame) -> pd.DataFrame:
    """One value per (system, seed, suite, setting, metric), pooled over folds.

    Per-query values of all folds are pooled per cell (query language x pool language), then
    the cells of a setting are macro-averaged, as in the paper (mean over queries, then over
    cells). Columns: ``system, method, sampler, alpha, seed, suite, setting, metric, value``.
    """
    keys = ["system", "method", "sampler", "alpha", "seed", "suite", "setting", "metric"]
    cells = per_query.groupby(keys + ["query_language", "candidate_language"], dropna=False)["value"].mean()
    return cells.groupby(level=keys, dropna=False).mean().reset_index()


def seed_summary_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and 95% t-interval over seeds of :func:`pooled_scores`."""
    frame = scores.drop(columns=["method", "sampler", "alpha"])
    return aggregate_seeds(frame, value="value", seed="seed")


def _format(mean: float, low: float, high: float, digits: int) -> str:
    if np.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def main_table(summary: pd.DataFrame, suite: str, systems: Sequence[str]) -> pd.DataFrame:
    """The Table 1 / Table 2 analogue of ``suite``: ours (mean [95% CI] over seeds) per system
    and the paper's numbers for the same sampler (XLM-R and LaBSE), side by side."""
    rows = []
    for system in systems:
        row = {"model": "ours", "system": system}
        for column, (setting, metric) in MAIN_MEASURES.items():
            hit = summary[(summary.system == system) & (summary.suite == suite)
                          & (summary.setting == setting) & (summary.metric == metric)]
            digits = 1 if metric == "rank_distance" else 3
            row[column] = _format(*hit[["mean", "ci_low", "ci_high"]].iloc[0], digits) if len(hit) else "–"
        rows.append(row)
    paper = PAPER[PAPER.suite == suite].copy()
    paper["system"] = paper.sampler.map({"x-x": "X-X", "x-y": "X-Y", "hybrid": "Hybrid(0.50)"})
    paper["model"] = "paper " + paper.model
    for column in MAIN_MEASURES:
        paper[column] = paper[column].map(lambda v, c=column: f"{v:.1f}" if c == "rank_distance" else f"{v:.3f}")
    table = pd.concat([pd.DataFrame(rows), paper[["model", "system", *MAIN_MEASURES]]], ignore_index=True)
    return table.set_index(["model", "system"])


def per_query_vectors(per_query: pd.DataFrame, suite: str, systems: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """``{system: {measure: (n_units,) array}}`` for :func:`compare`: one unit per
    (query, pool) evaluation, pooled over folds, averaged over seeds; aligned across systems."""
    vectors: dict[str, dict[str, np.ndarray]] = {s: {} for s in systems}
    data = per_query[(per_query.suite == suite) & per_query.system.isin(systems)]
    for column, (setting, metric) in MAIN_MEASURES.items():
        part = data[(data.setting == setting) & (data.metric == metric)]
        wide = part.pivot_table(index=["query_language", "candidate_language", "query_id"],
                                columns="system", values="value", aggfunc="mean")
        wide = wide.dropna()  # units every system scored
        for system in systems:
            vectors[system][column] = wide[system].to_numpy() if system in wide else np.array([])
    return vectors


def significance_table(per_query: pd.DataFrame, suite: str, systems: Sequence[str], *,
                       n_resamples: int = 2_000, seed: int = 0):
    """ranx-style comparison (paired randomization test, Holm correction, alpha 0.05)."""
    return compare(per_query_vectors(per_query, suite, systems), n_resamples=n_resamples,
                   seed=seed, lower_is_better=("rank_distance",))


def verdict(comparison, measure: str, better: str, worse: str, *, allow_equal: bool = True) -> str:
    """One claim checked against a :func:`compare` result, in words with the numbers."""
    tests = comparison.tests
    row = tests[(tests.measure == measure) & (tests.system == better) & (tests.other == worse)].iloc[0]
    a, b = comparison.means.at[better, measure], comparison.means.at[worse, measure]
    if row.better:
        word = "confirmed"
    elif tests[(tests.measure == measure) & (tests.system == worse) & (tests.other == better)].better.iloc[0]:
        word = "contradicted"
    else:
        word = "not shown (no significant difference)"
    return (f"{better} vs {worse} on {measure}: {a:.3f} vs {b:.3f}, "
            f"Holm-adjusted p = {row.p_adjusted:.3g}: {word}")


def heatmap_matrix(results: pd.DataFrame, suite: str, system: str, metric: str = "map") -> pd.DataFrame:
    """Query language x candidate language mean ``metric`` (Mono on the diagonal), mean over
    seeds and folds."""
    data = results[(results.suite == suite) & (results.system == system) & (results.metric == metric)
                   & results.setting.isin(["mono", "cross"]) & (results.query_language != "all")
                   & (results.candidate_language != "all")]
    return data.pivot_table(index="query_language", columns="candidate_language", values="value", aggfunc="mean")


def heatmap_figure(matrices: dict[str, pd.DataFrame], title: str):
    """Side-by-side heatmaps (one per system) with a shared colour scale."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    values = pd.concat(matrices.values()).to_numpy()
    vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        sns.heatmap(matrix, ax=ax, vmin=vmin, vmax=vmax, cmap="viridis", annot=matrix.shape[0] <= 6,
                    fmt=".2f", cbar=ax is axes[0][-1])
        ax.set(title=name, xlabel="candidate language", ylabel="query language")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def ablation_figure(summary: pd.DataFrame, suite: str, alphas: dict[str, float]):
    """mAP per setting (mean and 95% CI over seeds) against alpha."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for setting in ("mono", "cross", "multi"):
        part = summary[(summary.suite == suite) & (summary.setting == setting) & (summary.metric == "map")
                       & summary.system.isin(list(alphas))].copy()
        part["alpha"] = part.system.map(alphas)
        part = part.sort_values("alpha")
        ax.plot(part.alpha, part["mean"], marker="o", label=setting)
        if part.ci_low.notna().all():
            ax.fill_between(part.alpha, part.ci_low, part.ci_high, alpha=0.2)
    ax.set(xlabel="alpha (probability of an X-X batch)", ylabel=f"mAP ({suite})")
    ax.legend(title="setting")
    fig.tight_layout()
    return fig


def ablation_alphas(summary: pd.DataFrame) -> dict[str, float]:
    """System name -> alpha for X-X (1), X-Y (0) and every Hybrid(alpha)."""
    alphas = {}
    for system in summary.system.unique():
        if system == "X-X":
            alphas[system] = 1.0
        elif system == "X-Y":
            alphas[system] = 0.0
        elif system.startswith("Hybrid("):
            alphas[system] = float(system[7:-1])
    return alphas


def domain_shift_table(summary: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Suites other than XQuAD-R/MLQA-R: one row per (suite, setting, metric), one column
    per system (mean [95% CI] over seeds)."""
    data = summary[~summary.suite.isin(["xquad-r", "mlqa-r"]) & summary.system.isin(systems)]
    data = data.assign(cell=[_format(m, lo, hi, 3) for m, lo, hi in zip(data["mean"], data.ci_low, data.ci_high)])
    table = data.pivot_table(index=["suite", "setting", "metric"], columns="system", values="cell", aggfunc="first")
    return table[[s for s in systems if s in table.columns]]
