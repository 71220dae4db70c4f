"""Before / after measurements of proposed speed-ups in other areas (run by hand, not by ``run``).

    .venv/bin/python -m benchmarks.optimisations [adamw] [sub_batches] [--repeats 3]

- ``adamw``: the optimizer step alone on the embedded model's trainable parameters (random
  gradients): ``torch.optim.AdamW`` as the trainer builds it (foreach, the default) vs
  ``fused=True``, with all weights and with the word embeddings frozen.
- ``sub_batches``: forward + backward of the InfoNCE loss on real training batches, the
  batch embedded at once (padded to its longest text) vs in length-sorted sub-batches of 8
  (each padded to its own longest text; the embeddings, hence the loss and gradients, are
  the same up to float rounding). Word embeddings frozen.
- ``allocator``: the embedded model encoding the first 300 SciFact abstracts through all 12
  layers (bf16 where native), in a fresh process with glibc's default allocator vs one with
  :func:`hybridlib.allocator.tune_allocator` (a process-wide setting, so each side is its own
  child process, the two alternated).

Each pair is timed alternately (in one process, or in alternated child processes where the
setting is the process's); the ratio is before / after (> 1: faster).
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import torch

from benchmarks.common import NUM_THREADS, interleaved, time_call
from benchmarks.training import training_batches


def trainer_adamw(params: list[torch.nn.Parameter], fused: bool) -> torch.optim.AdamW:
    """``hybridlib.training.step.make_optimizer``'s AdamW, optionally with ``fused=True``."""
    from hybridlib.training import TrainConfig
    from hybridlib.training.step import make_optimizer

    groups = make_optimizer(TrainConfig(steps=1), params).param_groups
    return torch.optim.AdamW(
        [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in groups],
        lr=groups[0]["lr"],
        fused=fused,
    )


def adamw(repeats: int) -> None:
    from hybridlib.models import load_encoder

    encoder = load_encoder("embedded")
    for frozen in (False, True):
        encoder.word_embeddings().requires_grad_(not frozen)
        params = [p for p in encoder.parameters() if p.requires_grad]
        for p in params:
            p.grad = torch.randn_like(p) * 1e-3
        optimizers = {}
        for fused in (False, True):
            optimizers["fused" if fused else "foreach"] = trainer_adamw(params, fused=fused)
        seconds = interleaved({k: o.step for k, o in optimizers.items()}, repeats=repeats, warmup=1)
        ratios = [b / a for a, b in zip(seconds["fused"], seconds["foreach"])]
        n = sum(p.numel() for p in params)
        print(f"AdamW step, {n / 1e6:.1f}M trainable (frozen embeddings: {frozen}): "
              f"foreach {statistics.median(seconds['foreach']):.2f} s, fused {statistics.median(seconds['fused']):.2f} s; "
              f"speed-up min/median/max {min(ratios):.2f}/{statistics.median(ratios):.2f}/{max(ratios):.2f}")  # fmt: skip
        for p in params:
            p.grad = None


def embed_sorted_chunks(encoder, texts: list[str], kind: str, chunk: int) -> torch.Tensor:
    """``(n, dim)`` embeddings computed in length-sorted chunks, returned in input order."""
    features = encoder.tokenize(texts, kind)
    lengths = features["attention_mask"].sum(dim=1)  # (n,)
    order = torch.argsort(lengths, descending=True, stable=True)
    parts = []
    for start in range(0, len(texts), chunk):
        index = order[start : start + chunk]
        width = int(lengths[index].max())
        parts.append(encoder.embed_tokens({k: v[index, :width] for k, v in features.items()}))
    embedded = torch.cat(parts)  # (n, dim), sorted order
    return embedded[torch.argsort(order)]


def sub_batches(repeats: int, chunk: int = 8) -> None:
    from hybridlib.losses import info_nce
    from hybridlib.models import load_encoder

    encoder = load_encoder("embedded", max_length=64)
    encoder.word_embeddings().requires_grad_(False)
    encoder.train()
    batches = training_batches(repeats + 1)

    def whole(batch) -> float:
        q = encoder.embed(batch["queries"], "query")
        p = encoder.embed(batch["passages"], "passage")
        loss = info_nce(q, p, parallel_keys=batch["parallel_keys"])
        loss.backward()
        encoder.zero_grad(set_to_none=True)
        return loss.item()

    def chunked(batch) -> float:
        q = embed_sorted_chunks(encoder, batch["queries"], "query", chunk)
        p = embed_sorted_chunks(encoder, batch["passages"], "passage", chunk)
        loss = info_nce(q, p, parallel_keys=batch["parallel_keys"])
        loss.backward()
        encoder.zero_grad(set_to_none=True)
        return loss.item()

    with torch.no_grad():  # same embeddings (eval mode: no dropout)
        encoder.eval()
        b = batches[0]
        a = encoder.embed(b["queries"], "query")
        c = embed_sorted_chunks(encoder, b["queries"], "query", chunk)
        print(f"sub-batches: max |difference| of embeddings {float((a - c).abs().max()):.2e}")
        encoder.train()
    before, after = [], []
    for i, batch in enumerate(batches):
        pair = [(whole, before), (chunked, after)]
        for fn, out in pair if i % 2 else pair[::-1]:
            seconds, _ = time_call(lambda: fn(batch))  # noqa: B023 (called at once, inside the loop)
            if i:
                out.append(seconds)
    ratios = [b / a for b, a in zip(before, after)]
    print(f"forward+backward, batch of 32 pairs: whole {statistics.median(before):.2f} s, "
          f"sub-batches of {chunk} {statistics.median(after):.2f} s; "
          f"speed-up min/median/max {min(ratios):.2f}/{statistics.median(ratios):.2f}/{max(ratios):.2f}")  # fmt: skip


def encode_abstracts(tuned: bool, n_texts: int = 300) -> float:
    """Seconds to encode the first ``n_texts`` SciFact abstracts with the embedded model, in
    this process (:func:`allocator`'s child)."""
    import json

    if tuned:
        from hybridlib.allocator import tune_allocator

        tune_allocator()
    from hybridlib.data.sources import data_dir
    from hybridlib.models import load_encoder
    from hybridlib.runner.profiles import native_bfloat16

    texts = []
    with open(data_dir() / "beir" / "scifact" / "corpus.jsonl", encoding="utf-8") as lines:
        for line, _ in zip(lines, range(n_texts)):
            record = json.loads(line)
            texts.append(f"{record['title']} {record['text']}")
    precision = "bfloat16" if native_bfloat16() else "float32"
    encoder = load_encoder("embedded", precision=precision)
    seconds, _ = time_call(lambda: encoder.encode(texts, "passage", show_progress=False))
    return seconds


def allocator(repeats: int) -> None:
    import os
    import subprocess

    child = "import sys; from benchmarks.optimisations import encode_abstracts; print(encode_abstracts(sys.argv[1] == 'tuned'))"
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    seconds: dict[str, list[float]] = {"default": [], "tuned": []}
    for r in range(repeats):
        for side in ("default", "tuned") if r % 2 else ("tuned", "default"):
            out = subprocess.run([sys.executable, "-c", child, side], env=plain_env, check=True,
                                 capture_output=True, text=True).stdout  # fmt: skip
            seconds[side].append(float(out.strip().splitlines()[-1]))
    ratios = [b / a for a, b in zip(seconds["tuned"], seconds["default"])]
    print(f"encode 300 SciFact abstracts x 12 layers: glibc default {statistics.median(seconds['default']):.1f} s, "
          f"tuned {statistics.median(seconds['tuned']):.1f} s; "
          f"speed-up min/median/max {min(ratios):.2f}/{statistics.median(ratios):.2f}/{max(ratios):.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which",
        nargs="*",
        default=["adamw", "sub_batches", "allocator"],
        choices=["adamw", "sub_batches", "allocator"],
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(NUM_THREADS)
    np.random.seed(0)
    torch.manual_seed(0)
    for name in args.which:
        {"adamw": adamw, "sub_batches": sub_batches, "allocator": allocator}[name](args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
