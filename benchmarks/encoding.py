"""Encoding throughput (sentences/s): ``Encoder.encode`` vs sentence-transformers ``encode``.

Both encode the same XQuAD-R candidate sentences (a seeded random subset in ``--quick``,
all 13,014 otherwise) as passages, from the same weights folder, with the same batch size
(64), the same prefix and ``max_length``, in eval mode on 2 threads; both sort by length.
The embeddings must agree: the smallest row-wise cosine between the two is reported
and must be >= 0.9999. Our encoder skips the padding in its token-wise layers
(:mod:`hybridlib.models.unpadded`); the same encoder on the padded forward is timed too
(the optimisation's "before").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from benchmarks.common import Comparison, interleaved, row
from benchmarks.training import model_folder, sentence_transformer

BENCHMARK = "encoding"
BATCH_SIZE = 64
MIN_COSINE = 0.9999
QUICK_SENTENCES = 500


def xquad_candidates(n: int | None, seed: int = 0) -> list[str]:
    """XQuAD-R candidate sentences: all of them (``n=None``) or ``n`` drawn without replacement."""
    from hybridlib.data import load_lareqa

    texts = [c.text for c in load_lareqa("xquad-r").candidates]
    if n is None or n >= len(texts):
        return texts
    chosen = np.random.default_rng(seed).choice(len(texts), size=n, replace=False)
    return [texts[i] for i in np.sort(chosen)]


def encoders(model: str, max_length: int | None = None) -> tuple[Any, Any, str]:
    """Our encoder, the equivalent ``SentenceTransformer`` and the passage prefix."""
    from hybridlib.models import load_encoder

    folder = model_folder(model)
    ours = load_encoder(folder, max_length=max_length)
    peer = sentence_transformer(folder, ours.max_length)
    peer.eval()
    return ours, peer, ours.prefix("passage")


def encode_both(
    ours: Any, peer: Any, prefix: str, texts: Sequence[str], batch_size: int = BATCH_SIZE
) -> dict[str, Callable[[], np.ndarray]]:
    """The two encode calls, as zero-argument callables: ``(n, dim)`` float32 each."""
    texts = list(texts)
    prefixed = [prefix + t for t in texts]
    return {
        "hybridlib": lambda: ours.encode(
            texts, kind="passage", batch_size=batch_size, show_progress=False
        ),
        "sentence-transformers": lambda: peer.encode(
            prefixed, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True
        ),
    }


def _padded(encoder: Any, encode: Callable[[], np.ndarray]) -> np.ndarray:
    """``encode()`` with the encoder's unpadded forward switched off for the call."""
    encoder.unpadded = False
    try:
        return encode()
    finally:
        encoder.unpadded = True


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest row-wise cosine between two ``(n, dim)`` embedding matrices."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def run(
    *,
    quick: bool,
    model: str = "embedded",
    repeats: int | None = None,
    texts: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the encoding benchmark and its details."""
    repeats = repeats or (2 if quick else 5)
    if texts is None:
        texts = xquad_candidates(QUICK_SENTENCES if quick else None)
    ours, peer, prefix = encoders(model)
    calls = encode_both(ours, peer, prefix, texts)
    log(f"encoding: {len(texts)} sentences, batch {BATCH_SIZE}, {repeats} repeats")
    with torch.inference_mode():
        cosine = min_cosine(calls["hybridlib"](), calls["sentence-transformers"]())
    if cosine < MIN_COSINE:
        raise AssertionError(
            f"encoding: our embeddings differ from sentence-transformers': smallest cosine "
            f"{cosine:.6f} < {MIN_COSINE}"
        )
    if ours.unpadded:  # the optimisation's "before": the same encoder on the padded forward
        calls["hybridlib, padded forward"] = lambda: _padded(ours, calls["hybridlib"])
    # the check above warmed both up (a full pass each)
    seconds = interleaved(calls, repeats=repeats, warmup=0)
    n = len(texts)
    rows = Comparison(
        BENCHMARK, "hybridlib Encoder.encode", "sentence-transformers encode", "sentences_per_s",
        [n / s for s in seconds["hybridlib"]], [n / s for s in seconds["sentence-transformers"]],
    ).rows()  # fmt: skip
    if "hybridlib, padded forward" in seconds:
        rows += Comparison(
            BENCHMARK, "hybridlib Encoder.encode", "hybridlib Encoder.encode, padded forward",
            "sentences_per_s", [n / s for s in seconds["hybridlib"]],
            [n / s for s in seconds["hybridlib, padded forward"]],
        ).rows()[2:]  # fmt: skip
    rows.append(row(BENCHMARK, "hybridlib vs sentence-transformers", "min_cosine", [cosine]))
    details = {"n_sentences": n, "batch_size": BATCH_SIZE, "seconds": seconds, "min_cosine": cosine,
               "max_length": ours.max_length, "model": model}  # fmt: skip
    return rows, details
