"""Run by ``test_ddp.py``, alone or under ``torchrun``: :func:`train_step` on fixed global
batches, each rank taking its consecutive slice; rank 0 writes the final weights and the
global losses of every variant to ``sys.argv[1]`` (``{variant}.pt``)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from hybridlib.losses.distributed import world_size_and_rank
from hybridlib.models import tiny_encoder
from hybridlib.samplers import ParallelPairs
from hybridlib.training import TrainConfig, build_training, distribute, train_step

GLOBAL_BATCH, STEPS = 8, 3
WORDS = "river mountain city language music science history garden ocean forest bridge".split()
VARIANTS = {  # trainer fields; every variant clips at norm 1 and uses row gradients
    "plain": {},
    "accumulation": {"grad_accumulation_steps": 2},
    "gradcache": {"grad_accumulation_steps": 2, "grad_cache_chunk_size": 3},
    "top-layer": {"train_top_layers": 1, "hidden_state_cache": False},
}


def global_micro_batch(step: int, micro: int) -> list[dict[str, str]]:
    """``GLOBAL_BATCH`` distinct pairs for one micro-batch of one step."""
    items = []
    for i in range(GLOBAL_BATCH):
        n = (step * 7 + micro * 3 + i) % len(WORDS)
        key = f"s{step}m{micro}i{i}"
        items.append({
            "query": f"where is the {WORDS[n]} of {WORDS[(n + i) % len(WORDS)]} {i}",
            "passage": f"the {WORDS[n]} lies near the {WORDS[(n + 2 * i + 1) % len(WORDS)]} {key}",
            "parallel_key": key, "query_language": "en", "passage_language": "en",
        })  # fmt: skip
    return items


def run(fields: dict, world: int, rank: int) -> tuple[dict[str, torch.Tensor], list[float]]:
    config = TrainConfig.from_dict({"steps": STEPS, "lr": 1e-3, "warmup_steps": 0, **fields})
    encoder = tiny_encoder(seed=0)
    if config.train_top_layers is not None:
        encoder.freeze_bottom(config.train_top_layers)
    training = build_training(config, encoder, STEPS)
    encoder.eval()  # no dropout: one process and two draw different masks
    distribute(training)
    share = GLOBAL_BATCH // world
    losses = []
    for step in range(STEPS):
        micro_batches = [
            ParallelPairs.collate(global_micro_batch(step, m)[rank * share : (rank + 1) * share])
            for m in range(config.grad_accumulation_steps)
        ]
        loss = torch.tensor([train_step(training, micro_batches).loss], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(loss)
        losses.append(loss.item() / world)
    state = {name: p.detach().clone() for name, p in encoder.named_parameters()}
    return state, losses


def main(output: Path) -> None:
    world = int(__import__("os").environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("gloo")
    world, rank = world_size_and_rank()
    for name, fields in VARIANTS.items():
        state, losses = run(fields, world, rank)
        if rank == 0:
            torch.save({"state": state, "losses": losses, "world": world}, output / f"{name}.pt")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(Path(sys.argv[1]))
