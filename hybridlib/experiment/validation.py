"""The validation grid of a direction (temperature x learning rate x sampler, one seed), its
learning curves, the choice made on them (:data:`~hybridlib.systems.SELECTION_FILE`), and
that choice read back for the main runs."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.experiment.training import train_config, train_once
from hybridlib.io import atomic_write_json
from hybridlib.systems import SELECTION_FILE, system_label, system_name


def resolve_choices(
    selection_file: str, *, temperature: float | None = None, lr: float | None = None,
    steps: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Temperature, learning rate and steps: the validation's choice (``selection_file``),
    each replaced by an explicit value where one is given (a reader's rerun)."""
    chosen = read_selection(selection_file) if selection_file else {}
    given = {"temperature": temperature, "lr": lr, "steps": steps}
    result = {k: v if v is not None else chosen.get(k) for k, v in given.items()}
    missing = sorted(k for k, v in result.items() if v is None)
    if missing:
        raise ValueError(
            f"no value for {missing}: give them, or a selection_file written by the validation runs"
        )
    result["source"] = {k: "given" if v is not None else selection_file for k, v in given.items()}
    return result


def run_validation(
    *,
    model: str,
    direction_name: str,
    systems: Sequence[tuple[str, float]],
    temperatures: Sequence[float],
    lrs: Sequence[float],
    max_steps: int,
    every: int,
    seed: int,
    train: dict[str, Any],
    validation_fraction: float,
    validation_seed: int,
    output_dir: str,
    train_images: int | None = None,
    validation_images: int | None = None,
    validation_languages: Sequence[str] | None = None,
    root: str | None = None,
) -> pd.DataFrame:
    """Train every (temperature, lr, system) for ``max_steps`` with the validation curve every
    ``every`` steps; returns the curves (one row per run and step), also written as
    ``curves.csv``, and writes :data:`SELECTION_FILE` (:func:`choose_settings`);
    ``train_images``, ``validation_images``, ``validation_languages``: XM3600's cut
    (:func:`train_config`)."""
    frames = []
    for temperature in temperatures:
        for lr in lrs:
            for sampler, alpha in systems:
                label = f"t{temperature:g}-lr{lr:g}-{system_label(sampler, alpha)}"
                config = train_config(
                    model=model, direction_name=direction_name, sampler=sampler, alpha=alpha,
                    seed=seed, output_dir=f"{output_dir}/{label}", temperature=temperature, lr=lr,
                    steps=max_steps, train=train, validation_fraction=validation_fraction,
                    validation_seed=validation_seed, validation_every=every,
                    train_images=train_images, validation_images=validation_images,
                    validation_languages=validation_languages, root=root,
                )  # fmt: skip
                train_once(config)
                curve = pd.read_json(Path(config.output_dir) / "validation_log.jsonl", lines=True)
                frames.append(curve.assign(temperature=temperature, lr=lr,
                                           system=system_name(sampler, alpha)))  # fmt: skip
    curves = pd.concat(frames, ignore_index=True)
    from hybridlib.io import atomic_path

    with atomic_path(Path(output_dir) / "curves.csv") as tmp:
        curves.to_csv(tmp, index=False)
    atomic_write_json(Path(output_dir) / SELECTION_FILE, choose_settings(curves))
    return curves


def choose_settings(curves: pd.DataFrame, criterion: str = "map_mean") -> dict[str, Any]:
    """The (temperature, lr, steps) with the best mean over systems of ``criterion`` on the
    validation articles (step 0, the untrained model, excluded); ties go to fewer steps, then
    the smaller temperature and learning rate. The same choice for every sampler."""
    trained = curves[curves["step"] > 0]
    if trained.empty:
        raise ValueError("the validation curves hold no step after training started")
    mean = trained.groupby(["temperature", "lr", "step"])[criterion].mean().reset_index()
    mean = mean.sort_values([criterion, "step", "temperature", "lr"],
                            ascending=[False, True, True, True])  # fmt: skip
    best = mean.iloc[0]
    return {
        "temperature": float(best["temperature"]),
        "lr": float(best["lr"]),
        "steps": int(best["step"]),
        "criterion": criterion,
        "value": float(best[criterion]),
        "n_systems": int(curves["system"].nunique()),
    }


def read_selection(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The choice written by :func:`run_validation`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def selection_edges(curves: pd.DataFrame, chosen: dict[str, Any]) -> list[str]:
    """Which of the chosen (temperature, lr, steps) sit on an edge of the validation grid, as
    phrases (``"steps: the last scored (80)"``); empty when every choice is inside it. A
    setting at an edge is not known to be the optimum: the grid should extend past it. A
    grid of one value is its own edge and says so."""
    edges = []
    for key, column in (("temperature", "temperature"), ("lr", "lr")):
        values = sorted(set(curves[column]))
        if len(values) == 1:
            edges.append(f"{key}: the only value tried ({values[0]:g})")
        elif chosen[key] in (values[0], values[-1]):
            which = "smallest" if chosen[key] == values[0] else "largest"
            edges.append(
                f"{key}: the {which} tried ({chosen[key]:g} of {', '.join(f'{v:g}' for v in values)})"
            )
    last = int(curves["step"].max())
    if int(chosen["steps"]) == last:
        edges.append(f"steps: the last scored ({last}); the curve may still be rising")
    return edges
