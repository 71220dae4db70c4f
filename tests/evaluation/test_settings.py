"""Evaluation settings: one object for every system, never inherited from training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridlib.evaluation.suites import EvaluationOptions, EvaluationSettings, evaluate
from hybridlib.models import Encoder

GERMAN = EvaluationOptions(languages=["de"])


@pytest.fixture
def short_model(tmp_path: Path) -> Path:
    """A tiny model saved as a trainer saves it: with its training length (16 tokens)."""
    return Encoder.from_pretrained("tiny", max_length=16).save_pretrained(tmp_path / "trained")


def _settings(output: Path) -> dict:
    return json.loads((output / "provenance.json").read_text())["parameters"]["evaluation_settings"]


def test_evaluation_reads_the_full_length_not_the_training_length(
    short_model: Path, tmp_path: Path, real_data_dir: Path
) -> None:
    evaluate(short_model, ["tatoeba"], tmp_path / "full", options=GERMAN, log=None)
    full = Encoder.from_pretrained(short_model)
    from hybridlib.models.encoder import position_limit

    assert full.max_length == 16  # saved with the model...
    assert _settings(tmp_path / "full")["max_length"] == position_limit(
        full.transformer.config
    )  # ...not used
    evaluate(short_model, ["tatoeba"], tmp_path / "set", options=GERMAN, log=None,
             settings=EvaluationSettings(max_length=24))  # fmt: skip
    assert _settings(tmp_path / "set")["max_length"] == 24


def test_a_model_trained_with_other_top_layers_is_refused() -> None:
    encoder = Encoder.from_pretrained("tiny")
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
    encoder = Encoder.from_pretrained("tiny", query_prefix="q: ")
    record = EvaluationSettings(passage_prefix="Passage: ").apply(encoder)
    assert (record["query_prefix"], record["passage_prefix"]) == ("q: ", "Passage: ")
    record = EvaluationSettings(query_prefix="Query: ").apply(encoder)
    assert (record["query_prefix"], record["passage_prefix"]) == ("Query: ", "Passage: ")
    assert (
        encoder.tokenize(["x"], "query")["input_ids"].tolist()
        == Encoder.from_pretrained("tiny").tokenize(["Query: x"], "query")["input_ids"].tolist()
    )
    from hybridlib.reporting.results import SETTINGS_FIELDS

    assert {"query_prefix", "passage_prefix"} <= set(SETTINGS_FIELDS)
