"""Summaries and the book's tables (hybridlib.reporting.tables): the macro mean over cells
then seeds, the paper's table beside ours, effect sizes, the alpha trend fitted by hand,
Tatoeba by direction and seen languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybridlib import reporting

from .conftest import claim_run, unit_rows, write_run


def test_summary_is_the_macro_mean_over_cells_then_seeds(tmp_path: Path) -> None:
    # seed 0: en cell (1.0, 0.5, 0.0) -> 0.5, de cell (0.25, 0.25, 0.25) -> 0.25: macro 0.375
    write_run(
        tmp_path,
        "a0",
        "X-X",
        0,
        unit_rows({("en", "en"): [1.0, 0.5, 0.0], ("de", "de"): [0.25] * 3}),
    )
    write_run(
        tmp_path, "a1", "X-X", 1, unit_rows({("en", "en"): [0.5] * 3, ("de", "de"): [0.5] * 3})
    )
    per_query, runs = reporting.load_results(tmp_path)
    summary = reporting.summarise(
        per_query, runs, "xquad-r", ["X-X"], [("mono", "map")], n_resamples=200
    )
    row = summary.iloc[0]
    assert row["mean"] == pytest.approx((0.375 + 0.5) / 2)
    assert (
        row["ci_low"] <= row["mean"] <= row["ci_high"]
        and row["n_seeds"] == 2
        and row["n_clusters"] == 3
    )
    values = reporting.seed_values(per_query, "xquad-r", ["X-X"], "mono", "map")
    assert values.set_index("seed")["value"].to_dict() == pytest.approx({0: 0.375, 1: 0.5})


def test_main_table_shows_ours_with_intervals_beside_the_papers() -> None:
    summary = pd.DataFrame(
        [
            ("xquad-r", "X-X", "mono", "map", 0.5, 0.4, 0.6),
            ("xquad-r", "X-X", "multi", "rank_distance", 12.34, 10.0, 14.0),
        ],
        columns=["suite", "system", "setting", "metric", "mean", "ci_low", "ci_high"],
    )
    table = reporting.main_table(summary, "xquad-r", ["X-X"])
    assert table.loc[("ours", "X-X"), "Mono mAP"] == "0.500 [0.400, 0.600]"
    assert table.loc[("ours", "X-X"), "rank distance (lower is better)"] == "12.3 [10.0, 14.0]"
    assert table.loc[("ours", "X-X"), "Cross mAP"] == "–"  # not evaluated: shown, not invented
    assert table.loc[("paper XLM-R", "Hybrid(0.50)"), "Mono mAP"] == "0.798"
    assert table.loc[("paper LaBSE", "X-Y"), "rank distance (lower is better)"] == "225.2"


def test_effect_sizes_name_the_direction_of_each_difference(tmp_path: Path) -> None:
    claim_run(tmp_path, {"X-X": -0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.0})
    per_query, runs = reporting.load_results(tmp_path)
    effects = reporting.effect_sizes(per_query, runs, "xquad-r", n_resamples=200).set_index(
        "effect"
    )
    assert effects.loc["X-Y - X-X, Multi mAP", "difference"] == pytest.approx(0.05)
    assert effects.loc["X-Y - X-X, Multi mAP", "sign"] == "+"
    assert effects.loc["X-X - X-Y, Mono mAP", "sign"] == "-"
    assert effects.loc["Hybrid - X-Y, Cross mAP", "sign"] == "0"


def test_alpha_trend_fits_the_slope_by_hand(tmp_path: Path) -> None:
    # mono: value = 0.5 + 0.2 * alpha + (+-0.01 by seed); cross: flat
    for system, alpha in [("X-Y", 0.0), ("Hybrid(0.50)", 0.5), ("X-X", 1.0)]:
        for seed, noise in [(0, 0.01), (1, -0.01)]:
            rows = [
                ("mono", "en", "en", "en/q0", "q0", "map", 0.5 + 0.2 * alpha + noise),
                ("cross", "en", "de", "en/q0", "q0", "map", 0.4 + noise),
            ]
            write_run(tmp_path, f"{system}-{seed}", system, seed, rows)
    per_query, _ = reporting.load_results(tmp_path)
    table = reporting.alpha_trend(
        per_query, "xquad-r", {"X-Y": 0.0, "Hybrid(0.50)": 0.5, "X-X": 1.0}
    )
    assert table.loc["Mono", "slope per unit alpha"].startswith("0.200 [")
    assert table.loc["Mono", "trend"] == "rises with alpha"
    assert table.loc["Mono", "best alpha"] == 1.0 and table.loc["Mono", "points"] == 6
    assert table.loc["Cross", "trend"] == "no linear trend shown"
    assert "Multi" not in table.index


def test_tatoeba_splits_directions_and_seen_languages(tmp_path: Path) -> None:
    rows = [
        ("cross", "de", "en", f"de/q{i}", f"q{i}", "recall@1", v)
        for i, v in enumerate([1, 0, 1, 1])
    ]
    rows += [
        ("cross", "el", "en", f"el/q{i}", f"q{i}", "recall@1", v)
        for i, v in enumerate([0, 1, 0, 1])
    ]
    rows += [("cross", "en", "de", f"en/q{i}", f"q{i}", "recall@1", 1.0) for i in range(4)]
    write_run(tmp_path, "a", "X-X", 0, rows, suite="tatoeba")
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.tatoeba_table(per_query, runs, ["X-X"], ["de", "en"], n_resamples=100)
    assert table.loc[("xx->en", "seen: de"), "X-X"].startswith("0.750")
    assert table.loc[("xx->en", "unseen: el"), "X-X"].startswith("0.500")
    assert table.loc[("en->xx", "seen: de"), "X-X"] == "1.000"  # no spread: no interval
    assert list(reporting.tatoeba_table(per_query, runs, [], ["de"]).columns) == ["note"]


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
    scores = reporting.language_scores(
        per_query, "tico19", ["X-X", "X-Y"], "cross", "map", seen=["es"]
    )
    table = scores.set_index(["system", "query_language"])
    # seed 0: 0.5, seed 1: 1.0 -> 0.75 (not the pooled 5/6 over six queries)
    assert table.loc[("X-X", "es"), "value"] == pytest.approx(0.75)
    assert table.loc[("X-X", "es"), "seed_sd"] == pytest.approx(pd.Series([0.5, 1.0]).std())
    assert table.loc[("X-X", "hi"), "value"] == pytest.approx(0.3)
    assert table.loc[("X-X", "es"), "seen"] and not table.loc[("X-X", "hi"), "seen"]
    assert table.loc[("X-Y", "es"), "n_seeds"] == 1 and pd.isna(table.loc[("X-Y", "es"), "seed_sd"])
    figure = reporting.language_figure(scores, "TICO-19", "map", ["X-X", "X-Y"])
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["es", "hi", "fr"]  # seen first; unseen by X-X's score, fr (none) last
    with pytest.raises(ValueError, match="no cross ndcg@10 on 'tico19'"):
        reporting.language_scores(per_query, "tico19", ["X-X"], "cross", "ndcg@10")


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
