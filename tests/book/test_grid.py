"""The executions of a book on a Dask cluster: same keys, caches and results as one after
another; independent executions at the same time; a failure named as in a sequential run."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from hybridlib.runner import run_executions
from hybridlib.runner.execute import NotebookFailure
from hybridlib.runner.plan import Execution

from .conftest import make_notebook

TIMED = [
    (
        "code",
        """
        import json, time
        from pathlib import Path
        from myst_nb import glue
        started = time.time()
        time.sleep(sleep)
        assert not fail, "asked to fail"
        Path(log_dir, f"{label}.json").write_text(json.dumps([started, time.time()]))
        glue("value", value * 2, display=False)
        import os
        glue("omp", os.environ.get("OMP_NUM_THREADS", "unset"), display=False)
    """,
    ),
]


@pytest.fixture()
def grid_book(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    nb = make_notebook(TIMED, 'label = "x"\nvalue = 1\nsleep = 0.0\nfail = False\nlog_dir = "."')
    nbformat.write(nb, tmp_path / "notebooks" / "timed.ipynb")
    (tmp_path / "logs").mkdir()
    return tmp_path


def plan(root: Path, fail_c: bool = False) -> list[Execution]:
    """a and b are independent (5 s each); c needs both."""

    def run(label, value, depends_on=(), **extra):
        return Execution(name=label, notebook="notebooks/timed.ipynb",
                         parameters={"label": label, "value": value, "log_dir": str(root / "logs"), **extra},
                         depends_on=depends_on)  # fmt: skip

    return [run("a", 1, sleep=5.0), run("b", 2, sleep=5.0), run("c", 3, ("a", "b"), fail=fail_c)]


def glued(store: Path, name: str, key: str = "value") -> str:
    nb = nbformat.read(store / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == key:
                return output["data"]["application/papermill.record/text/plain"]
    raise AssertionError(f"no glued {key} in {name}")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip
        yield client


def test_a_two_worker_cluster_gives_the_sequential_results_running_a_and_b_at_once(
    grid_book, client
):
    sequential = run_executions(plan(grid_book), grid_book, grid_book / "seq", progress=False)
    times = {n: json.loads((grid_book / "logs" / f"{n}.json").read_text()) for n in "abc"}
    assert times["b"][0] >= times["a"][1]  # one after another

    parallel = run_executions(
        plan(grid_book), grid_book, grid_book / "par", progress=False, client=client
    )
    times = {n: json.loads((grid_book / "logs" / f"{n}.json").read_text()) for n in "abc"}
    assert max(times["a"][0], times["b"][0]) < min(times["a"][1], times["b"][1])  # a and b overlap
    assert times["c"][0] >= max(times["a"][1], times["b"][1])  # c after both

    assert [r.name for r in parallel] == ["a", "b", "c"]
    assert [r.key for r in parallel] == [r.key for r in sequential]  # same cache keys
    for name, value in zip("abc", (2, 4, 6)):
        assert glued(grid_book / "par", name) == glued(grid_book / "seq", name) == str(value)
        # the kernels see the build's thread settings, not the 1 that Dask's nanny sets
        assert glued(grid_book / "par", name, "omp") == glued(grid_book / "seq", name, "omp")
    manifest = json.loads((grid_book / "par" / "manifest.json").read_text())
    assert [m["name"] for m in manifest] == ["a", "b", "c"]

    again = run_executions(
        plan(grid_book), grid_book, grid_book / "par", progress=False, client=client
    )
    assert [r.status for r in again] == ["cached"] * 3


def test_a_failing_execution_on_a_worker_is_named(grid_book, client):
    with pytest.raises(
        NotebookFailure, match=r"notebook notebooks/timed.ipynb \(execution 'c'\) failed"
    ) as caught:
        run_executions(
            plan(grid_book, fail_c=True),
            grid_book,
            grid_book / "fail",
            progress=False,
            client=client,
        )
    assert caught.value.execution == "c" and "asked to fail" in caught.value.error
    stamps = sorted(
        p.name for p in (grid_book / "fail").glob("*.json") if p.name != "manifest.json"
    )
    assert stamps == ["a.json", "b.json"]  # c left no stamp: never taken for finished


def test_the_book_command_takes_workers_or_a_scheduler_not_both(small_book, capsys):
    from hybridlib.cli import main

    base = ["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]
    assert main([*base, "--workers", "2", "--scheduler", "tcp://x:1"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main([*base, "--workers", "0"]) == 1
    assert "--workers must be >= 1, but got 0" in capsys.readouterr().err
    assert main([*base, "--workers", "1"]) == 0
    assert "1 notebook executions (1 run, 0 cached)" in capsys.readouterr().out
