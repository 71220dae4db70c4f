"""The validation grid of a direction (temperature x learning rate x sampler, one seed), its
learning curves, the choice made on them (:data:`~hybridlib.systems.SELECTION_FILE`), and
that choice read back for the main runs."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.experiment.training import train_config, train_once
from hybridlib.io import atomic_path, atomic_write_json
from hybridlib.systems import SELECTION_FILE, system_label, system_name


def resolve_choices(
    selection_file: str, *, temperature: float | None = None, lr: float | None = None,
    steps: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Temperature, learning rate and steps: the validation's choice (``selection_file``),
    each replaced by an explicit value where one is given (a reader's rerun). The choice's
    ``steps_by_system`` (each validated sampler's own early-stopping step) is kept unless
    ``steps`` is given, which then holds for every system;
    :func:`~hybridlib.systems.steps_of` reads it."""
    chosen = read_selection(selection_file) if selection_file else {}
    given = {"temperature": temperature, "lr": lr, "steps": steps}
    result: dict[str, Any] = {k: v if v is not None else chosen.get(k) for k, v in given.items()}
    missing = sorted(k for k, v in result.items() if v is None)
    if missing:
        raise ValueError(
            f"no value for {missing}: give them, or a selection_file written by the validation runs"
        )
    result["steps_by_system"] = dict(chosen.get("steps_by_system", {})) if steps is None else {}
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
    prune_at: Sequence[int] = (),
    keep: float = 0.5,
    train_images: int | None = None,
    validation_images: int | None = None,
    validation_languages: Sequence[str] | None = None,
    root: str | None = None,
) -> pd.DataFrame:
    """Train every (temperature, lr, system) towards ``max_steps`` with the validation curve
    every ``every`` steps; returns the curves (one row per run and step), also written as
    ``curves.csv``, and writes :data:`SELECTION_FILE` (:func:`choose_settings`, plus
    ``pruned``). ``train_images``, ``validation_images``, ``validation_languages``: XM3600's
    cut (:func:`train_config`).

    Successive halving: at each step of ``prune_at`` (multiples of ``every``) every
    (temperature, lr) pair still trained pauses, the pairs are ranked by
    :func:`rank_pairs` on their curves so far, and only the best ``ceil(keep * n)`` of the
    ``n`` continue (each from its checkpoint: its curve is the one an uninterrupted run
    draws); the others stop there, recorded as ``pruned`` ``[{"temperature", "lr",
    "step"}]``. Empty ``prune_at``: the exhaustive grid."""
    every_pair = [(float(t), float(lr)) for t in temperatures for lr in lrs]
    schedule = halving_schedule(len(every_pair), max_steps, every, prune_at, keep)

    def config(temperature: float, lr: float, sampler: str, alpha: float) -> Any:
        label = f"t{temperature:g}-lr{lr:g}-{system_label(sampler, alpha)}"
        return train_config(
            model=model, direction_name=direction_name, sampler=sampler, alpha=alpha,
            seed=seed, output_dir=f"{output_dir}/{label}", temperature=temperature, lr=lr,
            steps=max_steps, train=train, validation_fraction=validation_fraction,
            validation_seed=validation_seed, validation_every=every,
            train_images=train_images, validation_images=validation_images,
            validation_languages=validation_languages, root=root,
        )  # fmt: skip

    grid = [(str(sampler), float(alpha)) for sampler, alpha in systems]
    configs = {(pair, system): config(*pair, *system) for pair in every_pair for system in grid}

    def curves_of(pairs: Sequence[tuple[float, float]]) -> pd.DataFrame:
        frames = [
            pd.read_json(Path(configs[pair, system].output_dir) / "validation_log.jsonl", lines=True)
            .assign(temperature=pair[0], lr=pair[1], system=system_name(*system))
            for pair in every_pair if pair in pairs for system in grid
        ]  # fmt: skip
        return pd.concat(frames, ignore_index=True)

    alive, pruned = list(every_pair), []
    for index, (stop, _) in enumerate(schedule):
        last = index == len(schedule) - 1
        for pair in alive:
            for system in grid:
                train_once(configs[pair, system], stop_at=None if last else stop)
        if last:
            break
        so_far = curves_of(alive)  # each rung: only the best pairs go on
        best = rank_pairs(so_far[so_far["step"] <= stop]).head(schedule[index + 1][1])
        kept = {(float(t), float(lr)) for t, lr in zip(best["temperature"], best["lr"])}
        pruned += [
            {"temperature": t, "lr": lr, "step": stop} for t, lr in alive if (t, lr) not in kept
        ]
        alive = [pair for pair in alive if pair in kept]
    curves = curves_of(every_pair)
    with atomic_path(Path(output_dir) / "curves.csv") as tmp:
        curves.to_csv(tmp, index=False)
    atomic_write_json(
        Path(output_dir) / SELECTION_FILE, {**choose_settings(curves), "pruned": pruned}
    )
    return curves


def halving_schedule(
    n_pairs: int, max_steps: int, every: int, prune_at: Sequence[int] = (), keep: float = 0.5
) -> list[tuple[int, int]]:
    """Successive halving's plan: ``[(stop, pairs trained up to it), ...]`` ending at
    ``max_steps``; after each stop but the last, ``ceil(keep * n)`` of the ``n`` pairs go on
    (at least one); a rung where that would stop no pair is dropped. ``prune_at`` must be
    multiples of ``every`` below ``max_steps``: a pair is ranked on a curve point at the step
    it stops. ``[(max_steps, n_pairs)]``: exhaustive."""
    rungs = sorted({int(s) for s in prune_at})
    bad = [s for s in rungs if s <= 0 or s >= max_steps or s % every]
    if bad or not 0 < keep < 1 or n_pairs < 1:
        raise ValueError(
            f"prune_at must be multiples of every ({every}) below max_steps ({max_steps}) and "
            f"keep a fraction in (0, 1); got prune_at={list(prune_at)}, keep={keep} "
            f"({n_pairs} pairs)"
        )
    schedule, alive = [], n_pairs
    for stop in rungs:
        continuing = max(1, math.ceil(keep * alive))
        if continuing < alive:  # a rung that would stop no pair is no rung (no pause)
            schedule.append((stop, alive))
            alive = continuing
    return [*schedule, (max_steps, alive)]


def rank_pairs(curves: pd.DataFrame, criterion: str = "map_mean") -> pd.DataFrame:
    """The (temperature, lr) pairs, best first, by the mean over systems of each system's
    best ``criterion`` on its curve after step 0 (ties to the smaller temperature, then lr):
    columns ``temperature``, ``lr``, ``criterion``."""
    trained = curves[curves["step"] > 0]
    if trained.empty:
        raise ValueError("the validation curves hold no step after training started")
    best = trained.groupby(["temperature", "lr", "system"])[criterion].max().reset_index()
    pairs = best.groupby(["temperature", "lr"])[criterion].mean().reset_index()
    return pairs.sort_values(
        [criterion, "temperature", "lr"], ascending=[False, True, True], ignore_index=True
    )


def choose_settings(curves: pd.DataFrame, criterion: str = "map_mean") -> dict[str, Any]:
    """Each validated sampler trained to its own plateau, on shared settings (step 0, the
    untrained model, excluded; ``curves``: one row per system, temperature, lr and step):

    - ``steps_by_system``: per system, at the chosen temperature and lr, the step of its
      best ``criterion`` (early stopping on the validation units; ties to fewer steps);
    - ``temperature``, ``lr``: the first pair of :func:`rank_pairs` (the best mean over
      systems of each system's best ``criterion``, at its own step);
    - ``steps``: for a system the validation did not train (another alpha, a schedule), the
      step of the best mean over the validated systems' curves at that pair;
    - ``value``: the chosen pair's mean of the systems' best values."""
    pairs = rank_pairs(curves, criterion)
    trained = curves[curves["step"] > 0]
    ordered = trained.sort_values([criterion, "step"], ascending=[False, True])
    best = ordered.groupby(["temperature", "lr", "system"], sort=False).head(1)
    temperature, lr = float(pairs.iloc[0]["temperature"]), float(pairs.iloc[0]["lr"])
    at = best[(best["temperature"] == temperature) & (best["lr"] == lr)]
    mean = trained[(trained["temperature"] == temperature) & (trained["lr"] == lr)]
    mean = mean.groupby("step")[criterion].mean().reset_index()
    mean = mean.sort_values([criterion, "step"], ascending=[False, True])
    return {
        "temperature": temperature,
        "lr": lr,
        "steps": int(mean.iloc[0]["step"]),
        "steps_by_system": {
            str(r.system): int(r.step) for r in at.sort_values("system").itertuples()
        },
        "criterion": criterion,
        "value": float(pairs.iloc[0][criterion]),
        "n_systems": int(curves["system"].nunique()),
    }


def read_selection(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The choice written by :func:`run_validation`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def selection_edges(curves: pd.DataFrame, chosen: dict[str, Any]) -> list[str]:
    """Which of the chosen (temperature, lr, each system's steps) sit on an edge of the
    validation grid, as phrases (``"steps of X-X: the last scored (80)"``); empty when every
    choice is inside it. A setting at an edge is not known to be the optimum: the grid
    should extend past it. A grid of one value is its own edge and says so."""
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
    by_system = chosen.get("steps_by_system") or {"every system": chosen["steps"]}
    for system, steps in by_system.items():
        if int(steps) == last:
            edges.append(
                f"steps of {system}: the last scored ({last}); the curve may still be rising"
            )
    return edges


def choice_sentence(chosen: dict[str, Any]) -> str:
    """The choice in words: ``"temperature 0.05, learning rate 0.0003; steps X-X 150, X-Y
    250, Hybrid(0.50) 200, another system 200"`` (each validated sampler's own step, then the
    step of the validated samplers' mean curve for a system the validation did not train),
    and the pairs successive halving stopped early: ``"; stopped by successive halving:
    temperature 0.02 and learning rate 0.0003 at step 100"``."""
    by_system = chosen.get("steps_by_system") or {}
    own = ", ".join(f"{system} {steps}" for system, steps in by_system.items())
    steps = f"steps {own}, another system {chosen['steps']}" if own else f"{chosen['steps']} steps"
    sentence = f"temperature {chosen['temperature']:g}, learning rate {chosen['lr']:g}; {steps}"
    pruned = chosen.get("pruned") or []
    if pruned:
        sentence += "; stopped by successive halving: " + ", ".join(
            f"temperature {p['temperature']:g} and learning rate {p['lr']:g} at step {p['step']}"
            for p in pruned
        )
    return sentence
