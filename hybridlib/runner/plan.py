"""Expand a profile into an ordered list of notebook executions.

Order: the ``notebooks`` entries that do not wait for the experiment; the baselines'
evaluations (the untrained encoder's fills the hidden-state cache); per direction its
validation runs, then one execution per system (sampler and alpha) that trains and evaluates
every seed; the top-k check; the other ways to mix languages (their trained systems, then the
training-free post-processings); then the ``after_experiment`` notebooks, which depend on
every run. A chapter the profile's ``leaves_out`` names is not run (its page in the book says
why: :func:`hybridlib.runner.book.left_out_pages`).

Paths given to notebooks are relative to the project root (notebooks run with it as their
working directory), so executed notebooks show no machine-specific paths.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath
from typing import Any

from hybridlib.runner.profiles import ExperimentGrid, Profile


@dataclasses.dataclass(frozen=True)
class Execution:
    """One papermill run of one notebook with one set of parameters."""

    name: str  # unique, also the executed notebook's path in the store: f"{name}.ipynb"
    notebook: str  # template, relative to the root
    parameters: dict[str, Any]  # explicit parameters (the notebook must declare each)
    offered: dict[str, Any] = dataclasses.field(default_factory=dict)  # given only if declared
    depends_on: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()  # paths the execution must leave behind (cache check)
    page: bool = False  # a chapter of the book (copied to the book's generated folder)
    resumable: bool = False  # True: artifacts of an interrupted run are kept (it resumes)


def grid_systems(grid: ExperimentGrid, direction: str) -> list[tuple[str, float, tuple[int, ...]]]:
    """The systems of ``direction``: (sampler, alpha, seeds), main samplers first, then the
    ablation's alphas (where the direction has the ablation); X-X and X-Y are Hybrid(1) and
    Hybrid(0), so an alpha of 0 or 1 reuses their runs (with the union of the seeds)."""
    from hybridlib.systems import canonical

    systems: dict[tuple[str, float], tuple[int, ...]] = {}
    for sampler in grid.samplers:
        systems[canonical(sampler, grid.alpha)] = grid.seeds_of(direction)
    if direction in grid.ablation_directions:
        for alpha in grid.ablation_alphas:
            key = canonical("hybrid", alpha)
            seeds = systems.get(key, ())
            systems[key] = tuple(sorted(set(seeds) | set(grid.ablation_seeds)))
    return [(sampler, alpha, seeds) for (sampler, alpha), seeds in systems.items()]


def plan_profile(profile: Profile, runs_dir: str = "runs") -> list[Execution]:
    """The executions of ``profile``, dependencies first.

    ``runs_dir`` (relative to the root) receives validation runs, trained models and
    evaluation results under ``{runs_dir}/{profile}/``.
    """
    from hybridlib.protocol import LAREQA_SUITES
    from hybridlib.systems import SELECTION_FILE, system_label

    base = PurePosixPath(runs_dir) / profile.name
    results_dir = str(base / "results")
    shared = {"profile": profile.name, "profiles_file": _relative(profile.source),
              "results_dir": results_dir, "runs_dir": str(base)}  # fmt: skip
    from hybridlib.runner.profiles import machine_parameters

    common = machine_parameters(profile.common)  # precision "auto": this machine's arithmetic

    def static(spec, depends_on: tuple[str, ...]) -> Execution:
        stem = PurePosixPath(spec.notebook).stem
        return Execution(
            name=stem,
            notebook=spec.notebook,
            parameters=dict(spec.parameters),
            offered={**common, **shared},
            depends_on=depends_on,
            page=True,
        )

    chapters = [  # a chapter the profile leaves out (its leaves_out) is not run
        s for s in profile.notebooks if PurePosixPath(s.notebook).stem not in profile.leaves_out
    ]
    before = [static(s, ()) for s in chapters if not s.after_experiment]
    grid_runs: list[Execution] = []
    grid = profile.experiment
    if grid is not None:
        evaluate = dict(grid.evaluate)
        all_suites = list(dict.fromkeys([*LAREQA_SUITES, *grid.domain_shift_suites,
                                         *(s for d in grid.directions for s in grid.suites_of(d))]))  # fmt: skip
        for baseline in grid.baselines:
            output = str(base / "results" / "baselines" / baseline)
            grid_runs.append(Execution(
                name=f"runs/evaluate/{baseline}",
                notebook=grid.evaluate_notebook,
                parameters={**evaluate, "method": baseline, "suites": all_suites, "output_dir": output},
                offered={**common, **shared},
                artifacts=(output,),
                resumable=True,  # finished suites are kept
            ))  # fmt: skip
        # the untrained encoder's evaluation fills the hidden-state cache with every suite's
        # texts; what trains waits for it, so a text's cached states are those of that fill
        # whatever the order of a parallel build (a text's states change in the last bits with
        # the batch it was computed in)
        cache_fill = ("runs/evaluate/untrained",) if "untrained" in grid.baselines else ()
        validations: dict[str, Execution] = {}
        for name in grid.directions:
            validated = grid.validated_by(name)
            validation_dir = str(base / "validation" / validated)
            if validated not in validations:
                validations[validated] = Execution(
                    name=f"runs/validate/{validated}",
                    notebook=grid.validate_notebook,
                    parameters={
                        **grid.validation_of(validated),
                        "direction": validated,
                        "train": dict(grid.train),
                        "output_dir": validation_dir,
                    },  # fmt: skip
                    offered={**common, **shared},
                    depends_on=cache_fill,
                    artifacts=(validation_dir,),
                    resumable=True,  # finished runs are kept
                )
                grid_runs.append(validations[validated])
            validate = validations[validated]
            main = {canonical_key for canonical_key in _main_keys(grid)}
            for sampler, alpha, seeds in grid_systems(grid, name):
                label = system_label(sampler, alpha)
                extra = (list(grid.domain_shift_suites)
                         if name == grid.domain_shift_direction and (sampler, alpha) in main else [])  # fmt: skip
                models = str(base / "models")
                artifacts = tuple(
                    f"{folder}/{name}/{label}-s{seed}"
                    for folder in (models, results_dir) for seed in seeds
                )  # fmt: skip
                grid_runs.append(Execution(
                    name=f"runs/{name}/{label}",
                    notebook=grid.runs_notebook,
                    parameters={
                        **{k: v for k, v in evaluate.items() if k != "suite_languages"},
                        "suite_languages": evaluate.get("suite_languages", {}),
                        "direction": name, "sampler": sampler, "alpha": alpha,
                        "seeds": list(seeds), "train": dict(grid.train),
                        "selection_file": f"{validation_dir}/{SELECTION_FILE}",
                        "suites": list(grid.suites_of(name)), "extra_suites": extra,
                        "extra_seeds": [s for s in seeds if s in grid.domain_shift_seeds],
                        "models_dir": models, "results_dir": results_dir,
                    },
                    offered={**common, **shared},
                    depends_on=(validate.name,),
                    artifacts=artifacts,
                    resumable=True,  # the trainer resumes; finished models and suites are kept
                ))  # fmt: skip
        if grid.topk is not None:
            first = grid.directions[0]
            grid_runs.append(Execution(
                name="topk",
                notebook=grid.topk_notebook,
                parameters={**grid.topk, "direction": first, "train": dict(grid.train)},
                offered={**common, **shared},
                depends_on=tuple(e.name for e in grid_runs if e.name.startswith(f"runs/{first}/")
                                 or e.name == f"runs/validate/{first}"),
                artifacts=(str(base / "topk"),),
                page=True,
                resumable=True,  # finished models and suites are kept
            ))  # fmt: skip
        if grid.mixing is not None:
            grid_runs.extend(_mixing_runs(grid, base, common, shared, grid_runs))
    executions = before + grid_runs
    for spec in chapters:
        if spec.after_experiment:  # depends on everything before it
            executions.append(static(spec, tuple(e.name for e in executions)))
    names = [e.name for e in executions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"profile {profile.name!r}: notebooks run twice under one name: {duplicates}"
        )
    return executions


def _relative(path: str) -> str:
    """``path`` relative to the working directory (the project root, where notebooks run)
    when it is inside it, so executed notebooks show no machine-specific path."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _main_keys(grid: ExperimentGrid) -> list[tuple[str, float]]:
    from hybridlib.systems import canonical

    return [canonical(sampler, grid.alpha) for sampler in grid.samplers]


def _mixing_runs(
    grid: ExperimentGrid, base: PurePosixPath, common: dict[str, Any], shared: dict[str, Any],
    earlier: list[Execution],
) -> list[Execution]:  # fmt: skip
    """The executions of ``grid.mixing``: one runs-notebook execution per trained system, then
    one debias-notebook execution (after the runs of the systems it post-processes)."""
    from hybridlib.protocol import direction as protocol_direction
    from hybridlib.systems import SELECTION_FILE, system_label

    mixing = grid.mixing
    assert mixing is not None
    name = mixing.direction
    validated = grid.validated_by(name)
    validation_dir = str(base / "validation" / validated)
    evaluate = dict(grid.evaluate)
    results_dir, models = str(base / "results"), str(base / "models")
    test_suite = protocol_direction(name).test_suite
    runs = []
    for system in mixing.systems:
        label = system_label(system.sampler, system.alpha, system.alpha_end)
        runs.append(Execution(
            name=f"runs/{name}/{label}",
            notebook=grid.runs_notebook,
            parameters={
                **{k: v for k, v in evaluate.items() if k != "suite_languages"},
                "suite_languages": evaluate.get("suite_languages", {}),
                "direction": name, "sampler": system.sampler, "alpha": system.alpha,
                "alpha_end": system.alpha_end, "seeds": list(system.seeds), "train": dict(grid.train),
                "selection_file": f"{validation_dir}/{SELECTION_FILE}",
                "suites": [test_suite],
                "extra_suites": list(grid.domain_shift_suites) if system.domain_shift else [],
                "extra_seeds": list(system.seeds) if system.domain_shift else [],
                "models_dir": models, "results_dir": results_dir,
            },
            offered={**common, **shared},
            depends_on=(f"runs/validate/{validated}",),
            artifacts=tuple(f"{folder}/{name}/{label}-s{seed}"
                            for folder in (models, results_dir) for seed in system.seeds),
            resumable=True,
        ))  # fmt: skip
    debias = mixing.debias
    if debias is not None:
        needed = {f"runs/{name}/{system_label(s, a)}" for s, a in debias.systems}
        known = {e.name for e in earlier}
        missing = sorted(needed - known)
        if missing:
            raise ValueError(
                f"experiment.mixing.debias.systems: no run of {missing} in the grid to post-process"
            )
        output = f"{results_dir}/debias/{name}"
        runs.append(Execution(
            name=f"runs/debias/{name}",
            notebook=mixing.debias_notebook,
            parameters={
                **{k: v for k, v in evaluate.items() if k != "suite_languages"},
                "suite_languages": evaluate.get("suite_languages", {}),
                "direction": name, "systems": [list(s) for s in debias.systems],
                "seeds": list(debias.seeds), "methods": list(debias.methods), "ranks": dict(debias.ranks),
                "per_language": debias.per_language,
                "fit_languages": list(debias.fit_languages) if debias.fit_languages else None,
                "suites": [test_suite], "extra_suites": list(grid.domain_shift_suites),
                "extra_methods": list(debias.domain_shift_methods),
                "models_dir": models, "results_dir": f"{results_dir}/debias",
            },
            offered={**common, **shared},
            depends_on=tuple(sorted(needed | {"runs/evaluate/untrained"} & known)),
            artifacts=(output,),
            resumable=True,
        ))  # fmt: skip
    return runs
