"""The embedding cache: a hit does not call the encoder; a changed model or text misses."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hybridlib.evaluation import cache_dir, embed_suite, encode_cached, model_fingerprint
from hybridlib.models import tiny_encoder


class CountingEncoder:
    """Wraps a real encoder and counts the texts it is asked to encode."""

    def __init__(self, encoder) -> None:
        self.inner = encoder
        self.calls: list[tuple[str, int]] = []

    def encode(self, texts, kind="passage", batch_size=64, show_progress=None):
        self.calls.append((kind, len(texts)))
        return self.inner.encode(texts, kind=kind, batch_size=batch_size, show_progress=False)

    def __getattr__(self, name):  # name, dim, settings, state_dict
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def tiny():
    return tiny_encoder(seed=0)


def test_second_call_is_a_cache_hit(tiny, two_language_suite, tmp_path):
    encoder = CountingEncoder(tiny)
    first = embed_suite(encoder, two_language_suite, cache=tmp_path)
    calls = list(encoder.calls)
    # one entry per language and side, language by language: de then en
    assert calls == [("query", 1), ("passage", 3), ("query", 2), ("passage", 3)]
    second = embed_suite(encoder, two_language_suite, cache=tmp_path)
    assert encoder.calls == calls  # nothing new encoded
    np.testing.assert_array_equal(first.queries, second.queries)
    np.testing.assert_array_equal(first.candidates, second.candidates)
    assert first.candidates.shape == (6, tiny.dim) and first.candidates.dtype == np.float32
    # the cached rows are the encoder's own output, in suite order
    direct = tiny.encode([c.text for c in two_language_suite.candidates], kind="passage")
    np.testing.assert_allclose(first.candidates, direct, rtol=0, atol=1e-6)


def test_provenance_is_recorded(tiny, two_language_suite, tmp_path):
    embed_suite(tiny, two_language_suite, cache=tmp_path)
    records = [json.loads(p.read_text()) for p in (tmp_path / "toy").glob("*.json")]
    assert sorted(r["role"] for r in records) == [
        "candidates-de",
        "candidates-en",
        "queries-de",
        "queries-en",
    ]
    fingerprint = model_fingerprint(tiny)
    for record in records:
        assert record["model"] == "tiny"
        assert record["weights_sha256"] == fingerprint["weights_sha256"]
        assert record["suite"] == "toy"
        assert record["n_texts"] == record["shape"][0]
        assert len(record["texts_sha256"]) == 64
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave nothing behind


def test_changed_model_or_texts_miss_the_cache(tiny, tmp_path):
    texts = ["ein kleiner hund", "a small dog"]
    encoder = CountingEncoder(tiny)
    encode_cached(encoder, texts, kind="passage", suite="s", role="candidates", cache=tmp_path)
    encode_cached(encoder, texts[:1] + ["a big dog"], kind="passage", suite="s",
                  role="candidates", cache=tmp_path)  # fmt: skip
    assert len(encoder.calls) == 2  # changed text: recomputed
    encode_cached(encoder, texts, kind="query", suite="s", role="candidates", cache=tmp_path)
    assert len(encoder.calls) == 3  # other kind (prefix) is another entry

    other = CountingEncoder(tiny_encoder(seed=1))  # same name, other weights
    assert model_fingerprint(other)["weights_sha256"] != model_fingerprint(tiny)["weights_sha256"]
    result = encode_cached(other, texts, kind="passage", suite="s", role="candidates",
                           cache=tmp_path)  # fmt: skip
    assert len(other.calls) == 1
    np.testing.assert_allclose(result, other.inner.encode(texts, kind="passage"), atol=1e-6)

    # the same object with changed weights (as after a training step) misses too
    with torch.no_grad():
        other.inner.word_embeddings().weight.mul_(2.0)
    encode_cached(other, texts, kind="passage", suite="s", role="candidates", cache=tmp_path)
    assert len(other.calls) == 2


def test_corrupt_entry_is_recomputed(tiny, tmp_path):
    encoder = CountingEncoder(tiny)
    texts = ["one", "two", "three"]
    encode_cached(encoder, texts, kind="passage", suite="s", role="r", cache=tmp_path)
    (npy,) = (tmp_path / "s").glob("*.npy")
    np.save(npy, np.zeros((2, tiny.dim), dtype=np.float32))  # wrong shape
    again = encode_cached(encoder, texts, kind="passage", suite="s", role="r", cache=tmp_path)
    assert len(encoder.calls) == 2 and again.shape == (3, tiny.dim)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HYBRIDLIB_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path / "embeddings"


def test_candidate_input_with_context(tiny, tmp_path):
    from hybridlib.data.types import Candidate, Query, RetrievalSuite

    suite = RetrievalSuite(
        "ctx",
        [Query("q", "en", "who", parallel_key="q")],
        [Candidate("c", "en", "Ann came.", context="Ann came. Bob left.")],
        {"q": {"c": 1}},
    )
    encoder = CountingEncoder(tiny)
    alone = embed_suite(encoder, suite, cache=tmp_path).candidates
    with_context = embed_suite(encoder, suite, candidate_input="sentence+context", cache=tmp_path)
    assert len(encoder.calls) == 3  # queries once, candidates twice (two inputs)
    expected = tiny.encode(["Ann came.\nAnn came. Bob left."], kind="passage")
    np.testing.assert_allclose(with_context.candidates, expected, atol=1e-6)
    assert not np.allclose(alone, with_context.candidates)
    with pytest.raises(ValueError, match="candidate_input must be one of"):
        embed_suite(encoder, suite, candidate_input="paragraph", cache=tmp_path)


def test_languages_already_cached_are_reused(tiny, two_language_suite, tmp_path):
    english = two_language_suite.subset(query_languages=["en"], candidate_languages=["en"])
    encoder = CountingEncoder(tiny)
    only_en = embed_suite(encoder, english, cache=tmp_path)
    assert encoder.calls == [("query", 2), ("passage", 3)]
    both = embed_suite(encoder, two_language_suite, cache=tmp_path)
    assert encoder.calls[2:] == [("query", 1), ("passage", 3)]  # only de is new
    np.testing.assert_array_equal(both.queries[:2], only_en.queries)  # q1-en, q2-en
    np.testing.assert_array_equal(both.candidates[:3], only_en.candidates)  # e1 e2 e3


def test_an_entry_zeroed_in_place_is_set_aside_and_recomputed(tiny, tmp_path, caplog):
    """Issue 14, case 3: the data part of a cached .npy zeroed (same size, same shape) was
    reused: mAP dropped from 0.035 to 0.008 with exit 0, and the file was never repaired."""
    encoder = CountingEncoder(tiny)
    texts = ["one", "two", "three"]
    clean = encode_cached(encoder, texts, kind="passage", suite="s", role="r", cache=tmp_path)
    (npy,) = (tmp_path / "s").glob("*.npy")
    header = len(npy.read_bytes()) - clean.nbytes
    data = bytearray(npy.read_bytes())
    data[header:] = bytes(len(data) - header)  # zero the array, keep the header and the size
    npy.write_bytes(bytes(data))
    assert np.load(npy).shape == clean.shape and not np.load(npy).any()  # looks fine to numpy
    again = encode_cached(encoder, texts, kind="passage", suite="s", role="r", cache=tmp_path)
    assert len(encoder.calls) == 2 and np.array_equal(again, clean)  # recomputed, not reused
    assert "set aside and recomputed" in caplog.text
    assert len(list((tmp_path / "s").glob("*.corrupt"))) == 2  # the bad entry kept aside
    third = encode_cached(encoder, texts, kind="passage", suite="s", role="r", cache=tmp_path)
    assert len(encoder.calls) == 2 and np.array_equal(third, clean)  # repaired: a hit again


def test_the_embedding_cache_never_writes_through_a_link_out_of_it(tmp_path) -> None:
    encoder = tiny_encoder()
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "toy").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match=r"embedding cache entry .* is a link to .*outside"):
        encode_cached(encoder, ["a", "b"], suite="toy", role="queries", kind="query",
                      cache=tmp_path / "cache")  # fmt: skip
    assert list(outside.iterdir()) == []


def test_a_killed_writes_temporary_is_removed_when_its_entry_is_next_used(tiny, tmp_path):
    """Issue 29: a SIGKILL during a cache write left its temporary folder for ever. One older
    than an hour goes when the entry is next used; a younger one may be a concurrent
    writer's, and stays."""
    import os
    import time

    from hybridlib.evaluation.embeddings import STALE_TEMPORARY_SECONDS

    encode_cached(tiny, ["a", "b"], kind="query", suite="toy", role="queries", cache=tmp_path)
    (npy,) = (tmp_path / "toy").glob("queries-*.npy")
    stale = tmp_path / "toy" / f".{npy.name}.killed.tmp"
    live = tmp_path / "toy" / f".{npy.name}.writing.tmp"
    other = tmp_path / "toy" / ".someone-else.npy.killed.tmp"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "payload").write_bytes(b"half")
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    for path in (stale, stale / "payload", other, other / "payload"):
        os.utime(path, (old, old))
    encode_cached(tiny, ["a", "b"], kind="query", suite="toy", role="queries", cache=tmp_path)
    assert not stale.exists()
    assert live.exists()  # perhaps another process writing the same entry now
    assert other.exists()  # another entry's: removed when that entry is used
