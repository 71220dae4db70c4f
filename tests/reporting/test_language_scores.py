"""Scores by query language (reporting.language_scores) and their figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from hybridlib.reporting import language_figure, language_scores


def _rows(system: str, seed: int, language: str, values: list[float]) -> list[dict]:
    return [{"suite": "tico19", "system": system, "seed": seed, "setting": "cross", "metric": "map",
             "query_language": language, "candidate_language": "en", "query_id": f"{language}/{i}",
             "value": v} for i, v in enumerate(values)]  # fmt: skip


def test_a_languages_score_is_the_mean_over_seeds_of_each_seeds_mean() -> None:
    per_query = pd.DataFrame([
        *_rows("X-X", 0, "es", [1.0, 0.0]), *_rows("X-X", 1, "es", [1.0, 1.0, 1.0, 1.0]),
        *_rows("X-X", 0, "hi", [0.2]), *_rows("X-X", 1, "hi", [0.4]),
        *_rows("X-Y", 0, "es", [0.5]),
        *_rows("X-Y", 0, "fr", [0.9]),  # not asked for: another suite's row below is ignored too
    ] + [{**_rows("X-X", 0, "es", [9.0])[0], "suite": "xm3600"}])  # fmt: skip
    scores = language_scores(per_query, "tico19", ["X-X", "X-Y"], "cross", "map", seen=["es"])
    table = scores.set_index(["system", "query_language"])
    # seed 0: 0.5, seed 1: 1.0 -> 0.75 (not the pooled 5/6 over six queries)
    assert table.loc[("X-X", "es"), "value"] == pytest.approx(0.75)
    assert table.loc[("X-X", "es"), "seed_sd"] == pytest.approx(pd.Series([0.5, 1.0]).std())
    assert table.loc[("X-X", "hi"), "value"] == pytest.approx(0.3)
    assert table.loc[("X-X", "es"), "seen"] and not table.loc[("X-X", "hi"), "seen"]
    assert table.loc[("X-Y", "es"), "n_seeds"] == 1 and pd.isna(table.loc[("X-Y", "es"), "seed_sd"])
    figure = language_figure(scores, "TICO-19", "map", ["X-X", "X-Y"])
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["es", "hi", "fr"]  # seen first; unseen by X-X's score, fr (none) last
    with pytest.raises(ValueError, match="no cross ndcg@10 on 'tico19'"):
        language_scores(per_query, "tico19", ["X-X"], "cross", "ndcg@10")
