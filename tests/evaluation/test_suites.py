"""Suite dispatch: Tatoeba directions and seen/unseen groups, BM25's Mono-only rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.evaluation import RESULT_COLUMNS, SUITES, evaluate_suite
from hybridlib.evaluation.suites import tatoeba_aggregates
from hybridlib.models import tiny_encoder


def cell(x: str, y: str, value: float, n: int = 10) -> dict:
    return dict(suite="tatoeba", setting="cross", query_language=x, candidate_language=y,
                metric="recall@1", value=value, n=n)  # fmt: skip


def test_tatoeba_aggregates_by_direction_and_group():
    cells = pd.DataFrame(
        [cell("de", "en", 0.9), cell("en", "de", 0.8), cell("sw", "en", 0.5),
         cell("en", "sw", 0.3), cell("fr", "en", 0.7), cell("en", "fr", 0.6)]
    )  # fmt: skip
    out = tatoeba_aggregates(cells, training_languages=["de", "fr"]).set_index(
        ["query_language", "candidate_language", "seen"]
    )["value"]
    assert out[("all", "en", True)] == pytest.approx((0.9 + 0.7) / 2)
    assert out[("en", "all", True)] == pytest.approx((0.8 + 0.6) / 2)
    assert out[("all", "en", False)] == pytest.approx(0.5)
    assert out[("en", "all", False)] == pytest.approx(0.3)
    overall = tatoeba_aggregates(cells, training_languages=["de", "fr"])
    both = overall[overall["seen"].isna() & (overall["query_language"] == "all")]
    assert both["value"].tolist() == pytest.approx([(0.9 + 0.5 + 0.7) / 3])
    assert both["n"].tolist() == [30]
    tagged = overall[overall["query_language"] == "sw"]
    assert tagged["seen"].tolist() == [False]
    plain = tatoeba_aggregates(cells)
    assert list(plain.columns) == RESULT_COLUMNS
    assert plain[plain["query_language"] == "all"]["value"].tolist() == pytest.approx([0.7])


def test_bm25_refuses_suites_without_mono(two_language_suite):
    with pytest.raises(ValueError, match="BM25 runs the Mono setting only.*'tatoeba'"):
        evaluate_suite("bm25", "tatoeba", suites=[two_language_suite])
    with pytest.raises(ValueError, match="unknown suite 'msmarco'"):
        evaluate_suite("bm25", "msmarco", suites=[two_language_suite])


def test_every_suite_declares_known_settings():
    for spec in SUITES.values():
        assert set(spec.settings) <= {"mono", "cross", "multi"}
        assert spec.measures


def test_tatoeba_on_real_data_both_directions(real_data_dir, tmp_path):
    result = evaluate_suite(
        tiny_encoder(), "tatoeba", languages=["th"], training_languages=["de"],
        root=real_data_dir, cache=tmp_path,
    )  # fmt: skip
    rows = result.results.set_index(["query_language", "candidate_language", "metric"])
    assert rows.loc[("th", "en", "recall@1"), "n"] == 548  # Tatoeba th has 548 pairs
    assert rows.loc[("en", "th", "recall@1"), "n"] == 548
    assert not rows.loc[("th", "en", "recall@1"), "seen"]
    # the per-direction aggregate of one language equals its cell
    assert rows.loc[("all", "en", "map"), "value"].iloc[0] == pytest.approx(
        rows.loc[("th", "en", "map"), "value"]
    )
    values = result.per_query[result.per_query["metric"] == "recall@1"]["value"]
    assert set(np.unique(values)) <= {0.0, 1.0}  # one relevant: recall@1 is accuracy


def test_tatoeba_matrix_has_only_language_cells():
    from hybridlib.evaluation import language_matrix

    cells = pd.DataFrame([cell("de", "en", 0.9), cell("en", "de", 0.8), cell("sw", "en", 0.5),
                          cell("en", "sw", 0.3)])  # fmt: skip
    results = tatoeba_aggregates(cells, training_languages=["de"])
    matrix = language_matrix(results, metric="recall@1")
    assert matrix.loc["de", "en"] == pytest.approx(0.9)
    assert matrix.loc["en", "sw"] == pytest.approx(0.3)
    assert "all" not in matrix.index and "all" not in matrix.columns
