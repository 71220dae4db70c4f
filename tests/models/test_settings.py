"""Encoder settings (hybridlib.models.settings): defaults of well-known checkpoints by name,
validation, the JSON format, and the input length a position table admits."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from hybridlib.models.settings import EncoderSettings, default_settings, position_limit


def test_default_settings_by_hub_name() -> None:
    assert default_settings("intfloat/multilingual-e5-small")["passage_prefix"] == "passage: "
    assert default_settings("intfloat/e5-base-v2")["query_prefix"] == "query: "
    assert default_settings("sentence-transformers/LaBSE")["pooling"] == "cls"
    assert default_settings("xlm-roberta-base") == {
        "pooling": "mean", "query_prefix": "", "passage_prefix": ""
    }  # fmt: skip


def test_settings_round_trip_through_json_and_name_a_bad_field() -> None:
    settings = EncoderSettings(name="m", pooling="cls", query_prefix="q: ", max_length=64,
                               precision="bfloat16", metadata={"training": {"articles": ["a"]}})  # fmt: skip
    data = settings.to_json()
    assert data["format"] == 1 and EncoderSettings.from_json(data, Path("f.json")) == settings
    with pytest.raises(ValueError, match=r"f.json: field 'format' must be 1, but got 2"):
        EncoderSettings.from_json({**data, "format": 2}, Path("f.json"))
    with pytest.raises(ValueError, match=r"f.json: precision must be one of .* got 'fp16'"):
        EncoderSettings.from_json({**data, "precision": "fp16"}, Path("f.json"))
    assert EncoderSettings(name="m", max_length="40").max_length == 40  # type: ignore[arg-type]


def test_position_limit_by_hand() -> None:
    # XLM-R's positions start after the padding id: 514 - 2 usable; BERT's all 512
    assert (
        position_limit(SimpleNamespace(max_position_embeddings=514, model_type="xlm-roberta"))
        == 512
    )
    assert position_limit(SimpleNamespace(max_position_embeddings=512, model_type="bert")) == 512
    assert position_limit(SimpleNamespace(model_type="t5")) is None
