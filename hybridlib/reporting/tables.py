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


def per_query_vectors(per_query: pd.DataFrame, suite: str, systems: Sequence[str],
                      measures: dict[str, tuple[str, str]] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """``{system: {measure: (n_units,) array}}`` for :func:`compare`: one unit per
    (query, pool) evaluation, pooled over folds, averaged over seeds; aligned across systems.
    ``measures``: column -> (setting, metric); default :data:`MAIN_MEASURES`."""
    vectors: dict[str, dict[str, np.ndarray]] = {s: {} for s in systems}
    data = per_query[(per_query.suite == suite) & per_query.system.isin(systems)]
    for column, (setting, metric) in (measures or MAIN_MEASURES).items():
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


def claim_check(comparison, measure: str, better: str, worse: str) -> dict:
    """The claim that ``better`` beats ``worse`` on ``measure`` in a :func:`compare` result:
    both means, the Holm-adjusted p-value of the test, and the verdict (``confirmed``:
    significantly better; ``contradicted``: significantly worse; ``not shown``: neither)."""
    tests = comparison.tests
    row = tests[(tests.measure == measure) & (tests.system == better) & (tests.other == worse)].iloc[0]
    if row.better:
        word = "confirmed"
    elif tests[(tests.measure == measure) & (tests.system == worse) & (tests.other == better)].better.iloc[0]:
        word = "contradicted"
    else:
        word = "not shown"
    return {"hybrid": float(comparison.means.at[better, measure]),
            "other": float(comparison.means.at[worse, measure]),
            "p_holm": float(row.p_adjusted), "verdict": word}


def verdict(comparison, measure: str, better: str, worse: str) -> str:
    """One claim checked against a :func:`compare` result, in words with the numbers."""
    c = claim_check(comparison, measure, better, worse)
    word = "not shown (no significant difference)" if c["verdict"] == "not shown" else c["verdict"]
    return (f"{better} vs {worse} on {measure}: {c['hybrid']:.3f} vs {c['other']:.3f}, "
            f"Holm-adjusted p = {c['p_holm']:.3g}: {word}")


def _rounded(rows: list[dict]) -> list[dict]:
    digits = {"hybrid": 3, "other": 3, "p_holm": 4}
    return [{k: round(v, digits[k]) if k in digits else v for k, v in row.items()} for row in rows]


# The measure each domain-shift suite is judged on (its usual headline number).
PRIMARY_MEASURES = {  # suite -> (setting, metric)
    "multi30k": ("cross", "map"),
    "xm3600": ("cross", "map"),
    "tatoeba": ("cross", "recall@1"),
    "scifact": ("mono", "ndcg@10"),
    "tydiqa": ("mono", "map"),
}


def domain_shift_verdicts(per_query: pd.DataFrame, hybrid: str, others: Sequence[str], *,
                          n_resamples: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Does ``hybrid`` keep its advantage off XQuAD? Per domain-shift suite present in
    ``per_query``, its primary measure (:data:`PRIMARY_MEASURES`) is compared per query
    between ``hybrid`` and each of ``others`` (paired randomization test, Holm-corrected over
    the comparisons of that suite). One row per (suite, other system): the measure, the
    number of units, both means, the Holm-adjusted p-value and the verdict
    (:func:`claim_check`)."""
    rows = []
    for suite, (setting, metric) in PRIMARY_MEASURES.items():
        present = set(per_query[per_query.suite == suite].system)
        if hybrid not in present:
            continue
        systems = [hybrid, *[o for o in others if o in present]]
        if len(systems) < 2:
            continue
        measure = f"{setting} {metric}"
        vectors = per_query_vectors(per_query, suite, systems, {measure: (setting, metric)})
        comparison = compare(vectors, n_resamples=n_resamples, seed=seed)
        for other in systems[1:]:
            rows.append({"suite": suite, "against": other, "measure": measure,
                         "n_units": len(vectors[hybrid][measure]),
                         **claim_check(comparison, measure, hybrid, other)})
    if not rows:
        return pd.DataFrame({"note": ["no domain-shift suite has both Hybrid and another sampler"]})
    return pd.DataFrame(_rounded(rows)).set_index(["suite", "against"])


def summarise_verdicts(verdicts: pd.DataFrame, by: str = "against", unit: str = "suites",
                       prefix: str = "against ") -> str:
    """One sentence counting the ``verdict`` column of :func:`domain_shift_verdicts` (per
    compared system) or of :func:`claims_table` (``by="suite", unit="claims", prefix=""``),
    e.g. ``"against X-X: 1 confirmed, 0 contradicted, 3 not shown (of 4 suites)"``."""
    if "verdict" not in verdicts.columns:
        return "no comparison was made in this build"
    parts = []
    for key, frame in verdicts.groupby(level=by, sort=False):
        counts = frame.verdict.value_counts()
        parts.append(f"{prefix}{key}: {counts.get('confirmed', 0)} confirmed, "
                     f"{counts.get('contradicted', 0)} contradicted, {counts.get('not shown', 0)} "
                     f"not shown (of {len(frame)} {unit})")
    return "; ".join(parts)


def tatoeba_scores(per_query: pd.DataFrame, training_languages: Sequence[str]) -> pd.DataFrame:
    """Tatoeba per (system, seed, direction, group, metric), pooled over folds.

    A cell is one non-English language in one direction (``xx->en``: its sentences query
    English; ``en->xx``: the reverse); group ``seen`` if that language was a training
    language, else ``unseen``. Cells are means over their sentences; a group is the macro
    mean of its cells. Columns: ``system, seed, direction, group, metric, value, n_languages``.
    """
    data = per_query[per_query.suite == "tatoeba"]
    if data.empty:
        return pd.DataFrame(columns=["system", "seed", "direction", "group", "metric", "value",
                                     "n_languages"])
    to_english = data.query_language != "en"
    foreign = data.query_language.where(to_english, data.candidate_language)
    train = set(training_languages)
    data = data.assign(
        direction=np.where(to_english, "xx->en", "en->xx"),
        group=np.where(foreign.isin(train), "seen", "unseen"),
        language=foreign,
    )
    keys = ["system", "seed", "direction", "group", "metric"]
    cells = data.groupby(keys + ["language"])["value"].mean().reset_index()
    return (cells.groupby(keys).agg(value=("value", "mean"), n_languages=("language", "nunique"))
            .reset_index())


def tatoeba_table(per_query: pd.DataFrame, training_languages: Sequence[str],
                  systems: Sequence[str], metric: str = "recall@1") -> pd.DataFrame:
    """Tatoeba ``metric`` by direction and seen/unseen group (rows) per system (columns):
    mean [95% CI] over seeds of :func:`tatoeba_scores`; languages listed per group."""
    scores = tatoeba_scores(per_query, training_languages)
    scores = scores[(scores.metric == metric) & scores.system.isin(systems)]
    if scores.empty:
        return pd.DataFrame({"note": ["Tatoeba was not evaluated in this profile"]})
    summary = aggregate_seeds(scores.drop(columns=["n_languages"]), value="value", seed="seed")
    summary = summary.assign(cell=[_format(m, lo, hi, 3) for m, lo, hi
                                   in zip(summary["mean"], summary.ci_low, summary.ci_high)])
    table = summary.pivot_table(index=["direction", "group"], columns="system", values="cell",
                                aggfunc="first")
    data = per_query[per_query.suite == "tatoeba"]
    foreign = set(data.query_language) | set(data.candidate_language)
    foreign.discard("en")
    train = set(training_languages)
    languages = {"seen": ", ".join(sorted(foreign & train)),
                 "unseen": ", ".join(sorted(foreign - train))}
    table.insert(0, "languages", [languages[group] for _, group in table.index])
    return table[["languages", *[s for s in systems if s in table.columns]]]


# The paper's claims about Hybrid: (measure of MAIN_MEASURES, the system it should beat).
PAPER_CLAIMS = {
    "Hybrid >= X-X on Mono mAP": ("map_mono", "X-X"),
    "Hybrid >= X-Y on Cross mAP": ("map_cross", "X-Y"),
    "Hybrid >= X-Y on Multi mAP": ("map_multi", "X-Y"),
    "Hybrid lowers the rank distance (vs X-X)": ("rank_distance", "X-X"),
    "Hybrid lowers the rank distance (vs X-Y)": ("rank_distance", "X-Y"),
}


def claims_table(per_query: pd.DataFrame, hybrid: str, suites: Sequence[str], *,
                 n_resamples: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Each of :data:`PAPER_CLAIMS` checked per suite by a per-query comparison of ``hybrid``,
    X-X and X-Y (:func:`significance_table`). One row per (claim, suite): both means, the
    Holm-adjusted p-value and the verdict (:func:`claim_check`)."""
    rows = []
    for suite in suites:
        systems = [s for s in ("X-X", "X-Y", hybrid) if s in set(per_query[per_query.suite == suite].system)]
        if hybrid not in systems or len(systems) < 2:
            continue
        comparison = significance_table(per_query, suite, systems, n_resamples=n_resamples, seed=seed)
        for claim, (measure, other) in PAPER_CLAIMS.items():
            if other in systems:
                rows.append({"claim": claim, "suite": suite,
                             **claim_check(comparison, measure, hybrid, other)})
    if not rows:
        return pd.DataFrame({"note": ["no suite has Hybrid and another sampler"]})
    return pd.DataFrame(_rounded(rows)).set_index(["claim", "suite"])


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


def alpha_trend(scores: pd.DataFrame, suite: str, alphas: dict[str, float],
                metric: str = "map", confidence: float = 0.95) -> pd.DataFrame:
    """Least-squares slope of ``metric`` on alpha per setting, over every (system, seed) point
    of :func:`pooled_scores` whose system is in ``alphas`` (``value = a + slope * alpha``),
    with its t-interval (``n - 2`` degrees of freedom), two-sided p-value and the alpha with
    the best mean. One row per setting (Mono, Cross, Multi)."""
    import scipy.stats

    rows = []
    for setting in ("mono", "cross", "multi"):
        part = scores[(scores.suite == suite) & (scores.setting == setting) & (scores.metric == metric)
                      & scores.system.isin(list(alphas))]
        x = part.system.map(alphas).to_numpy(dtype=float)
        y = part.value.to_numpy(dtype=float)
        if len(np.unique(x)) < 2 or len(x) < 3:
            continue
        fit = scipy.stats.linregress(x, y)
        half = scipy.stats.t.ppf(0.5 + confidence / 2, len(x) - 2) * fit.stderr
        means = part.assign(alpha=x).groupby("alpha").value.mean()
        if fit.slope - half > 0:
            trend = "rises with alpha"
        elif fit.slope + half < 0:
            trend = "falls with alpha"
        else:
            trend = "no linear trend shown"
        rows.append({"setting": setting, "slope": _format(fit.slope, fit.slope - half, fit.slope + half, 3),
                     "p": f"{fit.pvalue:.3g}", "n_points": len(x), "best_alpha": float(means.idxmax()),
                     "trend": trend})
    if not rows:
        return pd.DataFrame({"note": ["fewer than two alphas were trained"]})
    return pd.DataFrame(rows).set_index("setting")


def measure_table(summary: pd.DataFrame, systems: Sequence[str], suites: Sequence[str],
                  metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (suite, setting, metric) of ``suites`` (and ``metrics``, if given), one
    column per system: mean [95% CI] over seeds from :func:`seed_summary_table`."""
    data = summary[summary.suite.isin(suites) & summary.system.isin(systems)]
    if metrics is not None:
        data = data[data.metric.isin(metrics)]
    data = data.assign(cell=[_format(m, lo, hi, 3) for m, lo, hi in zip(data["mean"], data.ci_low, data.ci_high)])
    table = data.pivot_table(index=["suite", "setting", "metric"], columns="system", values="cell", aggfunc="first")
    return table[[s for s in systems if s in table.columns]]


def domain_shift_table(summary: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """:func:`measure_table` of every suite other than XQuAD-R and MLQA-R."""
    others = sorted(set(summary.suite) - {"xquad-r", "mlqa-r"})
    return measure_table(summary, systems, others)
