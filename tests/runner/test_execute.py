"""The runner's executions (hybridlib.runner.execute): caching by parameters, code, packages and
artifacts; failures named; interrupted and stale runs; one after another or on a Dask cluster."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import nbformat
import pytest

from hybridlib.runner import (
    NotebookFailure,
    ParameterError,
    load_profile,
    plan_profile,
    run_executions,
)
from hybridlib.runner.execute import dependency_files
from hybridlib.runner.plan import Execution

from .conftest import make_notebook, tiny_executions

REPO = Path(__file__).resolve().parents[2]


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


def test_cache_skips_finished_work_and_reruns_a_changed_parameter(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    first = run_executions(tiny_executions(small_book), small_book, store, progress=False)
    assert [r.status for r in first] == ["executed"]
    stamp = (store / "points.json").read_text()

    second = run_executions(tiny_executions(small_book), small_book, store, progress=False)
    assert [r.status for r in second] == ["cached"]
    assert second[0].key == first[0].key
    assert (store / "points.json").read_text() == stamp  # untouched

    third = run_executions(
        tiny_executions(small_book, n_points=5), small_book, store, progress=False
    )
    assert [r.status for r in third] == ["executed"]
    assert third[0].key != first[0].key
    nb = nbformat.read(store / "points.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["n_points"] == 5


def test_changed_parameter_reruns_only_what_depends_on_it(small_book: Path) -> None:
    """Two independent notebooks and one that depends on the first: changing the first's
    parameter reruns it and its dependant, not the independent one."""
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    base = [
        Execution("a", nb, {"n_points": 2}),
        Execution("b", nb, {"n_points": 3}),
        Execution("c", nb, {"n_points": 4}, depends_on=("a",)),
    ]
    assert {r.status for r in run_executions(base, small_book, store, progress=False)} == {
        "executed"
    }
    changed = [Execution("a", nb, {"n_points": 6}), base[1], base[2]]
    statuses = {
        r.name: r.status for r in run_executions(changed, small_book, store, progress=False)
    }
    assert statuses == {"a": "executed", "b": "cached", "c": "executed"}


def test_changed_package_versions_rerun_and_say_which(
    small_book: Path, monkeypatch, capsys
) -> None:
    """The cache key holds the environment: a torch upgrade no longer reuses executed notebooks."""
    import hybridlib.runner.execute as execute

    store = small_book / "runs" / "store"
    assert [
        r.status
        for r in run_executions(tiny_executions(small_book), small_book, store, progress=False)
    ] == ["executed"]
    real = execute.package_versions()
    monkeypatch.setattr(execute, "package_versions", lambda: {**real, "torch": "99.0.0"})
    again = run_executions(tiny_executions(small_book), small_book, store, progress=True)
    assert [r.status for r in again] == ["executed"]
    assert (
        f"points: run again, package versions changed (torch {real['torch']} -> 99.0.0)"
        in capsys.readouterr().out
    )


def test_changed_notebook_code_reruns_it(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    run_executions(tiny_executions(small_book), small_book, store, progress=False)
    path = small_book / "notebooks" / "points.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[-2].source += "\nprint('changed')"
    nbformat.write(nb, path)
    assert (
        run_executions(tiny_executions(small_book), small_book, store, progress=False)[0].status
        == "executed"
    )


def test_failure_names_the_notebook_and_the_cell(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    with pytest.raises(NotebookFailure) as caught:
        run_executions(tiny_executions(small_book, fail=True), small_book, store, progress=False)
    error = caught.value
    assert error.notebook == "notebooks/points.ipynb"
    assert "assert not fail" in error.source
    message = str(error)
    assert "notebooks/points.ipynb" in message and "assert not fail" in message
    assert "AssertionError: asked to fail" in message
    # executed copy: [parameters, injected-parameters, imports, figure, table, assert] -> cell 5
    assert error.cell_index == 5
    assert error.failed_copy is not None and error.failed_copy.is_file()
    # nothing half-written: no executed notebook and no stamp for the failed execution
    assert not (store / "points.ipynb").exists() and not (store / "points.json").exists()


def test_undeclared_parameter_is_an_error_naming_it(small_book: Path) -> None:
    with pytest.raises(ParameterError, match=r"does not declare parameter\(s\) \['n_pionts'\]"):
        run_executions(
            tiny_executions(small_book, n_pionts=3), small_book, small_book / "s", progress=False
        )


def test_notebooks_are_committed_clean_with_a_literal_parameters_cell() -> None:
    import ast

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == "python3", path
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path
        for cell in code:
            assert cell.outputs == [] and cell.execution_count is None, path
        for statement in ast.parse(code[0].source).body:
            assert isinstance(statement, ast.Assign), (path, ast.dump(statement))
            ast.literal_eval(statement.value)  # literals only


def test_code_version_follows_imports_transitively() -> None:
    files = {
        p.relative_to(REPO).as_posix()
        for p in dependency_files(["from hybridlib.runner import plan_profile"])
    }
    assert "hybridlib/runner/plan.py" in files
    assert "hybridlib/runner/profiles.py" in files  # imported by plan.py
    assert "hybridlib/io.py" in files  # imported by execute.py via runner/__init__
    assert "hybridlib/__init__.py" in files
    assert not any(f.startswith("hybridlib/training/") for f in files)
    # the benchmarks package keys the efficiency chapter, and leads into hybridlib
    files = {
        p.relative_to(REPO).as_posix()
        for p in dependency_files(["from benchmarks.run import run_all"])
    }
    assert {"benchmarks/run.py", "benchmarks/training.py", "benchmarks/__init__.py"} <= files
    assert "hybridlib/io.py" in files  # imported inside run_all


def test_stale_outputs_are_removed_before_a_rerun_unless_resumable(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    notebook = nbformat.read(small_book / nb, as_version=4)  # it leaves its artifacts
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from pathlib import Path\nfor flag in (False, True): Path(f'runs/out-{flag}').mkdir(parents=True, exist_ok=True)"
        )
    )
    nbformat.write(notebook, small_book / nb)
    for resumable, survives in ((False, False), (True, True)):
        artifact = small_book / "runs" / f"out-{resumable}"
        artifact.mkdir(parents=True, exist_ok=True)
        (artifact / "partial.txt").write_text("left by an interrupted run")
        execution = Execution(
            f"e-{resumable}",
            nb,
            {"n_points": 2},
            artifacts=(f"runs/out-{resumable}",),
            resumable=resumable,
        )
        run_executions([execution], small_book, store, progress=False)
        assert (artifact / "partial.txt").exists() is survives


def test_injected_parameters_are_hidden_in_the_book(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    run_executions(tiny_executions(small_book), small_book, store, progress=False)
    nb = nbformat.read(store / "points.ipynb", as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "hide-cell" in injected.metadata.tags and "n_points = 4" in injected.source


def test_an_interrupted_rerun_is_never_taken_for_a_finished_one(small_book: Path) -> None:
    """Issue 14, case 1: a forced rerun stopped with Ctrl-C (SIGINT) left the old stamp, and
    the next run reported the execution cached."""
    import signal
    import subprocess
    import sys
    import time

    from hybridlib.cli import main

    assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 0
    stamp = small_book / "runs" / "tiny" / "notebooks" / "points.json"
    assert stamp.is_file()
    # Started as a terminal starts it: SIGINT at its default and not blocked. A process started
    # with SIGINT ignored keeps ignoring it (Unix convention, which Python and this CLI follow),
    # and a test process launched in the background by a non-interactive shell (`pytest &`) is
    # one: every child it starts would ignore the Ctrl-C this test sends.
    launcher = (
        "import runpy, signal, sys; "
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
        "signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('hybridlib.cli', run_name='__main__')"
    )
    command = [
        sys.executable,
        "-c",
        launcher,
        "book",
        "--root",
        str(small_book),
        "--profile",
        "tiny",
        "--only",
        "points",
        "--force",
        "-p",
        "sleep",
        "60",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # generous: a loaded machine starts Python slowly
    while stamp.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stamp.exists(), "the forced rerun never started (its old stamp is still there)"
    time.sleep(3)  # inside the notebook's sleep
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0].decode(errors="replace")
    assert not stamp.exists(), output[-3000:]
    records = run_executions(
        tiny_executions(small_book),
        small_book,
        small_book / "runs" / "tiny" / "notebooks",
        progress=False,
    )
    assert [r.status for r in records] == ["executed"]


def test_a_changed_or_missing_artifact_reruns_the_execution(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    code = "from pathlib import Path; Path('runs/out').mkdir(parents=True, exist_ok=True); Path('runs/out/a.txt').write_text('x' * n_points)"
    notebook = nbformat.read(small_book / nb, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(notebook, small_book / nb)
    execution = [Execution("e", nb, {"n_points": 2}, artifacts=("runs/out",))]
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "cached"
    ]
    (small_book / "runs/out/a.txt").write_text("yy")  # same size, other content
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    (small_book / "runs/out/a.txt").unlink()
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    stamp = json.loads((store / "e.json").read_text())
    assert stamp["artifacts"]["runs/out/a.txt"]["size"] == 2


def test_an_execution_that_leaves_no_declared_artifact_fails_loudly(small_book: Path) -> None:
    execution = [
        Execution("e", "notebooks/points.ipynb", {"n_points": 2}, artifacts=("runs/never",))
    ]
    with pytest.raises(FileNotFoundError, match="did not leave its declared artifact runs/never"):
        run_executions(execution, small_book, small_book / "runs" / "store", progress=False)
    assert not (small_book / "runs" / "store" / "e.json").exists()  # not counted as done


def test_a_profile_is_checked_whole_before_anything_runs(small_book: Path, capsys) -> None:
    """Issue 14, case 4: `common: {modle: ...}` was dropped without a word; a misspelt
    `experiment.train` key or a wrong notebook path was reported only at execution 2 or 16."""
    from hybridlib.cli import main

    (small_book / "profiles.yaml").write_text("""\
profiles:
  tiny:
    common: {slop: 2.0}
    notebooks:
      - notebook: notebooks/points.ipynb
        parameters: {n_point: 4}
      - notebook: notebooks/missing.ipynb
""")
    assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s) in the plan, nothing was run" in err
    assert "does not declare parameter 'n_point'; did you mean 'n_points'?" in err
    assert "notebook notebooks/missing.ipynb not found" in err
    assert "common: no notebook declares 'slop'; did you mean 'slope'?" in err
    assert not (small_book / "runs").exists()  # nothing ran


def test_trainer_fields_of_the_experiment_are_checked(small_book: Path) -> None:
    from hybridlib.runner.execute import check_plan

    profile = load_profile(REPO / "profiles.yaml", "smoke")
    profile = dataclasses.replace(
        profile,
        experiment=dataclasses.replace(
            profile.experiment, train={**profile.experiment.train, "batchsize": 8}
        ),
    )
    with pytest.raises(
        ParameterError,
        match="experiment.train: 'batchsize' is not a trainer field; did you mean 'batch_size'",
    ):
        check_plan(plan_profile(profile), REPO, profile, train_fields=["batch_size", "steps"])
    check_plan(
        plan_profile(load_profile(REPO / "profiles.yaml", "cpu")),
        REPO,
        load_profile(REPO / "profiles.yaml", "cpu"),
        train_fields=[
            f.name
            for f in dataclasses.fields(
                __import__("hybridlib.training", fromlist=["TrainConfig"]).TrainConfig
            )
        ],
    )


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


def test_the_values_of_a_profiles_training_fields_are_checked_before_anything_runs() -> None:
    """A batch size of 0, a NaN learning rate, an unknown suite or language: all reported at
    once by the plan check, naming profile, field and value (issue 29)."""
    from hybridlib.runner.commands import _trainer_fields, profile_value_problems
    from hybridlib.runner.execute import check_plan

    profile = load_profile(REPO / "profiles.yaml", "smoke")
    grid = profile.experiment
    evaluate = {**grid.evaluate, "suite_languages": {"xquad-r": ["en", "xx"], "nosuch": ["en"]}}
    train = {**grid.train, "batch_size": 0, "lr": float("nan")}
    bad = dataclasses.replace(
        profile, experiment=dataclasses.replace(grid, train=train, evaluate=evaluate)
    )
    with pytest.raises(ParameterError) as caught:
        check_plan(
            plan_profile(bad),
            REPO,
            bad,
            train_fields=_trainer_fields(),
            check_values=profile_value_problems,
        )
    message = str(caught.value)
    assert "4 problem(s) in the plan, nothing was run" in message
    assert (
        "profile 'smoke', experiment.train.batch_size: batch_size must be >= 2, but got 0"
        in message
    )
    assert "experiment.train.lr: lr must be > 0, but got nan" in message
    assert "suite_languages: suite 'nosuch' is unknown" in message
    assert "suite_languages.xquad-r: language 'xx' is not a known language code" in message
    assert profile_value_problems(profile) == []  # the shipped profile passes


def test_a_dead_kernel_is_a_notebook_failure_naming_the_notebook(tmp_path: Path) -> None:
    """Issue 29: a kernel that died (DeadKernelError) ended `hybridlib book` in a traceback."""
    from hybridlib.runner.execute import execute_one

    from .conftest import make_notebook

    (tmp_path / "notebooks").mkdir()
    nb = make_notebook([("code", "import os\nos._exit(9)")], "x = 1")
    nbformat.write(nb, tmp_path / "notebooks" / "dies.ipynb")
    execution = Execution(name="dies", notebook="notebooks/dies.ipynb", parameters={})
    output = tmp_path / "store" / "dies.ipynb"
    with pytest.raises(NotebookFailure) as caught:
        execute_one(execution, tmp_path, output, {})
    message = str(caught.value)
    assert message.startswith("notebook notebooks/dies.ipynb (execution 'dies') failed in cell")
    assert "the kernel died (DeadKernelError" in message
    assert "os._exit(9)" in caught.value.source
    assert not output.exists()  # nothing half-written
    assert not [p for p in output.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_killed_book_leaves_one_kernel_folder_and_the_next_removes_it(tmp_path: Path) -> None:
    """Issue 29: a book killed with SIGKILL left its kernels' connection files (in /tmp) and
    sockets (in the Jupyter runtime folder) for ever, among other programs' files."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    from hybridlib.runner.execute import KERNEL_FOLDER_PREFIX, _host_tag, remove_dead_kernel_folders

    from .conftest import make_notebook

    (tmp_path / "notebooks").mkdir()
    nb = make_notebook([("code", "import time\ntime.sleep(120)")], "x = 1")
    nbformat.write(nb, tmp_path / "notebooks" / "sleeps.ipynb")
    runtime = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: IPC sockets
    (runtime / "kernel-of-another-program.json").write_text("{}")
    other_host = runtime / f"{KERNEL_FOLDER_PREFIX}00000000-{os.getpid() + 1}"
    other_host.mkdir()
    book = (
        "from pathlib import Path\n"
        "from hybridlib.runner.execute import execute_one\n"
        "from hybridlib.runner.plan import Execution\n"
        "e = Execution(name='sleeps', notebook='notebooks/sleeps.ipynb', parameters={})\n"
        f"execute_one(e, Path({str(tmp_path)!r}), Path({str(tmp_path / 'store' / 'x.ipynb')!r}), {{}})\n"
    )
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    process = subprocess.Popen([sys.executable, "-c", book], env=env)
    folder = runtime / f"{KERNEL_FOLDER_PREFIX}{_host_tag()}-{process.pid}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            list(folder.glob("kernel-*.json")) and list(folder.glob("kernel-*-ipc-*"))
        ):
            time.sleep(0.2)
        assert list(folder.glob("kernel-*.json")), "the kernel never started"
        assert list(folder.glob("kernel-*-ipc-*")), "its sockets lie in the same folder"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # what the killed book left: its one folder, nothing beside other programs' files
    assert sorted(p.name for p in runtime.iterdir()) == sorted(
        ["kernel-of-another-program.json", other_host.name, folder.name]
    )
    mine = runtime / f"{KERNEL_FOLDER_PREFIX}{_host_tag()}-{os.getpid()}"
    mine.mkdir()  # a live process's folder (this one's)
    assert remove_dead_kernel_folders(runtime) == [folder]
    assert sorted(p.name for p in runtime.iterdir()) == sorted(
        ["kernel-of-another-program.json", other_host.name, mine.name]
    )
