"""The trainer's step pieces (hybridlib.training.step): what they build and what they refuse.
The step under DistributedDataParallel (2 gloo processes, tests/training/ddp_worker.py) equals
the step run alone on the whole batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hybridlib.losses import CachedInfoNCELoss, InfoNCELoss
from hybridlib.models import tiny_encoder
from hybridlib.training import TrainConfig
from hybridlib.training.step import make_loss

REPO = Path(__file__).resolve().parents[2]


WORKER = Path(__file__).with_name("ddp_worker.py")  # its VARIANTS


VARIANTS = ["accumulation", "gradcache", "plain", "top-layer"]


def launch(output: Path, processes: int) -> dict[str, dict]:
    """Run the worker in ``processes`` processes (torchrun, gloo); its results by variant."""
    output.mkdir()
    command = [sys.executable, str(WORKER), str(output)]
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(processes), str(WORKER), str(output)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    assert sorted(path.stem for path in output.glob("*.pt")) == VARIANTS
    return {name: torch.load(output / f"{name}.pt") for name in VARIANTS}


def test_the_loss_follows_the_config() -> None:
    config = TrainConfig.from_dict({"steps": 1, "temperature": 0.1, "symmetric": True})
    loss = make_loss(config, tiny_encoder())
    assert type(loss) is InfoNCELoss and loss.temperature == 0.1 and loss.symmetric
    cached = make_loss(
        TrainConfig.from_dict({"steps": 1, "grad_cache_chunk_size": 4}), tiny_encoder()
    )
    assert isinstance(cached, CachedInfoNCELoss) and cached.mini_batch_size == 4


def test_an_encoder_scored_by_dot_product_is_not_trained_on_cosine() -> None:
    """Issue 17: ``EncoderSettings.normalize=False`` was contradicted by the loss (always
    cosine): the model was trained on one similarity and evaluated on another."""
    with pytest.raises(ValueError, match="normalize=False: it is evaluated by dot product"):
        make_loss(TrainConfig.from_dict({"steps": 1}), tiny_encoder(normalize=False))


def test_two_processes_train_what_one_trains_on_the_global_batch(tmp_path: Path) -> None:
    one, two = launch(tmp_path / "one", 1), launch(tmp_path / "two", 2)
    start = {name: p.detach() for name, p in tiny_encoder(seed=0).named_parameters()}
    for name in VARIANTS:
        assert (one[name]["world"], two[name]["world"]) == (1, 2)
        assert two[name]["losses"] == pytest.approx(one[name]["losses"], rel=1e-5)
        moved = []
        for param, value in one[name]["state"].items():
            torch.testing.assert_close(two[name]["state"][param], value, rtol=1e-4, atol=2e-5,
                                       msg=f"{name}: {param}")  # fmt: skip
            if not torch.equal(value, start[param]):
                moved.append(param)
        assert moved, name  # the steps did train
        if name == "top-layer":
            assert all(".layer.1." in param or "pool" in param for param in moved), moved
        else:
            assert any("word_embeddings" in param for param in moved)  # row gradients, averaged
