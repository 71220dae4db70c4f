"""Checkpoints of a training run: written atomically with a record of their size and SHA-256,
verified before they are loaded, set aside when they do not verify.

``{output_dir}/checkpoints/step-XXXXXXXX.pt`` holds the trained weights (with a frozen bottom:
the top only), the optimizer, scheduler and sampler states, every rank's RNG states, the
config and the world size; ``step-XXXXXXXX.pt.json`` is its record, written last, so a
checkpoint without one is a write cut short.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from hybridlib.io import atomic_path, atomic_write_json
from hybridlib.losses.distributed import gather_objects
from hybridlib.training.config import TrainConfig

CHECKPOINT_DIR = "checkpoints"


def rng_state() -> dict[str, Any]:
    """The RNG states as tensors and plain data (loadable with ``weights_only=True``)."""
    numpy_state: Any = np.random.get_state()  # the legacy tuple form
    kind, keys, position, has_gauss, cached = numpy_state
    state = {
        "python": random.getstate(),
        "numpy": [
            kind,
            torch.from_numpy(keys.astype(np.int64)),
            int(position),
            int(has_gauss),
            float(cached),
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_paths(output_dir: str | os.PathLike[str]) -> list[Path]:
    """The run's checkpoints, oldest first."""
    return sorted((Path(output_dir) / CHECKPOINT_DIR).glob("step-*.pt"))


def newest_complete_step(output_dir: str | os.PathLike[str]) -> int:
    """The step of the run's newest checkpoint whose record was written (0: none); not
    verified (:func:`newest_valid_checkpoint` does that when the run resumes)."""
    steps = [int(p.stem.removeprefix("step-")) for p in checkpoint_paths(output_dir)
             if record_path(p).exists()]  # fmt: skip
    return max(steps, default=0)


class CheckpointError(RuntimeError):
    """A checkpoint that does not verify (no record, another size or SHA-256, unreadable, a
    pickle that ``weights_only`` refuses); the message names the file, then ``reason``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):  # rebuilt from its fields in another process
        return (type(self), (self.path, self.reason))


def record_path(path: Path) -> Path:
    """``step-XXXXXXXX.pt.json``: the record of checkpoint ``path`` (size and SHA-256)."""
    return path.with_name(path.name + ".json")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint that matches the size and SHA-256 recorded after it was written, read as
    tensors and plain data only (``weights_only=True``); else :class:`CheckpointError`."""
    from hybridlib.io import sha256_file

    record_file = record_path(path)
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise CheckpointError(
            path, f"{record_file.name} is missing or unreadable (a write cut short)"
        ) from None
    size = path.stat().st_size
    if size != record.get("size"):
        raise CheckpointError(path, f"{size} bytes, but its record says {record.get('size')}")
    if sha256_file(path) != record.get("sha256"):
        raise CheckpointError(
            path, "its SHA-256 differs from its record (the file changed after it was written)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError (an object weights_only refuses), a bad zip
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise CheckpointError(
            path, f"unreadable as tensors and plain data ({type(error).__name__}: {first})"
        ) from None


def newest_valid_checkpoint(
    output_dir: str | os.PathLike[str],
) -> tuple[Path | None, dict[str, Any] | None, list[str]]:
    """The newest checkpoint that verifies, its state, and why each newer one was skipped.
    A checkpoint that fails is set aside (renamed ``*.corrupt``), never loaded again."""
    skipped: list[str] = []
    for path in reversed(checkpoint_paths(output_dir)):
        try:
            return path, load_checkpoint(path), skipped
        except CheckpointError as error:
            skipped.append(f"{path.name}: {error.reason}")
            path.replace(path.with_name(path.name + ".corrupt"))
            record_path(path).unlink(missing_ok=True)
    return None, None, skipped


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The fields of ``current`` that differ from a checkpoint's ``saved`` config, except those
    that change no weight: a run resumes only under the config it was started with."""
    # settings that do not change the weights (the number of threads may change the last bits)
    ignore = {
        "output_dir",
        "checkpoint_every",
        "keep_checkpoints",
        "log_every",
        "num_threads",
        "device",
        "embedding_row_gradients",  # the same gradient, summed in another order
        "validation",  # scoring held-out data changes no weight
    }
    return sorted(k for k in current if k not in ignore and saved.get(k) != current[k])


def trainable_state(encoder: Any) -> dict[str, torch.Tensor]:
    """The weights a checkpoint must hold: all of them, or with a frozen bottom only the
    trained top (the bottom is the base model's, checked by its hash when loading)."""
    state = encoder.state_dict()
    if encoder.top_layers is None:
        return state
    trainable = {name for name, p in encoder.named_parameters() if p.requires_grad}
    return {name: tensor for name, tensor in state.items() if name in trainable}


def save_checkpoint(
    output_dir: Path,
    step: int,
    config: TrainConfig,
    world: int,
    rank: int,
    encoder: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    sampler: Any,
) -> None:
    """Write ``checkpoints/step-XXXXXXXX.pt`` atomically (rank 0) and keep the newest few."""
    rng_states = gather_objects([rng_state()])  # every rank's, in rank order
    if rank == 0:
        state = {
            "step": step,
            "model": trainable_state(encoder),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "sampler": sampler.state_dict(),
            "rng": rng_states,
            "config": config.to_dict(),
            "world_size": world,
        }
        path = output_dir / CHECKPOINT_DIR / f"step-{step:08d}.pt"
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        from hybridlib.io import sha256_file

        # written last: a checkpoint without its record is one whose writing was cut short
        record = {"step": step, "size": path.stat().st_size, "sha256": sha256_file(path)}
        atomic_write_json(record_path(path), record)
        for old in checkpoint_paths(output_dir)[: -config.keep_checkpoints]:
            old.unlink()
            record_path(old).unlink(missing_ok=True)
    if world > 1:
        dist.barrier()
