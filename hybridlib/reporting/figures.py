"""The book's figures, each from a tidy frame (the notebooks only glue them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hybridlib.reporting.display import measure_name


def heatmap_figure(matrices: dict[str, pd.DataFrame], title: str, *, reference: str | None = None):
    """One heatmap per system, two per row, large enough to read 11 languages with every cell
    annotated. With ``reference`` (a key of ``matrices``, e.g. the untrained encoder), it comes
    first on its own scale and the other panels show their difference from it, all on one
    symmetric scale (stated on the bars)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    panels = dict(matrices)
    if reference is not None:
        base = panels[reference]
        panels = {
            reference: base,
            **{f"{k} − {reference}": m - base for k, m in panels.items() if k != reference},
        }
    n = len(panels)
    columns = min(n, 2)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 5.8 * rows), squeeze=False)
    absolute = [m for k, m in panels.items() if reference is None or k == reference]
    differences = [m for k, m in panels.items() if reference is not None and k != reference]
    lo, hi = (
        float(np.nanmin(pd.concat(absolute).to_numpy())),
        float(np.nanmax(pd.concat(absolute).to_numpy())),
    )
    span = float(np.nanmax(np.abs(pd.concat(differences).to_numpy()))) if differences else 0.0
    for ax, (name, matrix) in zip(axes.flat, panels.items()):
        is_difference = reference is not None and name != reference
        label = (f"mAP difference from {reference} (one scale for these panels)" if is_difference
                 else "mAP" + (" (one scale for every panel)" if reference is None and n > 1 else ""))  # fmt: skip
        sns.heatmap(
            matrix, ax=ax, cmap="RdBu" if is_difference else "viridis",
            vmin=-span if is_difference else lo, vmax=span if is_difference else hi,
            annot=matrix.shape[0] <= 12, fmt=".2f", annot_kws={"size": 7}, square=True,
            cbar_kws={"label": label, "shrink": 0.8},
        )  # fmt: skip
        ax.set(title=name, xlabel="candidate language", ylabel="query language")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def ablation_figure(summary: pd.DataFrame, suite: str, alphas: dict[str, float]):
    """mAP per setting (mean and 95% interval) against alpha."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for setting in ("mono", "cross", "multi"):
        part = summary[(summary["suite"] == suite) & (summary["setting"] == setting)
                       & (summary["metric"] == "map") & summary["system"].isin(list(alphas))].copy()  # fmt: skip
        part["alpha"] = part["system"].map(alphas)
        part = part.sort_values("alpha")
        ax.plot(part["alpha"], part["mean"], marker="o", label=setting.title())
        ax.fill_between(part["alpha"], part["ci_low"], part["ci_high"], alpha=0.2)
    ax.set(xlabel="alpha (share of X-X batches)", ylabel=f"mAP ({suite})")
    ax.legend(title="setting")
    fig.tight_layout()
    return fig


def curves_figure(curves: pd.DataFrame, measures: Sequence[str] = ("val_loss", "map_mean"),
                  labels: dict[str, str] | None = None):  # fmt: skip
    """Learning curves on the validation articles: one row of panels per measure, one panel
    per (temperature, learning rate), one line per system."""
    import matplotlib.pyplot as plt

    labels = labels or {}
    settings = sorted(curves.groupby(["temperature", "lr"]).groups)
    fig, axes = plt.subplots(len(measures), len(settings), figsize=(3.2 * len(settings), 2.6 * len(measures)),
                             squeeze=False, sharex=True, sharey="row")  # fmt: skip
    for column, (temperature, lr) in enumerate(settings):
        part = curves[(curves["temperature"] == temperature) & (curves["lr"] == lr)]
        for row, measure in enumerate(measures):
            ax = axes[row][column]
            for system, line in part.groupby("system"):
                ax.plot(line["step"], line[measure], marker=".", label=system)
            if row == 0:
                ax.set_title(f"temperature {temperature:g}, lr {lr:g}", fontsize=9)
            if column == 0:
                ax.set_ylabel(labels.get(measure, measure))
            if row == len(measures) - 1:
                ax.set_xlabel("step")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def tradeoff_figure(summary: pd.DataFrame, suite: str, systems: Sequence[str]):
    """Two panels per system (mean and 95% interval): Multi mAP against rank distance (lower
    is better: the language bias), and Mono mAP against Multi mAP (what the bias removal costs
    in one language)."""
    import matplotlib.pyplot as plt

    def point(system: str, setting: str, metric: str) -> tuple[float, float, float]:
        hit = summary[(summary["suite"] == suite) & (summary["system"] == system)
                      & (summary["setting"] == setting) & (summary["metric"] == metric)]  # fmt: skip
        return tuple(hit[["mean", "ci_low", "ci_high"]].iloc[0]) if not hit.empty else (np.nan,) * 3

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    markers = "osD^v<>phX*P"
    panels = ((("multi", "rank_distance"), ("multi", "map")), (("multi", "map"), ("mono", "map")))
    for ax, (x_measure, y_measure) in zip(axes, panels):
        for i, system in enumerate(systems):
            x, x_lo, x_hi = point(system, *x_measure)
            y, y_lo, y_hi = point(system, *y_measure)
            if np.isnan(x) or np.isnan(y):
                continue
            ax.errorbar(x, y, xerr=[[x - x_lo], [x_hi - x]], yerr=[[y - y_lo], [y_hi - y]],
                        marker=markers[i % len(markers)], capsize=2, linestyle="none", label=system)  # fmt: skip
        ax.set(xlabel=measure_name(*x_measure), ylabel=measure_name(*y_measure), title=suite)
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def language_figure(scores: pd.DataFrame, title: str, ylabel: str, systems: Sequence[str]):
    """Score by query language (:func:`~hybridlib.reporting.tables.language_scores`): one
    marker per system, languages trained on (``seen``) left of the dashed line and unseen
    ones right, each group ordered by the first system's score (languages it lacks last)."""
    import matplotlib.pyplot as plt

    first = scores[scores["system"] == systems[0]].set_index("query_language")["value"]
    seen = scores.drop_duplicates("query_language").set_index("query_language")["seen"]

    def rank(lang: str) -> tuple[bool, bool, float]:  # seen first; by the first system's score
        score = first.get(lang)
        return (not seen[lang], score is None or bool(np.isnan(score)), -float(score or 0.0))

    order = sorted(seen.index, key=rank)
    position = {lang: i for i, lang in enumerate(order)}
    fig, ax = plt.subplots(figsize=(max(4.0, 0.32 * len(order) + 1.5), 3.0))
    markers = "os^Dvx*P"
    for index, system in enumerate(systems):
        rows = scores[scores["system"] == system]
        ax.plot([position[lang] for lang in rows["query_language"]], rows["value"],
                markers[index % len(markers)], label=system, alpha=0.8)  # fmt: skip
    n_seen = int(seen.sum())
    if 0 < n_seen < len(order):
        ax.axvline(n_seen - 0.5, color="grey", linestyle="--", linewidth=0.8)
        ax.text(n_seen - 0.6, ax.get_ylim()[1], "seen ", ha="right", va="top", fontsize=8)
        ax.text(n_seen - 0.4, ax.get_ylim()[1], " unseen", ha="left", va="top", fontsize=8)
    ax.set_xticks(range(len(order)), order, rotation=90, fontsize=8)
    ax.set(xlabel="query language", ylabel=ylabel, title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
