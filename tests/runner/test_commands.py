"""The command line of the runner (hybridlib.runner.commands): `hybridlib book` and
`hybridlib run-notebook`."""

from __future__ import annotations

import re
from pathlib import Path


def test_book_command_runs_a_profile_and_reports_a_failing_cell(small_book: Path, capsys) -> None:
    from hybridlib.cli import main

    args = ["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]
    assert main(args) == 0
    assert "1 notebook executions (1 run, 0 cached)" in capsys.readouterr().out
    assert main(args) == 0
    assert "(0 run, 1 cached)" in capsys.readouterr().out

    assert (
        main(
            [
                "book",
                "--root",
                str(small_book),
                "--profile",
                "tiny",
                "--only",
                "points",
                "-p",
                "fail",
                "true",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "notebooks/points.ipynb" in err and "assert not fail" in err and "asked to fail" in err

    assert main(["book", "--root", str(small_book), "--profile", "nope", "--no-build"]) == 1
    assert "no profile 'nope'" in capsys.readouterr().err


def test_the_build_log_names_each_execution_with_its_time_and_no_kernel_warning(
    small_book: Path, capfd
) -> None:
    """The kernels run over local IPC sockets: ipykernel printed "Kernel is running over TCP
    without encryption" (to the kernel's own stderr, hence capfd) once per notebook."""
    from hybridlib.cli import main

    assert (
        main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build", "--force"]) == 0
    )
    out, err = capfd.readouterr()
    assert re.search(r"^points: executed in \d+ s$", out, flags=re.M), out
    assert "without encryption" not in out + err and "IPKernelApp" not in out + err


def test_run_notebook_writes_outputs_to_adhoc_never_over_the_books_results() -> None:
    from hybridlib.runner.commands import _adhoc_outputs

    moved = _adhoc_outputs({"models_dir": "runs/cpu/models", "results_dir": "runs/cpu/results",
                            "selection_file": "runs/cpu/validation/x/selection.json", "steps": 3,
                            "output_dir": "elsewhere/out"}, "cpu")  # fmt: skip
    assert moved == {"models_dir": "runs/adhoc/models", "results_dir": "runs/adhoc/results",
                     "selection_file": "runs/cpu/validation/x/selection.json", "steps": 3,
                     "output_dir": "elsewhere/out"}  # fmt: skip


def test_the_book_command_takes_workers_or_a_scheduler_not_both(small_book, capsys):
    from hybridlib.cli import main

    base = ["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]
    assert main([*base, "--workers", "2", "--scheduler", "tcp://x:1"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main([*base, "--workers", "0"]) == 1
    assert "--workers must be >= 1, but got 0" in capsys.readouterr().err
    assert main([*base, "--workers", "1"]) == 0
    assert "1 notebook executions (1 run, 0 cached)" in capsys.readouterr().out


def test_run_notebook_refuses_to_write_into_a_books_folder(small_book: Path, capsys) -> None:
    """A run written into a book's results folder from outside would be taken in by the book
    (its results are read from the folder): an output folder given with -p may not lie there."""
    from hybridlib.cli import main

    for value in ("runs/tiny/results", f"{small_book}/runs/cpu/models/x", "runs/adhoc/../tiny"):
        args = ["run-notebook", str(small_book / "notebooks/points.ipynb"), "--root", str(small_book),
                "--profile", "tiny", "-p", "results_dir", value]  # fmt: skip
        assert main(args) == 1
        err = capsys.readouterr().err
        assert f"results_dir = {value} lies in the" in err and "book's folder runs/" in err
    assert not (small_book / "runs" / "adhoc").exists()  # refused before anything ran


def test_a_second_book_on_the_same_profile_is_refused_while_the_first_runs(
    small_book: Path, capsys
) -> None:
    """Two book processes on one execution deleted each other's temporary folders."""
    import os

    from hybridlib.cli import main
    from hybridlib.io import only_writer

    with only_writer(small_book / "runs" / "tiny" / "notebooks", "book"):
        assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 1
    err = capsys.readouterr().err
    assert f"is being written by process {os.getpid()}" in err
    assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 0
