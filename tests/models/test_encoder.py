"""Encoder behaviour on the tiny model: pooling and prefixes by hand, order, saving, errors."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.models import Encoder, EncoderNotAvailableError, default_settings, tiny_encoder
from hybridlib.models.encoder import SETTINGS_FILE

TEXTS = [
    "A short one.",
    "Der schnelle braune Fuchs springt über den faulen Hund, und dann noch weiter.",
    "猫が好きです。",
    "هذا نص عربي قصير",
    "x",
    "Это предложение на русском языке, немного длиннее остальных, чтобы было видно заполнение.",
    "यह हिंदी में एक वाक्य है।",
    "",
    "Two words",
    "A short one.",  # a duplicate
]


def hand_pooled(encoder: Encoder, texts: list[str], kind: str, pooling: str) -> np.ndarray:
    """Pool each text's hidden states by hand, one text at a time (no padding at all)."""
    rows = []
    for text in texts:
        ids = encoder.tokenizer(encoder.prefix(kind) + text)["input_ids"]
        with torch.no_grad():
            hidden = encoder.transformer(torch.tensor([ids])).last_hidden_state[0].numpy()
        vector = hidden[0] if pooling == "cls" else hidden.sum(axis=0) / len(ids)  # (hidden,)
        rows.append(vector / np.sqrt((vector**2).sum()))
    return np.stack(rows)


def test_mean_pooling_matches_hand_computed(tiny: Encoder) -> None:
    expected = hand_pooled(tiny, TEXTS, "passage", "mean")
    actual = tiny.encode(TEXTS, kind="passage", batch_size=4)
    assert actual.dtype == np.float32 and actual.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(actual, expected, atol=2e-6)


def test_cls_pooling_matches_hand_computed(tiny: Encoder) -> None:
    encoder = tiny_encoder(seed=0, pooling="cls")
    expected = hand_pooled(encoder, TEXTS, "passage", "cls")
    np.testing.assert_allclose(encoder.encode(TEXTS, batch_size=4), expected, atol=2e-6)
    # the pooling really changes the vectors
    assert not np.allclose(expected, hand_pooled(tiny, TEXTS, "passage", "mean"), atol=1e-2)


def test_prefixes_are_prepended_per_kind() -> None:
    encoder = tiny_encoder(seed=0, query_prefix="query: ", passage_prefix="passage: ")
    plain = tiny_encoder(seed=0)
    queries = encoder.tokenize(["hello world"], "query")["input_ids"][0].tolist()
    assert queries == plain.tokenizer("query: hello world")["input_ids"]
    assert queries[0] == 0 and queries[-1] == 2  # <s> ... </s>
    np.testing.assert_array_equal(
        encoder.encode(TEXTS, kind="query"), plain.encode(["query: " + t for t in TEXTS])
    )
    np.testing.assert_array_equal(
        encoder.encode(TEXTS, kind="passage"), plain.encode(["passage: " + t for t in TEXTS])
    )
    expected = hand_pooled(encoder, TEXTS[:3], "query", "mean")
    np.testing.assert_allclose(encoder.encode(TEXTS[:3], kind="query"), expected, atol=2e-6)


def test_tokenize_pads_to_longest_and_truncates() -> None:
    encoder = tiny_encoder(seed=0, max_length=16)
    features = encoder.tokenize(["one", "a much longer sentence " * 20])
    assert set(features) == {"input_ids", "attention_mask"}
    assert features["input_ids"].shape == (2, 16)
    assert features["input_ids"][1, -1].item() == encoder.tokenizer.eos_token_id
    n_real = len(encoder.tokenizer("one")["input_ids"])
    assert features["attention_mask"][0].tolist() == [1] * n_real + [0] * (16 - n_real)
    assert (features["input_ids"][0, n_real:] == encoder.tokenizer.pad_token_id).all()
    lengths = encoder.token_lengths(["one", "a much longer sentence " * 20], "query")
    assert lengths.tolist() == [len(encoder.tokenizer("one")["input_ids"]), 16]


def test_input_order_is_preserved_under_length_sorting(tiny: Encoder) -> None:
    texts = TEXTS * 5
    reference = tiny.encode(texts, batch_size=4)
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    shuffled = tiny.encode([texts[i] for i in order], batch_size=4)
    np.testing.assert_allclose(shuffled, reference[order], atol=2e-6)
    unsorted = tiny.encode(texts, batch_size=4, sort_by_length=False)
    np.testing.assert_allclose(unsorted, reference, atol=2e-6)
    # and each row is that text's own embedding
    singles = np.concatenate([tiny.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(reference[: len(TEXTS)], singles, atol=2e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batch_size_does_not_change_embeddings(tiny: Encoder, batch_size: int) -> None:
    reference = hand_pooled(tiny, TEXTS, "passage", "mean")
    np.testing.assert_allclose(tiny.encode(TEXTS, batch_size=batch_size), reference, atol=2e-6)


def test_encode_is_l2_normalised_and_handles_empty_input(tiny: Encoder) -> None:
    vectors = tiny.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert tiny.encode([]).shape == (0, tiny.dim)


def test_encode_runs_in_eval_mode_and_restores_training_mode() -> None:
    encoder = tiny_encoder(seed=0)
    expected = encoder.encode(TEXTS)
    encoder.train()
    np.testing.assert_array_equal(encoder.encode(TEXTS), expected)  # no dropout
    assert encoder.training and encoder.transformer.training


def test_embed_keeps_gradients_and_the_pad_row_gets_none() -> None:
    encoder = tiny_encoder(seed=0)
    embeddings = encoder.embed(["hello world", "a"], "query")  # (2, 32)
    assert embeddings.shape == (2, 32) and embeddings.requires_grad
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(2))
    embeddings[:, 0].sum().backward()
    grad = encoder.word_embeddings().weight.grad  # (250002, 32)
    assert grad[encoder.tokenizer.bos_token_id].abs().sum() > 0  # <s> = 0 learns (XLM-R trap)
    assert grad[encoder.tokenizer.pad_token_id].abs().sum() == 0
    assert encoder.word_embeddings().padding_idx == encoder.tokenizer.pad_token_id == 1


def test_embed_tokens_agrees_with_encode(tiny: Encoder) -> None:
    with torch.no_grad():
        embedded = tiny.embed_tokens(tiny.tokenize(TEXTS, "query")).numpy()
    np.testing.assert_allclose(embedded, tiny.encode(TEXTS, kind="query"), atol=2e-6)


def test_tiny_is_deterministic_per_seed() -> None:
    first, second, other = tiny_encoder(seed=3), tiny_encoder(seed=3), tiny_encoder(seed=4)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(first.word_embeddings().weight, other.word_embeddings().weight)
    assert first.dim == 32 and first.name == "tiny"
    assert first.word_embeddings().weight.shape == (len(first.tokenizer), 32)


def test_save_and_load_round_trip_is_exact(tmp_path: Path) -> None:
    encoder = tiny_encoder(
        seed=1, pooling="cls", query_prefix="q: ", passage_prefix="p: ", max_length=40
    )
    with torch.no_grad():  # a "fine-tuned" change that must survive the round trip
        encoder.word_embeddings().weight[5:50] += 0.25
    encoder.save_pretrained(tmp_path / "model")
    loaded = Encoder.from_pretrained(tmp_path / "model")
    assert loaded.settings == encoder.settings
    for (name, a), b in zip(encoder.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    for kind in ("query", "passage"):
        np.testing.assert_array_equal(loaded.encode(TEXTS, kind), encoder.encode(TEXTS, kind))
    saved = json.loads((tmp_path / "model" / SETTINGS_FILE).read_text())
    assert saved["pooling"] == "cls" and saved["query_prefix"] == "q: "
    assert (tmp_path / "model" / "model.safetensors").is_file()
    # overrides at load time win over the saved settings
    assert Encoder.from_pretrained(tmp_path / "model", max_length=20).max_length == 20


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = tiny_encoder(seed=0)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(encoder.tokenizer, "save_pretrained", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        encoder.save_pretrained(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("folder_name", "pooling", "query_prefix"),
    [("multilingual-e5-small", "mean", "query: "), ("LaBSE", "cls", ""), ("xlmr", "mean", "")],
)
def test_plain_hf_folder_gets_per_model_defaults(
    tmp_path: Path, folder_name: str, pooling: str, query_prefix: str
) -> None:
    encoder = tiny_encoder(seed=0)
    folder = tmp_path / folder_name
    encoder.transformer.save_pretrained(folder)
    encoder.tokenizer.save_pretrained(folder)
    loaded = Encoder.from_pretrained(folder)
    assert (loaded.pooling, loaded.prefix("query")) == (pooling, query_prefix)
    assert loaded.transformer.config.pad_token_id == loaded.tokenizer.pad_token_id == 1


def test_default_settings_by_hub_name() -> None:
    assert default_settings("intfloat/multilingual-e5-small")["passage_prefix"] == "passage: "
    assert default_settings("intfloat/e5-base-v2")["query_prefix"] == "query: "
    assert default_settings("sentence-transformers/LaBSE")["pooling"] == "cls"
    assert default_settings("xlm-roberta-base") == {
        "pooling": "mean", "query_prefix": "", "passage_prefix": ""
    }  # fmt: skip


def test_unknown_hub_name_offline_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    attempts = []

    def no_network(self, address):
        attempts.append(address)
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(EncoderNotAvailableError) as info:
        Encoder.from_pretrained("someone/no-such-encoder-model")
    message = str(info.value)
    assert "'someone/no-such-encoder-model'" in message and "HF_HUB_OFFLINE" in message
    assert "Encoder.from_pretrained('embedded')" in message and "folder" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert attempts == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pooling": "max"}, r"pooling must be one of \('mean', 'cls'\), but got 'max'"),
        ({"max_length": 600}, "max_length must be <= 512 .* but got 600"),
        ({"max_length": 1}, "max_length must be >= 2, but got 1"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Encoder.from_pretrained("tiny", **kwargs)


def test_bad_arguments_are_rejected(tiny: Encoder, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind must be one of .* but got 'document'"):
        tiny.encode(["a"], kind="document")
    with pytest.raises(TypeError, match="list of strings"):
        tiny.encode("a single string")
    with pytest.raises(ValueError, match="batch_size must be >= 1, but got 0"):
        tiny.encode(["a"], batch_size=0)
    with pytest.raises(FileNotFoundError, match="encoder folder not found"):
        Encoder.from_pretrained(str(tmp_path / "missing"))


def test_bad_settings_file_names_file_and_field(tmp_path: Path) -> None:
    tiny_encoder(seed=0).save_pretrained(tmp_path / "model")
    settings_file = tmp_path / "model" / SETTINGS_FILE
    data = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**data, "pooling": "max"}))
    with pytest.raises(ValueError, match=rf"{SETTINGS_FILE}: pooling must be .* got 'max'"):
        Encoder.from_pretrained(tmp_path / "model")
    settings_file.write_text(json.dumps({**data, "poolng": "mean"}))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['poolng'\]"):
        Encoder.from_pretrained(tmp_path / "model")
