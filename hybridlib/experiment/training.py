"""Training one system of a direction: its :class:`~hybridlib.training.TrainConfig`, one run
(resumed, or reused when finished), and the runs of its seeds with their evaluation.

A model is trained once: :func:`train_once` skips a finished run of exactly this
configuration and resumes an interrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hybridlib.experiment.evaluation import evaluate_run
from hybridlib.protocol import curve_languages, direction, training_articles, validation_articles
from hybridlib.run_records import trained_record
from hybridlib.systems import canonical, steps_of, system_label, system_name

if TYPE_CHECKING:
    from hybridlib.evaluation.suites import EvaluationSettings
    from hybridlib.training.config import TrainConfig


def trainer_fields(
    train: dict[str, Any], top_layers: int | None, precision: str, num_threads: int | None,
    query_prefix: str | None = None, passage_prefix: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The trainer's fields of a profile: ``train`` plus the settings every run shares with
    evaluation (the trained top layers, the arithmetic, the prefixes; None: the model's) and
    the thread count."""
    return {**train, "train_top_layers": top_layers, "precision": precision,
            "num_threads": num_threads, "save_top_layers_only": top_layers is not None,
            "query_prefix": query_prefix, "passage_prefix": passage_prefix}  # fmt: skip


def train_and_evaluate(
    *,
    model: str,
    direction_name: str,
    sampler: str,
    alpha: float,
    seeds: Sequence[int],
    choices: dict[str, Any],
    train: dict[str, Any],
    validation_fraction: float,
    validation_seed: int,
    suites: Sequence[str],
    suite_languages: dict[str, Sequence[str] | None] | None,
    settings: EvaluationSettings,
    batch_size: int,
    models_dir: str,
    results_dir: str,
    extra_suites: Sequence[str] = (),
    extra_seeds: Sequence[int] = (),
    alpha_end: float | None = None,
    train_images: int | None = None,
    root: str | None = None,
) -> pd.DataFrame:
    """Train one system of a direction once per seed and evaluate each model on ``suites``,
    and the models of ``extra_seeds`` on ``extra_suites`` too (the domain-shift suites);
    models under ``models_dir/<direction>/<label>-s<seed>``, results under
    ``results_dir/<direction>/<label>-s<seed>``. Returns the training logs."""
    label = system_label(sampler, alpha, alpha_end)
    logs = []
    for seed in seeds:
        config = train_config(
            model=model, direction_name=direction_name, sampler=sampler, alpha=alpha, seed=seed,
            output_dir=f"{models_dir}/{direction_name}/{label}-s{seed}",
            temperature=choices["temperature"], lr=choices["lr"],
            steps=steps_of(choices, system_name(sampler, alpha, alpha_end)),
            train=train, validation_fraction=validation_fraction,
            validation_seed=validation_seed, alpha_end=alpha_end, train_images=train_images,
            root=root,
        )  # fmt: skip
        model_dir = train_once(config)
        assert config.data is not None  # train_config always names the data
        evaluate_run(
            model_dir, [*suites, *(extra_suites if seed in extra_seeds else [])],
            f"{results_dir}/{direction_name}/{label}-s{seed}",
            record=trained_record(direction_name, sampler, alpha, seed, model, alpha_end), settings=settings,
            suite_languages=suite_languages, training_languages=direction(direction_name).languages,
            train_articles=config.data.articles, batch_size=batch_size,
        )  # fmt: skip
        log = pd.read_json(Path(config.output_dir) / "train_log.jsonl", lines=True)
        logs.append(log.assign(seed=seed))
    return pd.concat(logs, ignore_index=True)


def train_config(
    *,
    model: str,
    direction_name: str,
    sampler: str,
    alpha: float,
    seed: int,
    output_dir: str,
    temperature: float,
    lr: float,
    steps: int,
    train: dict[str, Any],
    validation_fraction: float,
    validation_seed: int = 0,
    validation_every: int | None = None,
    alpha_end: float | None = None,
    train_images: int | None = None,
    validation_images: int | None = None,
    validation_languages: Sequence[str] | None = None,
    root: str | None = None,
) -> TrainConfig:
    """The :class:`~hybridlib.training.TrainConfig` of one run of ``direction_name``: its
    training set minus the shared and validation articles, in the direction's languages.
    ``train`` holds the remaining trainer fields (batch size, length, top layers, ...);
    ``validation_every`` adds the learning curve on the validation articles; ``alpha_end``
    schedules Hybrid's alpha (from ``alpha`` to ``alpha_end`` over the run);
    ``train_images``, ``validation_images``: XM3600's stated cut (at most this many of the
    split's images, :func:`hybridlib.protocol.xm3600_units`; other directions ignore them);
    ``validation_languages``: XM3600's learning curve (loss and mAP) in these languages
    (None: the training languages; other directions ignore it too)."""
    from hybridlib.training import TrainConfig

    chosen = direction(direction_name)
    data = {
        "suite": chosen.train_suite,
        "languages": list(chosen.languages),
        "articles": training_articles(
            direction_name, validation_fraction, validation_seed, root, limit=train_images
        ),
        "root": root,
    }
    fields: dict[str, Any] = {
        **train,
        "model": model,
        "output_dir": output_dir,
        "sampler": canonical(sampler, alpha)[0],
        "alpha": canonical(sampler, alpha)[1],
        "seed": seed,
        "temperature": temperature,
        "lr": lr,
        "steps": steps,
        "data": data,
    }
    label = system_label(sampler, alpha, alpha_end)
    if alpha_end is not None and alpha_end != alpha:
        fields["sampler"], fields["alpha"], fields["alpha_end"] = (
            sampler,
            float(alpha),
            float(alpha_end),
        )
    if validation_every:
        curve = curve_languages(direction_name, validation_languages)
        fields["validation"] = {
            "articles": validation_articles(
                direction_name, validation_fraction, validation_seed, root, limit=validation_images
            ),
            "every": validation_every,
            **({"languages": curve} if curve else {}),
        }
    return TrainConfig.from_dict(fields, source=f"{direction_name} {label} seed {seed}")


def finished_run(config: TrainConfig) -> bool:
    """Whether ``config.output_dir`` holds a finished run of exactly ``config``."""
    output = Path(config.output_dir)
    if not ((output / "provenance.json").is_file() and (output / "model").is_dir()):
        return False
    return json.loads((output / "config.json").read_text(encoding="utf-8")) == config.to_dict()


def train_once(
    config: TrainConfig, show_progress: bool | None = False, stop_at: int | None = None
) -> Path:
    """Train ``config`` unless its model is already complete (its provenance is written after
    the model); resumes an interrupted or paused run. ``stop_at``: pause after that step (a
    checkpoint, no model yet; :func:`hybridlib.training.train`); a run already paused there
    or later is left as it is. A run of another configuration in the folder is stale and
    started afresh. Returns the model folder (where the model is, or will be)."""
    import shutil

    from hybridlib.training import train
    from hybridlib.training.checkpoints import config_differences, newest_complete_step

    output = Path(config.output_dir)
    if finished_run(config):
        return output / "model"
    saved = output / "config.json"
    finished = (output / "provenance.json").is_file() and (output / "model").is_dir()
    stale = saved.is_file() and config_differences(
        json.loads(saved.read_text(encoding="utf-8")), config.to_dict()
    )
    if finished or stale:
        shutil.rmtree(output)
    if stop_at is not None and newest_complete_step(output) >= stop_at:
        return output / "model"
    return train(config, resume=True, show_progress=show_progress, stop_at=stop_at).model_dir
