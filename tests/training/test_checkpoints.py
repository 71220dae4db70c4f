"""Checkpoints (hybridlib.training.checkpoints): verified before loading, set aside when they
do not verify, pruned to the newest few; what a resumed run may change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from hybridlib.models import tiny_encoder
from hybridlib.training import CheckpointError, TrainConfig, checkpoint_paths
from hybridlib.training.checkpoints import (
    config_differences,
    load_checkpoint,
    newest_valid_checkpoint,
    record_path,
    save_checkpoint,
)


class Stateful:
    """A scheduler or sampler stand-in: only its state is checkpointed."""

    def state_dict(self) -> dict[str, Any]:
        return {"position": 7}


def save(folder: Path, steps: list[int], keep: int = 5) -> None:
    config = TrainConfig.from_dict({"steps": 10, "keep_checkpoints": keep})
    encoder = tiny_encoder()
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    for step in steps:
        save_checkpoint(folder, step, config, 1, 0, encoder, optimizer, Stateful(), Stateful())


def test_a_saved_checkpoint_loads_with_its_state(tmp_path: Path) -> None:
    save(tmp_path, [3])
    (path,) = checkpoint_paths(tmp_path)
    state = load_checkpoint(path)
    assert state["step"] == 3 and state["sampler"] == {"position": 7} and state["world_size"] == 1
    assert torch.equal(state["model"]["transformer.embeddings.word_embeddings.weight"],
                       tiny_encoder().state_dict()["transformer.embeddings.word_embeddings.weight"])  # fmt: skip


def test_only_the_newest_few_are_kept(tmp_path: Path) -> None:
    save(tmp_path, [1, 2, 3], keep=2)
    assert [p.name for p in checkpoint_paths(tmp_path)] == ["step-00000002.pt", "step-00000003.pt"]
    assert not record_path(tmp_path / "checkpoints" / "step-00000001.pt").exists()


def test_a_changed_or_unrecorded_checkpoint_is_refused_and_set_aside(tmp_path: Path) -> None:
    save(tmp_path, [1, 2, 3])
    first, second, third = checkpoint_paths(tmp_path)
    data = bytearray(third.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    third.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256 differs from its record"):
        load_checkpoint(third)
    record_path(second).unlink()  # a write cut short before its record
    with pytest.raises(CheckpointError, match="missing or unreadable"):
        load_checkpoint(second)
    path, state, skipped = newest_valid_checkpoint(tmp_path)
    assert path == first and state is not None and state["step"] == 1
    assert [reason.split(":")[0] for reason in skipped] == [third.name, second.name]
    assert checkpoint_paths(tmp_path) == [first]
    assert third.with_name(third.name + ".corrupt").exists()


def test_a_resumed_run_may_change_only_what_changes_no_weight() -> None:
    saved = {"lr": 1e-4, "num_threads": 2, "output_dir": "a", "seed": 0}
    current = {"lr": 3e-4, "num_threads": 8, "output_dir": "b", "seed": 0}
    assert config_differences(saved, current) == ["lr"]


def test_a_pickle_that_weights_only_refuses_is_named(tmp_path: Path) -> None:
    """Issue 29: a refused pickle (UnpicklingError) gave torch's long message, not the file."""
    import hashlib
    import json

    save(tmp_path, [1])
    (path,) = checkpoint_paths(tmp_path)
    torch.save({"step": 1, "model": Path("not a tensor")}, path)  # an object, not tensors
    data = path.read_bytes()  # its record made to agree: only the unpickling can refuse it
    record = {"step": 1, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    record_path(path).write_text(json.dumps(record))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unreadable as tensors and plain data (UnpicklingError: ")
    assert "\n" not in message and caught.value.path == path
    assert newest_valid_checkpoint(tmp_path)[2][0].startswith(f"{path.name}: unreadable as")
