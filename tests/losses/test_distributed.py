"""gather_with_grad over 2 gloo processes gives the single-process loss and gradients; without
``gather_across_processes`` each rank's loss is that of its own pairs (no collective)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from hybridlib.losses import info_nce

B, D, K = 3, 5, 2
KEYS = ["a", "b", "c", "a", "d", "b"]  # "a" and "b" repeat across ranks: false negatives
TEXTS = ["x", "y", "z", "w", "z", "v"]  # pairs 2 and 4 (keys c, d) share one passage text
OPTIONS = {"temperature": 0.5, "symmetric": True}

WORKER = """
import sys, torch, torch.distributed as dist
from hybridlib.losses import info_nce
dist.init_process_group("gloo")
rank = dist.get_rank()
q, p, h = (torch.load(sys.argv[1])[name] for name in ("q", "p", "h"))
B = {B}
local = slice(rank * B, (rank + 1) * B)
q, p, h = (x[local].clone().requires_grad_() for x in (q, p, h))
keys = {{"parallel_keys": {KEYS}[local], "passage_keys": {TEXTS}[local]}}
loss = info_nce(q, p, hard_negative_emb=h, gather_across_processes=True, **keys, **{OPTIONS})
loss.backward()
alone = info_nce(q, p, hard_negative_emb=h, **keys, **{OPTIONS})  # the default: no collective
grads = {{"loss": loss.detach(), "q": q.grad, "p": p.grad, "h": h.grad, "alone": alone.detach()}}
torch.save(grads, sys.argv[2] + f"/rank{{rank}}.pt")
dist.destroy_process_group()
"""


def test_two_processes_match_one_process(tmp_path: Path):
    generator = torch.Generator().manual_seed(0)
    data = {
        "q": torch.randn(2 * B, D, dtype=torch.float64, generator=generator),
        "p": torch.randn(2 * B, D, dtype=torch.float64, generator=generator),
        "h": torch.randn(2 * B, K, D, dtype=torch.float64, generator=generator),
    }
    torch.save(data, tmp_path / "inputs.pt")
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(WORKER.format(B=B, KEYS=KEYS, TEXTS=TEXTS, OPTIONS=OPTIONS)),
        encoding="utf-8",
    )
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--standalone",
            str(script),
            str(tmp_path / "inputs.pt"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]

    # one process, the whole batch of 2 * B pairs
    full = {name: x.clone().requires_grad_() for name, x in data.items()}
    loss = info_nce(
        full["q"],
        full["p"],
        hard_negative_emb=full["h"],
        parallel_keys=KEYS,
        passage_keys=TEXTS,
        **OPTIONS,
    )
    loss.backward()
    keys_only = info_nce(
        data["q"], data["p"], hard_negative_emb=data["h"], parallel_keys=KEYS, **OPTIONS
    )
    assert abs(keys_only.item() - loss.item()) > 1e-3, "the cross-rank content mask is in force"

    # by default the loss is a pure function of its inputs: each rank's own pairs only
    for rank, part in enumerate(ranks):
        local = slice(rank * B, (rank + 1) * B)
        own = info_nce(
            data["q"][local],
            data["p"][local],
            hard_negative_emb=data["h"][local],
            parallel_keys=KEYS[local],
            passage_keys=TEXTS[local],
            **OPTIONS,
        )
        torch.testing.assert_close(part["alone"], own.detach())
        assert abs(part["alone"].item() - part["loss"].item()) > 1e-3, "gathering changes it"

    # the global loss is the mean of the rank losses ...
    torch.testing.assert_close((ranks[0]["loss"] + ranks[1]["loss"]) / 2, loss.detach())
    # ... and each rank's embeddings get the gradient of the sum of the rank losses,
    # i.e. world * d(global loss); averaging parameter gradients over ranks divides by world
    for name in ("q", "p", "h"):
        gathered = torch.cat([ranks[0][name], ranks[1][name]])
        torch.testing.assert_close(gathered, 2 * full[name].grad, rtol=1e-10, atol=1e-12)
