"""Profiles: which notebook runs with which parameters (``profiles.yaml``).

A profile has four parts, all optional except ``notebooks``::

    profiles:
      smoke:
        description: "what this profile is for"
        common: {model: tiny}              # given to every notebook that declares the name
        experiment:                        # the training grid (see ``ExperimentGrid``)
          samplers: [x-x, x-y, hybrid]
          alpha: 0.5
          ablation_alphas: [0.0, 0.25, 0.5, 0.75, 1.0]
          seeds: [0, 1, 2]
          n_folds: 2
          train: {steps: 4}                # parameters of the training notebook
          evaluate: {suites: [xquad-r]}    # parameters of the evaluation notebook
          baselines: [untrained, bm25]
        notebooks:                         # run once each, in order
          - notebook: notebooks/data.ipynb
            parameters: {max_rows: 10}
            after_experiment: false        # true: runs after (and depends on) the grid

Errors name the file, the profile, the field and the value.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

SAMPLERS = ("x-x", "x-y", "hybrid")
BASELINES = ("untrained", "bm25")
TRAIN_NOTEBOOK = "notebooks/train.ipynb"
EVALUATE_NOTEBOOK = "notebooks/evaluate.ipynb"


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names file, profile, field and value."""


@dataclasses.dataclass(frozen=True)
class NotebookSpec:
    """One notebook executed once in a profile."""

    notebook: str
    parameters: dict[str, Any]
    after_experiment: bool = False


@dataclasses.dataclass(frozen=True)
class ExperimentGrid:
    """The training grid: sampler x alpha x seed x fold, plus baselines.

    ``x-x`` and ``x-y`` are Hybrid(alpha=1) and Hybrid(alpha=0); the ablation's alphas 1 and 0
    therefore reuse those runs instead of training them twice.
    """

    samplers: tuple[str, ...]
    alpha: float
    ablation_alphas: tuple[float, ...]
    seeds: tuple[int, ...]
    n_folds: int
    train: dict[str, Any]
    evaluate: dict[str, Any]
    baselines: tuple[str, ...]
    train_notebook: str = TRAIN_NOTEBOOK
    evaluate_notebook: str = EVALUATE_NOTEBOOK


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    description: str
    common: dict[str, Any]
    notebooks: tuple[NotebookSpec, ...]
    experiment: ExperimentGrid | None


def _fail(source: Path, profile: str, field: str, message: str) -> ProfileError:
    return ProfileError(f"{source}: profile {profile!r}, field {field!r}: {message}")


def _check_keys(source: Path, profile: str, field: str, mapping: Any, allowed: set[str]) -> dict:
    if not isinstance(mapping, dict):
        raise _fail(source, profile, field, f"must be a mapping, but got {mapping!r}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise _fail(
            source, profile, field,
            f"unknown key(s) {unknown}; allowed: {sorted(allowed)}",
        )
    return mapping


def _literal_parameters(source: Path, profile: str, field: str, value: Any) -> dict[str, Any]:
    """Parameters must be a mapping of names to YAML literals (papermill injects them)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(source, profile, field, f"must be a mapping of parameters, but got {value!r}")
    for name in value:
        if not isinstance(name, str) or not name.isidentifier():
            raise _fail(source, profile, field, f"parameter name {name!r} is not an identifier")
    return dict(value)


def _parse_grid(source: Path, name: str, raw: Any) -> ExperimentGrid:
    allowed = {f.name for f in dataclasses.fields(ExperimentGrid)}
    raw = _check_keys(source, name, "experiment", raw, allowed)
    samplers = tuple(raw.get("samplers", SAMPLERS))
    for sampler in samplers:
        if sampler not in SAMPLERS:
            raise _fail(
                source, name, "experiment.samplers",
                f"unknown sampler {sampler!r}; choose from {list(SAMPLERS)}",
            )
    alphas = [raw.get("alpha", 0.5), *raw.get("ablation_alphas", [])]
    for alpha in alphas:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise _fail(source, name, "experiment.alpha", f"alpha must be in [0, 1], but got {alpha!r}")
    seeds = tuple(raw.get("seeds", [0]))
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise _fail(source, name, "experiment.seeds", f"must be a non-empty list of integers, but got {list(seeds)!r}")
    n_folds = raw.get("n_folds", 2)
    if not isinstance(n_folds, int) or n_folds < 2:
        raise _fail(source, name, "experiment.n_folds", f"must be an integer >= 2, but got {n_folds!r}")
    baselines = tuple(raw.get("baselines", ()))
    for baseline in baselines:
        if baseline not in BASELINES:
            raise _fail(
                source, name, "experiment.baselines",
                f"unknown baseline {baseline!r}; choose from {list(BASELINES)}",
            )
    return ExperimentGrid(
        samplers=samplers,
        alpha=float(raw.get("alpha", 0.5)),
        ablation_alphas=tuple(float(a) for a in raw.get("ablation_alphas", [])),
        seeds=seeds,
        n_folds=n_folds,
        train=_literal_parameters(source, name, "experiment.train", raw.get("train")),
        evaluate=_literal_parameters(source, name, "experiment.evaluate", raw.get("evaluate")),
        baselines=baselines,
        train_notebook=str(raw.get("train_notebook", TRAIN_NOTEBOOK)),
        evaluate_notebook=str(raw.get("evaluate_notebook", EVALUATE_NOTEBOOK)),
    )


def _parse_profile(source: Path, name: str, raw: Any) -> Profile:
    raw = _check_keys(
        source, name, "<profile>", raw, {"description", "common", "experiment", "notebooks"}
    )
    notebooks_raw = raw.get("notebooks")
    if not isinstance(notebooks_raw, list) or not notebooks_raw:
        raise _fail(source, name, "notebooks", f"must be a non-empty list, but got {notebooks_raw!r}")
    notebooks = []
    for index, entry in enumerate(notebooks_raw):
        field = f"notebooks[{index}]"
        entry = _check_keys(source, name, field, entry, {"notebook", "parameters", "after_experiment"})
        if not isinstance(entry.get("notebook"), str):
            raise _fail(source, name, f"{field}.notebook", f"must be a path, but got {entry.get('notebook')!r}")
        notebooks.append(
            NotebookSpec(
                notebook=entry["notebook"],
                parameters=_literal_parameters(source, name, f"{field}.parameters", entry.get("parameters")),
                after_experiment=bool(entry.get("after_experiment", False)),
            )
        )
    experiment = _parse_grid(source, name, raw["experiment"]) if raw.get("experiment") else None
    return Profile(
        name=name,
        description=str(raw.get("description", "")).strip(),
        common=_literal_parameters(source, name, "common", raw.get("common")),
        notebooks=tuple(notebooks),
        experiment=experiment,
    )


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """Parse every profile of ``path`` (safe YAML loader); raises ``ProfileError``."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"{path}: profile file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles"), dict) or not raw["profiles"]:
        raise ProfileError(f"{path}: expected a top-level mapping 'profiles' with at least one profile")
    unknown = sorted(k for k in raw if k != "profiles" and not str(k).startswith("x-"))
    if unknown:
        raise ProfileError(
            f"{path}: unknown top-level key(s) {unknown}; allowed: 'profiles' and 'x-...' "
            "(anchors for shared parts)"
        )
    return {name: _parse_profile(path, name, body) for name, body in raw["profiles"].items()}


def load_profile(path: str | Path, name: str) -> Profile:
    """The profile ``name`` of ``path``; raises ``ProfileError`` naming the known ones."""
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"{path}: no profile {name!r}; known profiles: {sorted(profiles)}")
    return profiles[name]
