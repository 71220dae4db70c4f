"""Encoder behaviour on the tiny model: pooling and prefixes by hand, order, batch sizes,
gradients, determinism, bad arguments (saving and loading: test_loading.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.models import Encoder, load_encoder, tiny_encoder

from .conftest import TEXTS


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
        load_encoder("tiny", **kwargs)


def test_bad_arguments_are_rejected(tiny: Encoder, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind must be one of .* but got 'document'"):
        tiny.encode(["a"], kind="document")
    with pytest.raises(TypeError, match="list of strings"):
        tiny.encode("a single string")
    with pytest.raises(ValueError, match="batch_size must be >= 1, but got 0"):
        tiny.encode(["a"], batch_size=0)
    with pytest.raises(FileNotFoundError, match="encoder folder not found"):
        load_encoder(str(tmp_path / "missing"))
