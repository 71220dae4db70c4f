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


def test_the_untranslated_words_table_sets_bm25_beside_each_system() -> None:
    from hybridlib.reporting import untranslated_words_table

    scores = pd.DataFrame({
        "system": ["bm25", "bm25", "X-X", "X-X", "X-Y"],
        "query_language": ["es", "eo", "es", "eo", "es"],
        "value": [0.2, 0.1, 0.5, 0.4, 0.8],
    })  # fmt: skip
    table = untranslated_words_table(
        scores, {"es": 0.21, "eo": 0.2, "gl": 0.21}, systems=["X-X", "X-Y"]
    )
    assert list(table.index) == ["es", "eo"]  # gl has no score: left out
    assert table.loc["es", "X-X: bm25 / it"] == pytest.approx(0.4)
    assert table.loc["es", "X-Y: bm25 / it"] == pytest.approx(0.25)
    assert (
        pd.isna(table.loc["eo", "X-Y: bm25 / it"]) and table.loc["eo", "untranslated words"] == 0.2
    )
    with pytest.raises(ValueError, match="no 'bm25' rows"):
        untranslated_words_table(scores[scores["system"] != "bm25"], {"es": 0.2})


def test_a_headline_sentence_lists_each_systems_mean_and_interval_in_order() -> None:
    from hybridlib.reporting import headline_sentence

    summary = pd.DataFrame({
        "system": ["X-X", "Hybrid(0.50)", "X-X"], "setting": ["cross", "cross", "mono"],
        "metric": ["ndcg@10"] * 3, "mean": [0.4012, 0.41234, 0.9],
        "ci_low": [0.39, 0.4, 0.8], "ci_high": [0.41, 0.42, 0.95],
    })  # fmt: skip
    assert headline_sentence(summary, "cross", "ndcg@10", ["Hybrid(0.50)", "X-Y", "X-X"]) == (
        "Hybrid(0.50) 0.412 [0.400, 0.420], X-X 0.401 [0.390, 0.410]"
    )
