"""Training-free removal of language identity (centering, LIR, LSAR): fitted on
training-side texts (:func:`fit_texts`), its ranks chosen on the validation articles
(:func:`choose_debias_ranks`), applied to the untrained encoder and to trained models
(:func:`debias_runs`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from hybridlib.data.types import Candidate, Query
from hybridlib.experiment.evaluation import evaluate_run
from hybridlib.io import atomic_write_json
from hybridlib.protocol import direction, training_articles, validation_articles
from hybridlib.run_records import baseline_record, trained_record
from hybridlib.systems import debiased_name, system_label

if TYPE_CHECKING:
    from hybridlib.data.types import RetrievalSuite
    from hybridlib.evaluation.suites import EvaluationSettings
    from hybridlib.models import Encoder


DEBIAS_SELECTION_FILE = "debias_selection.json"
DEBIAS_VALIDATION_FILE = "debias_validation.csv"

_Item = TypeVar("_Item", Query, Candidate)  # a question or a sentence, in its language


def _sample_by_language(items: Sequence[_Item], per_language: int, seed: int) -> list[_Item]:
    """Up to ``per_language`` items of each language, drawn by ``default_rng(seed)``, in input order."""
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for language in sorted({item.language for item in items}):
        rows = [i for i, item in enumerate(items) if item.language == language]
        chosen = rng.permutation(len(rows))[:per_language]
        keep.extend(rows[i] for i in chosen)
    return [items[i] for i in sorted(keep)]


def fit_texts(
    direction_name: str, *, languages: Sequence[str] | None, per_language: int,
    validation_fraction: float, validation_seed: int = 0, seed: int = 0, root: str | None = None,
) -> RetrievalSuite:  # fmt: skip
    """The training side a post-processing is fitted on: questions and sentences of the
    direction's training articles (never a validation, shared or evaluated article) in
    ``languages`` (default: every language of the training set), up to ``per_language`` of
    each side and language. A :class:`~hybridlib.data.types.RetrievalSuite` (its qrels unused)."""
    from hybridlib.data import load_lareqa

    chosen = direction(direction_name)
    articles = training_articles(direction_name, validation_fraction, validation_seed, root)
    suite = load_lareqa(chosen.train_suite, languages=languages, root=root).subset(
        articles=articles
    )
    return dataclasses.replace(
        suite, queries=_sample_by_language(suite.queries, per_language, seed),
        candidates=_sample_by_language(suite.candidates, per_language, seed),
    )  # fmt: skip


def _embed_sides(
    encoder: Encoder, suite: RetrievalSuite, batch_size: int
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """``(queries (n_q, d), their languages, candidates (n_c, d), their languages)``, cached."""
    from hybridlib.evaluation.embeddings import embed_suite

    embedded = embed_suite(encoder, suite, batch_size=batch_size)
    return (embedded.queries, [q.language for q in suite.queries],
            embedded.candidates, [c.language for c in suite.candidates])  # fmt: skip


def choose_debias_ranks(
    encoder: Encoder, *, direction_name: str, ranks: dict[str, Sequence[int]],
    fit_suite: RetrievalSuite,
    validation_fraction: float, validation_seed: int = 0, languages: Sequence[str] | None = None,
    batch_size: int = 64, root: str | None = None,
) -> tuple[dict[str, int | None], pd.DataFrame]:  # fmt: skip
    """The rank of each method (``{"lir": [1, 2, 4], ...}``; centering has none) with the best
    mean of Mono, Cross and Multi mAP on the direction's validation articles (held out of
    training and of the fit), for ``encoder``; ties go to the smaller rank. Returns the
    choice and the table of every candidate's scores."""
    from hybridlib.data import load_lareqa
    from hybridlib.evaluation.debias import fit_debiasing
    from hybridlib.training.validation import validation_maps

    chosen = direction(direction_name)
    held_out = validation_articles(direction_name, validation_fraction, validation_seed, root)
    suite = load_lareqa(chosen.train_suite, languages=languages, root=root).subset(
        articles=held_out
    )
    fit = _embed_sides(encoder, fit_suite, batch_size)
    queries, query_languages, candidates, candidate_languages = _embed_sides(
        encoder, suite, batch_size
    )
    rows = []
    for method, method_ranks in [("none", [None]), *ranks.items()]:
        for rank in method_ranks:
            q, c = queries, candidates
            if method != "none":
                fitted = fit_debiasing(method, *fit, rank=rank)
                q, c = fitted.apply(queries, query_languages, candidates, candidate_languages)
            rows.append({"method": method, "rank": rank, **validation_maps(suite, q, c)})
    table = pd.DataFrame(rows)
    choice: dict[str, int | None] = {}
    for method in ranks:
        part = table[table["method"] == method].sort_values(
            ["map_mean", "rank"], ascending=[False, True]
        )
        choice[method] = int(part.iloc[0]["rank"])
    return choice, table


def debias_runs(
    *,
    model: str,
    direction_name: str,
    systems: Sequence[tuple[str, float]],
    seeds: Sequence[int],
    methods: Sequence[str],
    ranks: dict[str, Sequence[int]],
    per_language: int,
    fit_languages: Sequence[str] | None,
    validation_fraction: float,
    validation_seed: int,
    suites: Sequence[str],
    suite_languages: dict[str, Sequence[str] | None] | None,
    settings: EvaluationSettings,
    models_dir: str,
    results_dir: str,
    extra_suites: Sequence[str] = (),
    extra_methods: Sequence[str] = (),
    batch_size: int = 64,
    root: str | None = None,
) -> dict[str, Any]:
    """Every ``methods`` (``centering``, ``lir``, ``lsar``) applied to the untrained encoder
    and to the trained models of ``systems`` (``seeds``; trained by the runs) and evaluated
    on ``suites`` (and, for ``extra_methods``, on ``extra_suites``): fitted on
    :func:`fit_texts` of each model's own embeddings, ranks chosen once by
    :func:`choose_debias_ranks` on the untrained encoder. Results under
    ``results_dir/<direction>/<label>+<method>-s<seed>``; the choice in
    ``results_dir/<direction>/`` (:data:`DEBIAS_SELECTION_FILE`, :data:`DEBIAS_VALIDATION_FILE`)."""
    from hybridlib.evaluation.debias import fit_debiasing
    from hybridlib.models import load_encoder

    folder = Path(results_dir) / direction_name
    fit_suite = fit_texts(direction_name, languages=fit_languages, per_language=per_language,
                          validation_fraction=validation_fraction, validation_seed=validation_seed,
                          root=root)  # fmt: skip
    untrained = load_encoder(model)
    settings.apply(untrained)
    chosen_ranks = _debias_ranks(
        untrained, folder, model=model, direction_name=direction_name, methods=methods,
        ranks=ranks, fit_suite=fit_suite, fit_languages=fit_languages,
        validation_fraction=validation_fraction, validation_seed=validation_seed,
        batch_size=batch_size, root=root,
    )  # fmt: skip
    chosen = direction(direction_name)
    articles = training_articles(direction_name, validation_fraction, validation_seed, root)
    fit_record = {"fit_suite": chosen.train_suite, "fit_articles": len(articles),
                  "fit_languages": sorted({q.language for q in fit_suite.queries}),
                  "fit_questions": len(fit_suite.queries), "fit_sentences": len(fit_suite.candidates),
                  "per_language": per_language}  # fmt: skip
    # (label, seed, record, the encoder or its folder)
    models: list[tuple[str, int, dict[str, Any], Encoder | Path]] = [
        ("untrained", 0, baseline_record("untrained", model), untrained),
        *_trained_models(models_dir, direction_name, model, systems, seeds),
    ]
    for label, seed, record, source in models:
        encoder = load_encoder(str(source)) if isinstance(source, Path) else source
        settings.apply(encoder)
        fit = _embed_sides(encoder, fit_suite, batch_size)
        for method in methods:
            fitted = fit_debiasing(method, *fit, rank=chosen_ranks.get(method), record=fit_record)
            evaluate_run(
                encoder, [*suites, *(extra_suites if method in extra_methods else [])],
                f"{folder}/{label}+{method}-s{seed}",
                record={**record, "run_name": f"{label}+{method}-s{seed}",
                        "method": f"{record['method']}+{method}",
                        "system": debiased_name(record["system"], method), "debias": method,
                        "debias_rank": chosen_ranks.get(method), "direction": direction_name},
                settings=settings, suite_languages=suite_languages,
                training_languages=chosen.languages, train_articles=articles,
                batch_size=batch_size, postprocess=fitted,
            )  # fmt: skip
    return {"ranks": chosen_ranks, **fit_record}


def _debias_ranks(
    untrained: Encoder, folder: Path, *, model: str, direction_name: str,
    methods: Sequence[str], ranks: dict[str, Sequence[int]], fit_suite: RetrievalSuite,
    fit_languages: Sequence[str] | None, validation_fraction: float, validation_seed: int,
    batch_size: int, root: str | None,
) -> dict[str, int | None]:  # fmt: skip
    """The rank of each of ``methods`` for the direction: read from ``folder``'s
    :data:`DEBIAS_SELECTION_FILE`, or chosen by :func:`choose_debias_ranks` on ``untrained``
    and written there, with the table of every candidate (:data:`DEBIAS_VALIDATION_FILE`)."""
    from hybridlib.io import atomic_path

    selection_file = folder / DEBIAS_SELECTION_FILE
    if selection_file.is_file():
        chosen: dict[str, int | None] = json.loads(selection_file.read_text(encoding="utf-8"))[
            "ranks"
        ]
        return chosen
    chosen, table = choose_debias_ranks(
        untrained, direction_name=direction_name, ranks={m: ranks[m] for m in methods if m != "centering"},
        fit_suite=fit_suite, validation_fraction=validation_fraction, validation_seed=validation_seed,
        languages=fit_languages, batch_size=batch_size, root=root,
    )  # fmt: skip
    with atomic_path(folder / DEBIAS_VALIDATION_FILE) as tmp:
        table.to_csv(tmp, index=False)
    atomic_write_json(selection_file, {"ranks": chosen, "criterion": "map_mean",
                                       "model": model, "direction": direction_name})  # fmt: skip
    return chosen


def _trained_models(
    models_dir: str, direction_name: str, model: str, systems: Sequence[tuple[str, float]],
    seeds: Sequence[int],
) -> list[tuple[str, int, dict[str, Any], Path]]:  # fmt: skip
    """``(label, seed, run record, model folder)`` of each trained model of ``systems`` x
    ``seeds`` under ``models_dir/<direction>/<label>-s<seed>/model``."""
    models = []
    for sampler, alpha in systems:
        label = system_label(sampler, alpha)
        for seed in seeds:
            path = Path(models_dir) / direction_name / f"{label}-s{seed}" / "model"
            models.append(
                (label, seed, trained_record(direction_name, sampler, alpha, seed, model), path)
            )
    return models
