"""Top-k fine-tuning on cached hidden states against the whole model.

Each pair is timed in turn in one process (:mod:`benchmarks.common`), with the same weights,
texts, batches, precision and threads:

- **training step**: one optimizer step of the trainer's loss and AdamW on a batch of XQuAD
  pairs (:class:`benchmarks.training.HybridlibStep`): the top ``k`` layers on the cached states
  of the frozen bottom, against the whole encoder (word embeddings frozen, as the top-k
  check's whole-model runs); pairs/s. Peak memory of each in a fresh process.
- **suite encoding**: ``Encoder.encode`` of XQuAD-R candidate sentences through the cache
  (the top ``k`` layers only; the states filled before timing) against the whole forward
  pass; sentences/s. The embeddings must agree (cosine >= 0.999: float16 storage).
- **cache fill**: filling an empty cache with the same sentences (the bottom's pass, float16
  conversion, writing and hashing the shard) against encoding them with the whole model; the
  fill replaces that one pass, so the ratio is its overhead (below 1: slower).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import torch

from benchmarks.common import NUM_THREADS, Comparison, interleaved, peak_rss_bytes, row, time_call
from benchmarks.encoding import xquad_candidates
from benchmarks.training import Batch, HybridlibStep, training_batches

BENCHMARK = "topk"
BATCH_SIZE = 64  # encoding
MIN_COSINE = 0.999
QUICK_SENTENCES = 500
TOP = "top layers on cached states"
WHOLE = "whole model"


def _step(model: str, top_layers: int | None, precision: str, cache_root: str) -> HybridlibStep:
    """The trainer's step: the top layers on cached states, or the whole model (frozen words)."""
    return HybridlibStep(model, frozen=True, top_layers=top_layers, precision=precision,
                         max_length=512, cache_root=cache_root)  # fmt: skip


def _fill(step: HybridlibStep, batches: list[Batch]) -> None:
    cache = step.encoder.hidden_cache
    for batch in batches:
        cache.fill(batch["queries"], "query", show_progress=False)
        cache.fill(batch["passages"], "passage", show_progress=False)


def _memory_probe(
    model: str, top_layers: int | None, precision: str, batches: list[Batch]
) -> float:
    """In a fresh process: the peak RSS (bytes) of building a step and taking ``batches``."""
    torch.set_num_threads(NUM_THREADS)
    torch.manual_seed(0)
    root = tempfile.mkdtemp(prefix="hybridlib-topk-memory-")
    try:
        step = _step(model, top_layers, precision, root)
        if top_layers is not None:
            _fill(step, batches)
        for batch in batches:
            step(batch)
        return float(peak_rss_bytes())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def peak_memory(model: str, top_layers: int | None, precision: str, batches: list[Batch]) -> float:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_memory_probe, model, top_layers, precision, batches).result()


def run(
    *,
    quick: bool,
    model: str = "embedded",
    top_layers: int = 2,
    precision: str = "bfloat16",
    repeats: int | None = None,
    sentences: int | None = None,
    memory: bool = True,
    batches: list[Batch] | None = None,
    texts: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the top-k benchmark and its details (``batches`` and ``texts`` replace the
    XQuAD batches and sentences, e.g. in tests)."""
    from hybridlib.models import load_encoder, use_hidden_state_cache

    repeats = repeats or (2 if quick else 5)
    n_sentences = sentences or (QUICK_SENTENCES if quick else None)
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"model": model, "top_layers": top_layers, "precision": precision,
                               "repeats": repeats}  # fmt: skip
    root = tempfile.mkdtemp(prefix="hybridlib-topk-")
    try:
        # ---- training step
        batches = batches if batches is not None else training_batches(repeats + 1)
        if len(batches) < repeats + 1:
            raise ValueError(
                f"need {repeats + 1} batches (1 warm-up + {repeats} repeats), but got {len(batches)}"
            )
        log(
            f"top-k: training step, top {top_layers} layers vs whole model ({repeats} repeats + 1 warm-up)"
        )
        torch.manual_seed(0)
        steps = {
            TOP: _step(model, top_layers, precision, root),
            WHOLE: _step(model, None, precision, root),
        }
        _fill(steps[TOP], batches)  # as the build: the untrained evaluation filled it before
        seconds: dict[str, list[float]] = {name: [] for name in steps}
        for step in steps.values():
            step(batches[0])  # warm-up
        for batch in batches[1:]:  # in turn, each on the same batch
            for name, step in steps.items():
                seconds[name].append(time_call(lambda: step(batch))[0])  # noqa: B023 (called at once, inside the loop)
        pairs = len(batches[0]["queries"])
        rows += Comparison(BENCHMARK, TOP, WHOLE, "pairs_per_s", [pairs / s for s in seconds[TOP]],
                           [pairs / s for s in seconds[WHOLE]]).rows()  # fmt: skip
        details["training_seconds"] = seconds
        del steps
        if memory:
            log("top-k: peak memory of each step (fresh processes)")
            peaks = {
                name: peak_memory(model, k, precision, batches[1:2])
                for name, k in ((TOP, top_layers), (WHOLE, None))
            }
            rows += Comparison(BENCHMARK, TOP, WHOLE, "peak_rss_gib", [peaks[TOP] / 2**30],
                               [peaks[WHOLE] / 2**30]).rows()  # fmt: skip
            details["peak_rss_bytes"] = peaks

        # ---- suite encoding and cache fill
        texts = list(texts) if texts is not None else xquad_candidates(n_sentences)
        log(f"top-k: encoding {len(texts)} XQuAD-R sentences through the cache vs the whole model")
        whole = load_encoder(model, precision=precision, max_length=512)
        top = load_encoder(model, precision=precision, max_length=512)
        top.freeze_bottom(top_layers)
        use_hidden_state_cache(top, f"{root}/encode").fill(texts, "passage", show_progress=False)
        encode = {
            TOP: lambda: top.encode(texts, "passage", batch_size=BATCH_SIZE, show_progress=False),
            WHOLE: lambda: whole.encode(
                texts, "passage", batch_size=BATCH_SIZE, show_progress=False
            ),
        }
        timed = interleaved(encode, repeats)
        cosine = float((encode[TOP]() * encode[WHOLE]()).sum(axis=1).min())
        if cosine < MIN_COSINE:
            raise AssertionError(
                f"top-k encoding through the cache differs from the whole model: min cosine {cosine:.6f}"
            )
        rows += Comparison(BENCHMARK, f"encode via {TOP}", f"encode, {WHOLE}", "sentences_per_s",
                           [len(texts) / s for s in timed[TOP]], [len(texts) / s for s in timed[WHOLE]]).rows()  # fmt: skip
        rows.append(row(BENCHMARK, f"encode via {TOP} vs encode, {WHOLE}", "min_cosine", [cosine]))
        fills = iter(range(10**6))

        def fill_fresh() -> int:
            folder = f"{root}/fill-{next(fills)}"
            return use_hidden_state_cache(top, folder).fill(texts, "passage", show_progress=False)

        timed_fill = interleaved({"fill": fill_fresh, WHOLE: encode[WHOLE]}, repeats)
        rows += Comparison(BENCHMARK, "cache fill", f"encode, {WHOLE}", "sentences_per_s",
                           [len(texts) / s for s in timed_fill["fill"]],
                           [len(texts) / s for s in timed_fill[WHOLE]]).rows()[::2]  # fmt: skip
        details.update(n_sentences=len(texts), encode_seconds=timed, fill_seconds=timed_fill["fill"],
                       min_cosine=cosine)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows, details
