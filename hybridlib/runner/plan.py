"""Expand a profile into an ordered list of notebook executions.

Order: the ``notebooks`` entries that do not wait for the experiment, then one training
execution per configuration (sampler x alpha x seed x fold), one evaluation per trained model
and per baseline, then the ``after_experiment`` notebooks, which depend on every run.

Paths given to notebooks are relative to the project root (notebooks run with it as their
working directory), so executed notebooks show no machine-specific paths.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath
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


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """One point of the grid (the label names its run folder)."""

    sampler: str
    alpha: float
    seed: int
    fold: int

    @property
    def label(self) -> str:
        kind = self.sampler if self.sampler != "hybrid" else f"hybrid-a{self.alpha:.2f}"
        return f"{kind}-s{self.seed}-f{self.fold}"


def _canonical(sampler: str, alpha: float) -> tuple[str, float]:
    """Hybrid(1) is X-X and Hybrid(0) is X-Y: one run serves both."""
    if sampler == "x-x" or (sampler == "hybrid" and alpha == 1.0):
        return "x-x", 1.0
    if sampler == "x-y" or (sampler == "hybrid" and alpha == 0.0):
        return "x-y", 0.0
    return "hybrid", alpha


def training_configs(grid: ExperimentGrid) -> list[TrainingConfig]:
    """Every distinct configuration: main samplers, then the ablation's alphas."""
    kinds: list[tuple[str, float]] = []
    for sampler in grid.samplers:
        kinds.append(_canonical(sampler, grid.alpha))
    for alpha in grid.ablation_alphas:
        kinds.append(_canonical("hybrid", alpha))
    kinds = list(dict.fromkeys(kinds))
    return [
        TrainingConfig(sampler, alpha, seed, fold)
        for sampler, alpha in kinds
        for seed in grid.seeds
        for fold in range(grid.n_folds)
    ]


def plan_profile(profile: Profile, runs_dir: str = "runs") -> list[Execution]:
    """The executions of ``profile``, dependencies first.

    ``runs_dir`` (relative to the root) receives trained models and evaluation results under
    ``{runs_dir}/{profile}/``.
    """
    base = PurePosixPath(runs_dir) / profile.name
    results_dir = str(base / "results")
    shared = {"profile": profile.name, "results_dir": results_dir, "runs_dir": str(base)}
    common = dict(profile.common)

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

    before = [static(s, ()) for s in profile.notebooks if not s.after_experiment]
    grid_runs: list[Execution] = []
    grid = profile.experiment
    if grid is not None:
        for config in training_configs(grid):
            model_dir = str(base / "models" / config.label)
            config_params = {
                "sampler": config.sampler,
                "alpha": config.alpha,
                "seed": config.seed,
                "fold": config.fold,
                "n_folds": grid.n_folds,
            }
            train = Execution(
                name=f"runs/train/{config.label}",
                notebook=grid.train_notebook,
                parameters={**grid.train, **config_params, "output_dir": model_dir},
                offered={**common, **shared},
                artifacts=(model_dir,),
                resumable=True,  # the trainer resumes from its last checkpoint
            )
            run_results = str(base / "results" / config.label)
            evaluate = Execution(
                name=f"runs/evaluate/{config.label}",
                notebook=grid.evaluate_notebook,
                parameters={
                    **grid.evaluate,
                    **config_params,
                    "method": "trained",
                    "run_name": config.label,
                    "model_dir": model_dir,
                    "output_dir": run_results,
                },
                offered={**common, **shared},
                depends_on=(train.name,),
                artifacts=(run_results,),
            )
            grid_runs += [train, evaluate]
        for baseline in grid.baselines:
            run_results = str(base / "results" / baseline)
            grid_runs.append(
                Execution(
                    name=f"runs/evaluate/{baseline}",
                    notebook=grid.evaluate_notebook,
                    parameters={
                        **grid.evaluate,
                        "method": baseline,
                        "run_name": baseline,
                        "model_dir": "",
                        "sampler": "none",
                        "alpha": -1.0,
                        "seed": -1,
                        "fold": -1,  # no training: evaluated on every article
                        "n_folds": grid.n_folds,
                        "output_dir": run_results,
                    },
                    offered={**common, **shared},
                    artifacts=(run_results,),
                )
            )
    executions = before + grid_runs
    for spec in profile.notebooks:
        if spec.after_experiment:  # depends on everything before it
            executions.append(static(spec, tuple(e.name for e in executions)))
    names = [e.name for e in executions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"profile {profile.name!r}: notebooks run twice under one name: {duplicates}")
    return executions
