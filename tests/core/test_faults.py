"""Faults done for real: signals, a full disk, temporaries of killed processes (issue 14, case 7)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hybridlib.io import atomic_path, remove_stale_temporaries

REPO = Path(__file__).resolve().parents[2]


def _tiny_config(tmp_path: Path, output: Path, steps: int) -> Path:
    import dataclasses
    import json

    from tests.training.conftest import synthetic_pairs

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(dataclasses.asdict(p)) + "\n" for p in synthetic_pairs()))
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"model": "tiny", "output_dir": str(output), "steps": steps,
                                    "batch_size": 8, "checkpoint_every": 1, "num_threads": 1,
                                    "data": {"pairs_file": str(pairs)}}))  # fmt: skip
    return path


def test_temporaries_of_a_killed_write_are_removed_when_the_step_runs_again(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: what atomic_path left is removed by the next run."""
    script = (
        "import os, time, signal\n"
        "from hybridlib.io import atomic_path\n"
        f"with atomic_path({str(tmp_path / 'result.json')!r}) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    left = list(tmp_path.glob(".result.json.*.tmp"))
    assert len(left) == 1 and not (tmp_path / "result.json").exists()
    assert remove_stale_temporaries(tmp_path, "result.json") == left
    assert not list(tmp_path.iterdir())


def test_sigterm_leaves_no_temporary_and_a_rerun_cleans_a_sigkill(tmp_path: Path) -> None:
    """A training run stopped by SIGTERM exits with 143 and leaves no half-written file; one
    stopped by SIGKILL leaves temporaries that the resumed run removes."""
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, out, steps=400)
    command = [
        sys.executable,
        "-m",
        "hybridlib.cli",
        "train",
        "--config",
        str(config),
        "--no-progress",
    ]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        process = subprocess.Popen(command + (["--resume"] if out.exists() else []), cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and len(list((out / "checkpoints").glob("step-*.pt.json"))) < 2
        ):
            time.sleep(0.05)
        process.send_signal(sig)
        process.wait(timeout=120)
        if sig == signal.SIGTERM:
            assert process.returncode == 143
            assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # make a SIGKILL leftover certain, then resume: the run removes it and finishes
    (out / "checkpoints" / ".step-00000999.pt.abc.tmp").mkdir()
    finished = subprocess.run(
        command + ["--resume"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def _small_filesystem(path: Path, size: str) -> bool:
    """Mount a size-limited tmpfs at ``path`` (needs root); False where that is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


def test_a_full_disk_names_the_path_and_says_the_disk_is_full(tmp_path: Path) -> None:
    """It said "basic_ios::clear: iostream error" (torch.save's C++ stream) and nothing else."""
    disk = tmp_path / "disk"
    if not _small_filesystem(disk, "2m"):
        pytest.skip("mounting a small tmpfs needs root and a kernel that allows it here")
    try:
        import torch

        big = {"weights": torch.zeros(2 * 2**20)}  # 8 MB: more than the 2 MB disk
        with pytest.raises(
            OSError, match="No space left on device \\(the disk is full\\)"
        ) as caught:
            with atomic_path(disk / "checkpoint.pt") as tmp:
                torch.save(big, tmp)
        assert caught.value.filename == str(disk / "checkpoint.pt")
        del caught  # its traceback holds torch's open file on the small disk
        gc.collect()
        assert not list(disk.iterdir())  # nothing half-written left on the full disk
        out = disk / "run"
        config = _tiny_config(tmp_path, out, steps=2)
        result = subprocess.run([sys.executable, "-m", "hybridlib.cli", "train", "--config", str(config),
                                 "--no-progress"], cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert result.returncode == 2, result.stderr[-2000:]
        assert (
            "hybridlib train: No space left on device (the disk is full): " + str(out)
            in result.stderr
        )
        assert "Traceback" not in result.stderr
    finally:
        gc.collect()
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)
