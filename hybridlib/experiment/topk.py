"""The top-k check: each system trained twice (its top layers on cached hidden states, and
the whole encoder) on the same batches, and both evaluated on a sample of test articles."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from hybridlib.experiment.evaluation import evaluate_run
from hybridlib.experiment.training import finished_run, train_config, train_once, trainer_fields
from hybridlib.protocol import direction
from hybridlib.run_records import trained_record
from hybridlib.systems import steps_of, system_label, system_name


def article_sample(
    suite: str, n_articles: int, seed: int = 0, root: str | None = None
) -> list[str]:
    """``n_articles`` articles of ``suite`` drawn by ``default_rng(seed)`` (sorted)."""
    import numpy as np

    from hybridlib.protocol import suite_articles

    titles = suite_articles(suite, root)
    if not 1 <= n_articles <= len(titles):
        raise ValueError(
            f"n_articles must be in [1, {len(titles)}] for {suite}, but got {n_articles}"
        )
    order = np.random.default_rng(seed).permutation(len(titles))
    return sorted(titles[i] for i in order[:n_articles])


def finetuning_comparison(
    *,
    model: str,
    direction_name: str,
    systems: Sequence[tuple[str, float]],
    seeds: Sequence[int],
    choices: dict[str, Any],
    train: dict[str, Any],
    top_layers: int,
    precision: str,
    whole: dict[str, Any],
    validation_fraction: float,
    validation_seed: int,
    eval_articles: Sequence[str],
    output_dir: str,
    topk_models_dir: str | None = None,
    batch_size: int = 64,
    num_threads: int | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
) -> None:
    """Train every (system, seed) twice — its top ``top_layers`` layers on cached states, and
    the whole encoder (``whole``: extra trainer fields, e.g. frozen word embeddings) — with
    the same data, batches, temperature, learning rate and steps, and evaluate each on
    ``eval_articles`` of the direction's test suite: top-k models through the hidden-state
    cache, whole models with the full forward pass. Results under
    ``output_dir/results/<mode>/``; models under ``output_dir/models/<mode>/``, or the top-k
    models: a main run under ``topk_models_dir/<direction>/`` where one with exactly this
    configuration is finished (the cpu profile's top-k runs; the full profile's whole-model
    runs), reused rather than trained again and never overwritten."""
    from hybridlib.evaluation.suites import EvaluationSettings

    test_suite = direction(direction_name).test_suite
    modes = {
        f"top-{top_layers}": (trainer_fields(train, top_layers, precision, num_threads,
                                             query_prefix, passage_prefix), top_layers),
        "whole": ({**trainer_fields(train, None, precision, num_threads, query_prefix,
                                    passage_prefix), **whole}, None),
    }  # fmt: skip
    for mode, (fields, layers) in modes.items():
        settings = EvaluationSettings(
            precision=precision,
            top_layers=layers,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
        )
        for sampler, alpha in systems:
            for seed in seeds:
                label = f"{system_label(sampler, alpha)}-s{seed}"
                config = train_config(
                    model=model, direction_name=direction_name, sampler=sampler, alpha=alpha,
                    seed=seed, output_dir=f"{output_dir}/models/{mode}/{label}",
                    temperature=choices["temperature"], lr=choices["lr"],
                    steps=steps_of(choices, system_name(sampler, alpha)),
                    train=fields, validation_fraction=validation_fraction,
                    validation_seed=validation_seed,
                )  # fmt: skip
                if topk_models_dir:  # the main run of this system, if it is this very run
                    main = dataclasses.replace(
                        config, output_dir=f"{topk_models_dir}/{direction_name}/{label}"
                    )
                    config = main if finished_run(main) else config
                model_dir = train_once(config)
                assert config.data is not None  # train_config always names the data
                evaluate_run(
                    model_dir, [test_suite], f"{output_dir}/results/{mode}/{label}",
                    record={**trained_record(direction_name, sampler, alpha, seed, model), "mode": mode},
                    settings=settings, train_articles=config.data.articles,
                    include_articles={test_suite: list(eval_articles)}, batch_size=batch_size,
                )  # fmt: skip
