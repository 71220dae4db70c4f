"""``hybridlib book`` and ``hybridlib run-notebook``.

    hybridlib book --profile smoke|cpu|cpu-full|full [--only NOTEBOOK] [-p NAME VALUE ...]
    hybridlib book --profile cpu --estimate        # the estimate and the budget, nothing run
    hybridlib run-notebook notebooks/evaluate.ipynb -p suites '[xquad-r]' --profile cpu

``-p`` values are read as YAML literals (``-p seeds '[0, 1]'``, ``-p steps 50``); they override
the profile's parameters of the selected notebook(s) only.

Before the first execution the book prints its estimate (:mod:`hybridlib.runner.cost`: per
group of executions and in total, with the profile's ``budget_minutes``) and refuses, with
exit status 2, a build estimated over its budget unless ``--over-budget`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from hybridlib.io import only_writer, refuse_book_folder
from hybridlib.runner.book import BookError, build_book, left_out_pages, select
from hybridlib.runner.execute import NotebookFailure, ParameterError, check_plan, run_executions
from hybridlib.runner.plan import Execution, plan_profile
from hybridlib.runner.profiles import ProfileError, load_profile, machine_parameters

ROOT = Path(__file__).resolve().parents[2]


def _overrides(pairs: list[list[str]] | None) -> dict:
    return {name: yaml.safe_load(value) for name, value in (pairs or [])}


def _apply(executions: list[Execution], only: str | None, overrides: dict) -> list[Execution]:
    if not overrides:
        return executions
    if only is None:
        raise BookError("-p needs --only NOTEBOOK: say which notebook's parameters to change")
    targets = {
        e.name
        for e in select(executions, only)
        if only in (e.notebook, PurePosixPath(e.notebook).stem, e.name)
    }
    return [
        dataclasses.replace(e, parameters={**e.parameters, **overrides}) if e.name in targets else e
        for e in executions
    ]


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A ``dask.distributed`` client: a local cluster of ``workers`` processes (one thread
    each; one execution per worker), or the running scheduler at ``scheduler`` (e.g. one
    started by dask-jobqueue on SLURM); None when neither is asked for."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise BookError("give --workers (a local cluster) or --scheduler (a running one), not both")
    if workers is not None and workers < 1:
        raise BookError(f"--workers must be >= 1, but got {workers}")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BookError(
            "--workers and --scheduler need dask.distributed: pip install 'hybridlib[grid]'"
        ) from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip
        yield client


def _trainer_fields() -> list[str]:
    from hybridlib.training.config import TrainConfig

    return [field.name for field in dataclasses.fields(TrainConfig)]


# the profile fields every training run takes from ``common`` (experiment.trainer_fields)
_COMMON_TRAIN_FIELDS = {"model": "model", "num_threads": "num_threads", "precision": "precision",
                        "top_layers": "train_top_layers"}  # fmt: skip


def profile_value_problems(profile: Any) -> list[str]:
    """The problems of a profile's values, found before any notebook runs: every trainer field
    of ``experiment.train`` (and those from ``common``) and every seed, checked one by one
    by :meth:`~hybridlib.training.TrainConfig.from_dict` (then together); the suites of
    ``experiment.evaluate.suite_languages`` known to :data:`hybridlib.suites.SUITES` and
    their languages to :mod:`hybridlib.data.languages`. Each problem names profile, field
    and value."""
    from hybridlib.data.errors import DataError
    from hybridlib.data.languages import normalize_language
    from hybridlib.io import did_you_mean
    from hybridlib.suites import SUITES
    from hybridlib.training.config import ConfigError, TrainConfig

    grid = profile.experiment
    if grid is None:
        return []
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    given: dict[str, tuple[str, Any]] = {}  # trainer field -> (profile field, value)
    for key, value in machine_parameters(profile.common).items():
        if key in _COMMON_TRAIN_FIELDS:
            given[_COMMON_TRAIN_FIELDS[key]] = (f"common.{key}", value)
    for key, value in grid.train.items():
        if key in fields:  # an unknown key is check_plan's own problem
            given[key] = (f"experiment.train.{key}", value)
    problems: list[str] = []

    def check(mapping: dict[str, Any], where: str) -> bool:
        if "steps" not in mapping and "epochs" not in mapping:
            mapping = {**mapping, "steps": 1}  # the runs' steps come from the validation
        try:
            TrainConfig.from_dict(mapping, source=f"profile {profile.name!r}, {where}")
        except ConfigError as error:
            problems.append(str(error))
            return False
        return True

    alone = [check({name: value}, field) for name, (field, value) in given.items()]
    alone += [check({"seed": seed}, "experiment.seeds") for seed in grid.seeds]
    if all(alone):  # each value fits: now the ones that depend on each other
        check({name: value for name, (_, value) in given.items()}, "experiment.train")
    suite_languages = grid.evaluate.get("suite_languages") or {}
    where = f"profile {profile.name!r}, experiment.evaluate.suite_languages"
    if not isinstance(suite_languages, dict):
        return [*problems, f"{where} = {suite_languages!r} is not a mapping of suite: languages"]
    for suite, languages in suite_languages.items():
        if suite not in SUITES:
            problems.append(f"{where}: suite {suite!r} is unknown{did_you_mean(suite, SUITES)} "
                            f"(known: {sorted(SUITES)})")  # fmt: skip
        if not isinstance(languages, list) or not languages:
            problems.append(f"{where}.{suite} = {languages!r} is not a non-empty list")
            continue
        for language in languages:
            try:
                normalize_language(language, file=f"profile {profile.name!r}", field="")
            except DataError:
                problems.append(
                    f"{where}.{suite}: language {language!r} is not a known language code"
                )
    return problems


OVER_BUDGET = 2  # the exit status of a build refused for its estimate


def _estimate(args: argparse.Namespace, profile: Any, executions: list[Execution], root: Path,
              store: Path) -> tuple[int | None, dict[str, float] | None]:  # fmt: skip
    """Print the plan's estimate (:func:`hybridlib.runner.cost.estimate_plan`) and the budget;
    ``(exit status, None)`` when the build stops here (``--estimate``: 0; over the budget
    without ``--over-budget``: :data:`OVER_BUDGET`), else ``(None, progress weights)``."""
    from hybridlib.runner.cost import (
        budget_minutes,
        estimate_plan,
        estimate_report,
        progress_weights,
    )

    table = estimate_plan(executions, profile, root, store=store, force=args.force)
    budget = budget_minutes(profile)
    print(estimate_report(table, profile, budget, full=args.estimate), flush=True)
    if args.estimate:
        return 0, None
    minutes = table.attrs["total_seconds"] / 60
    if budget is not None and minutes > budget:
        if not args.over_budget:
            print(f"hybridlib book: profile {profile.name!r} is estimated at {minutes:.1f} min, over "
                  f"its budget of {budget:g} min (budget_minutes in {args.profiles}); nothing was "
                  "run. Give --over-budget to build it anyway.", file=sys.stderr)  # fmt: skip
            return OVER_BUDGET, None
        print(f"profile {profile.name!r}: estimated {minutes:.1f} min, over its budget of "
              f"{budget:g} min; building it anyway (--over-budget)", flush=True)  # fmt: skip
    return None, progress_weights(table)


def run_book(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    started = time.perf_counter()
    try:
        profile = load_profile(root / args.profiles, args.profile)
        executions = plan_profile(profile)
        check_plan(  # all problems at once
            executions,
            root,
            profile,
            train_fields=_trainer_fields(),
            check_values=profile_value_problems,
        )
        if args.only:
            executions = _apply(select(executions, args.only), args.only, _overrides(args.param))
        elif args.param:
            raise BookError("-p needs --only NOTEBOOK: say which notebook's parameters to change")
        build = not args.no_build and not args.only
        left_out = left_out_pages(root, root / args.profiles, profile) if build else {}
        store = root / "runs" / profile.name / "notebooks"
        refused, weights = _estimate(args, profile, executions, root, store)
        if refused is not None:
            return refused
        with only_writer(store, "book"), _client(args.workers, args.scheduler) as client:
            records = build_book(
                root, executions, store, force=args.force, build=build, mathjax=build,
                client=client, weights=weights, left_out=left_out,
            )  # fmt: skip
    except (ProfileError, ParameterError, NotebookFailure, BookError, OSError) as error:
        print(f"hybridlib book: {error}", file=sys.stderr)
        return 1
    executed = sum(r.status == "executed" for r in records)
    print(
        f"profile {profile.name}: {len(records)} notebook executions "
        f"({executed} run, {len(records) - executed} cached); "
        + ("book in _build/html" if build else "book not built")
        + f"; {time.perf_counter() - started:.0f} s"
    )
    return 0


def _adhoc_outputs(parameters: dict, profile: str) -> dict:
    """Output folders (``*_dir`` parameters) moved from ``runs/<profile>/`` to ``runs/adhoc/``,
    so a rerun with other parameters never overwrites the book's results; inputs (the
    validation's selection file) stay where the profile wrote them."""
    prefix = f"runs/{profile}/"
    return {
        key: "runs/adhoc/" + value[len(prefix) :]
        if key.endswith("_dir") and isinstance(value, str) and value.startswith(prefix)
        else value
        for key, value in parameters.items()
    }


def run_notebook(args: argparse.Namespace) -> int:
    """One notebook, with the profile's parameters for it (if any) and the overrides."""
    root = Path(args.root).resolve()
    try:
        profile = load_profile(root / args.profiles, args.profile)
        notebook = str(PurePosixPath(Path(args.notebook).resolve().relative_to(root).as_posix()))
        planned = [e for e in plan_profile(profile) if e.notebook == notebook]
        base = (
            planned[0]
            if planned
            else Execution(
                name=PurePosixPath(notebook).stem,
                notebook=notebook,
                parameters={},
                offered={**machine_parameters(profile.common), "profile": profile.name},
            )
        )
        overrides = _overrides(args.param)
        for name, value in overrides.items():  # an output folder given with -p
            if name.endswith("_dir") and isinstance(value, str):
                refuse_book_folder(value, f"{name} =", project_root=root)
        execution = dataclasses.replace(
            base,
            name=PurePosixPath(notebook).stem,
            depends_on=(),
            artifacts=(),
            parameters={**_adhoc_outputs(base.parameters, profile.name), **overrides},
        )
        store = root / "runs" / "adhoc"
        with only_writer(store, "run-notebook's folder"):
            records = run_executions([execution], root, store, force=args.force)
    except (ProfileError, ParameterError, NotebookFailure, OSError, ValueError) as error:
        print(f"hybridlib run-notebook: {error}", file=sys.stderr)
        return 1
    print(f"{records[0].status}: {store / records[0].output}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="profile of profiles.yaml (default: cpu)")
    parser.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="override a parameter (YAML literal); repeatable",
    )
    parser.add_argument("--force", action="store_true", help="re-execute even when cached")
    parser.add_argument(
        "--profiles", default="profiles.yaml", help="profile file (relative to --root)"
    )
    parser.add_argument("--root", default=str(ROOT), help="project root (default: this checkout)")


def register(subparsers) -> None:
    book = subparsers.add_parser(
        "book",
        help="execute the notebooks of a profile and build the Jupyter Book",
        description="Execute every notebook of a profile (cached), build the book in "
        "_build/html with warnings as errors, and check every glue key and page.",
    )
    _common(book)
    book.add_argument(
        "--only",
        metavar="NOTEBOOK",
        help="run only this notebook (path, stem or execution name) and what it "
        "depends on; the book is not built",
    )
    book.add_argument("--no-build", action="store_true", help="execute only; do not build")
    book.add_argument(
        "--estimate",
        action="store_true",
        help="print the estimated time of every execution (its work at this machine's measured "
        "throughput), the total and the budget, then exit without running anything",
    )
    book.add_argument(
        "--over-budget",
        action="store_true",
        help="build even when the estimate exceeds the profile's budget_minutes "
        f"(otherwise refused with exit status {OVER_BUDGET})",
    )
    book.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run independent executions at once on a local Dask cluster of N "
        "processes (pip install 'hybridlib[grid]')",
    )
    book.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the executions on the workers of a running Dask scheduler "
        "(tcp://host:8786), e.g. a SLURM cluster from dask-jobqueue",
    )
    book.set_defaults(func=run_book)

    one = subparsers.add_parser(
        "run-notebook",
        help="execute one notebook with the profile's parameters and overrides",
    )
    one.add_argument("notebook", help="path of the notebook template, e.g. notebooks/data.ipynb")
    _common(one)
    one.set_defaults(func=run_notebook)
