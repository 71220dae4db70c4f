"""Suite dispatch: Tatoeba directions and seen/unseen groups, BM25's Mono-only rule.
Evaluation settings: one object for every system, never inherited from training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib.evaluation import (
    RESULT_COLUMNS,
    SUITES,
    EvaluationOptions,
    EvaluationSettings,
    evaluate_suite,
)
from hybridlib.evaluation.suites import evaluate
from hybridlib.models import load_encoder, save_encoder, tiny_encoder
from hybridlib.suites import tatoeba_aggregates


def cell(x: str, y: str, value: float, n: int = 10) -> dict:
    return dict(suite="tatoeba", setting="cross", query_language=x, candidate_language=y,
                metric="recall@1", value=value, n=n)  # fmt: skip


GERMAN = EvaluationOptions(languages=["de"])


@pytest.fixture
def short_model(tmp_path: Path) -> Path:
    """A tiny model saved as a trainer saves it: with its training length (16 tokens)."""
    return save_encoder(load_encoder("tiny", max_length=16), tmp_path / "trained")


def _settings(output: Path) -> dict:
    return json.loads((output / "provenance.json").read_text())["parameters"]["evaluation_settings"]


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
    options = EvaluationOptions(
        languages=["th"], training_languages=["de"], root=real_data_dir, cache=tmp_path
    )
    result = evaluate_suite(tiny_encoder(), "tatoeba", options=options)
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


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch_size": 0}, "batch_size must be >= 1, but got 0"),
        ({"batch_size": 2.5}, "batch_size must be an integer, but got 2.5"),
        ({"languages": "en"}, "languages must be a sequence of names, but got the string 'en'"),
        ({"include_articles": ["A", ""]}, "include_articles must hold non-empty strings, but got ''"),
        ({"training_languages": ["de", 3]}, "training_languages must hold non-empty strings, but got 3"),
        ({"bm25_k1": -0.5}, r"bm25_k1 must be >= 0, but got -0.5"),
        ({"bm25_b": 1.5}, r"bm25_b must be in \[0, 1\], but got 1.5"),
    ],
)  # fmt: skip
def test_options_refuse_bad_values_naming_field_and_value(fields, message):
    with pytest.raises(ValueError, match=message):
        EvaluationOptions(**fields)


def test_settings_refuse_an_unknown_candidate_input():
    with pytest.raises(ValueError, match="candidate_input must be one of .* but got 'paragraph'"):
        EvaluationSettings(candidate_input="paragraph")


def test_options_store_tuples_and_record_lists():
    options = EvaluationOptions(languages=["en", "de"], exclude_articles=iter(["B", "A"]))
    assert options.languages == ("en", "de") and options.exclude_articles == ("B", "A")
    assert options == EvaluationOptions(languages=("en", "de"), exclude_articles=("B", "A"))
    assert hash(options) == hash(
        EvaluationOptions(languages=("en", "de"), exclude_articles=("B", "A"))
    )
    assert options.record(bm25=False) == {
        "languages": ["en", "de"], "include_articles": None, "exclude_articles": ["B", "A"],
        "train_articles": None, "training_languages": None, "batch_size": 64, "bm25": None,
    }  # fmt: skip
    assert EvaluationOptions(bm25_k1=1.2).record(bm25=True)["bm25"] == {"k1": 1.2, "b": 0.4}


def test_options_round_trip_through_the_provenance(real_data_dir, tmp_path):
    from hybridlib.evaluation import evaluate

    options = EvaluationOptions(
        languages=["de"], exclude_articles=["unknown-article"], training_languages=["de"],
        batch_size=32, cache=tmp_path / "cache",
    )  # fmt: skip
    settings = EvaluationSettings(candidate_input="sentence+context")
    evaluate("tiny", ["tatoeba"], tmp_path / "out", options=options, settings=settings, log=None)
    parameters = json.loads((tmp_path / "out" / "provenance.json").read_text())["parameters"]
    recorded = {k: v for k, v in parameters.items() if k in options.record(bm25=False)}
    assert recorded == options.record(bm25=False)
    assert parameters["candidate_input"] == parameters["evaluation_settings"]["candidate_input"]
    assert parameters["candidate_input"] == "sentence+context"
    del recorded["bm25"]
    assert EvaluationOptions(**recorded, cache=options.cache) == options


def test_evaluation_reads_the_full_length_not_the_training_length(
    short_model: Path, tmp_path: Path, real_data_dir: Path
) -> None:
    evaluate(short_model, ["tatoeba"], tmp_path / "full", options=GERMAN, log=None)
    full = load_encoder(short_model)
    from hybridlib.models.settings import position_limit

    assert full.max_length == 16  # saved with the model...
    assert _settings(tmp_path / "full")["max_length"] == position_limit(
        full.transformer.config
    )  # ...not used
    evaluate(short_model, ["tatoeba"], tmp_path / "set", options=GERMAN, log=None,
             settings=EvaluationSettings(max_length=24))  # fmt: skip
    assert _settings(tmp_path / "set")["max_length"] == 24


def test_a_model_trained_with_other_top_layers_is_refused() -> None:
    encoder = load_encoder("tiny")
    encoder.freeze_bottom(1)
    with pytest.raises(
        ValueError,
        match="trained with its top 1 layers, but the evaluation settings say top_layers=2",
    ):
        EvaluationSettings(top_layers=2).apply(encoder)


def test_top_layers_fill_the_cache_and_give_the_plain_embeddings(
    tmp_path: Path, real_data_dir: Path
) -> None:
    plain = evaluate("tiny", ["tatoeba"], tmp_path / "plain", options=GERMAN, log=None)
    cached = evaluate("tiny", ["tatoeba"], tmp_path / "cached", options=GERMAN, log=None,
                      settings=EvaluationSettings(top_layers=1))  # fmt: skip
    provenance = json.loads((tmp_path / "cached" / "provenance.json").read_text())["parameters"]
    assert (
        provenance["hidden_state_cache"]["split_layer"] == 1
        and provenance["hidden_state_cache"]["filled"] > 0
    )
    merged = plain.results.merge(
        cached.results, on=["suite", "setting", "query_language", "candidate_language", "metric"]
    )
    # float16 storage of the bottom's states: the same measures up to near ties
    assert (abs(merged["value_x"] - merged["value_y"]) < 0.01).all()


def test_prefixes_are_set_for_every_system_and_recorded() -> None:
    """The paper's "Query: " / "Passage: " prefixes: set on the encoder, recorded (so results
    with other prefixes are refused as a comparison), None keeps the encoder's own."""
    encoder = load_encoder("tiny", query_prefix="q: ")
    record = EvaluationSettings(passage_prefix="Passage: ").apply(encoder)
    assert (record["query_prefix"], record["passage_prefix"]) == ("q: ", "Passage: ")
    record = EvaluationSettings(query_prefix="Query: ").apply(encoder)
    assert (record["query_prefix"], record["passage_prefix"]) == ("Query: ", "Passage: ")
    assert (
        encoder.tokenize(["x"], "query")["input_ids"].tolist()
        == load_encoder("tiny").tokenize(["Query: x"], "query")["input_ids"].tolist()
    )
    from hybridlib.reporting.results import SETTINGS_FIELDS

    assert {"query_prefix", "passage_prefix"} <= set(SETTINGS_FIELDS)


def test_a_max_length_beyond_the_models_positions_is_refused() -> None:
    """Issue 29: ``--max-length 100000`` was recorded in the provenance of a 512-position model."""
    from hybridlib.models.settings import position_limit

    encoder = load_encoder("tiny")
    limit = position_limit(encoder.transformer.config)
    assert limit is not None
    with pytest.raises(ValueError) as caught:
        EvaluationSettings(max_length=100000).apply(encoder)
    assert str(caught.value).startswith(
        f"max_length (--max-length) = 100000 is above the position limit {limit} of model"
    )
    assert encoder.max_length != 100000  # nothing was set
    assert EvaluationSettings(max_length=limit).apply(encoder)["max_length"] == limit
    with pytest.raises(ValueError, match=r"max_length \(--max-length\) = 0 must be >= 2"):
        EvaluationSettings(max_length=0)
