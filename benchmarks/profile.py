"""Where the time goes: the torch profiler on one training step of ours and of the peer.

    .venv/bin/python -m benchmarks.profile [--model embedded] [--frozen] [--steps 1] [--rows 25]

Prints the operators that take the most CPU time (self time), for hybridlib's step and for
sentence-transformers' step on the same batch, one after the other (warm-up step first).
"""

from __future__ import annotations

import argparse
import sys

import torch

from benchmarks.common import NUM_THREADS
from benchmarks.training import (
    HybridlibStep,
    SentenceTransformersStep,
    model_folder,
    prefixes,
    training_batches,
)


def profile_step(step, batches, rows: int, label: str) -> None:
    from torch.profiler import ProfilerActivity, profile

    step(batches[0])  # warm-up
    with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
        for batch in batches[1:]:
            step(batch)
    print(f"\n===== {label}: {len(batches) - 1} step(s) =====")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--frozen", action="store_true", help="freeze the word embeddings")
    parser.add_argument("--steps", type=int, default=1, help="profiled steps after one warm-up")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--only", choices=["hybridlib", "sentence-transformers"], default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(NUM_THREADS)
    batches = training_batches(args.steps + 1)
    if args.only in (None, "hybridlib"):
        torch.manual_seed(0)
        ours = HybridlibStep(args.model, args.frozen)
        profile_step(ours, batches, args.rows, f"hybridlib (frozen={args.frozen})")
        del ours
    if args.only in (None, "sentence-transformers"):
        torch.manual_seed(0)
        peer = SentenceTransformersStep(model_folder(args.model), args.frozen, prefixes(args.model))
        profile_step(peer, batches, args.rows, f"sentence-transformers (frozen={args.frozen})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
