"""The experiment's steps as functions (the notebooks only call these).

- :mod:`hybridlib.systems`: one identity per trained system (sampler and alpha),
  ``hybrid-a0.50`` in paths, ``Hybrid(0.50)`` in tables.
- :func:`train_config`: the training configuration of one run of a direction.
- :func:`run_validation`: the validation grid of a direction (temperature x learning rate x
  sampler, one seed), its learning curves and :func:`choose_settings` on them.
- :func:`evaluate_run`: one model (or baseline) on the suites of the protocol, with its run
  record (:mod:`hybridlib.run_records`, ``run.json``, written last).
- :func:`debias_runs`: training-free removal of language identity (centering, LIR, LSAR)
  fitted on training-side texts, its ranks chosen on the validation articles
  (:func:`choose_debias_ranks`), applied to the untrained encoder and to trained models.

Every result is written atomically; a finished model or suite is not recomputed, so an
interrupted execution resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.io import atomic_write_json
from hybridlib.protocol import direction, training_articles, validation_articles
from hybridlib.run_records import (
    RUN_RECORD,
    baseline_record,
    check_run_record,
    trained_record,
    write_run_record,
)
from hybridlib.systems import SELECTION_FILE, canonical, debiased_name, system_label, system_name

__all__ = [
    "SELECTION_FILE",
    "canonical",
    "debiased_name",
    "system_label",
    "system_name",
]  # re-exported


# ----------------------------------------------------------------------------- training
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
    settings: Any,
    batch_size: int,
    models_dir: str,
    results_dir: str,
    extra_suites: Sequence[str] = (),
    extra_seeds: Sequence[int] = (),
    alpha_end: float | None = None,
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
            temperature=choices["temperature"], lr=choices["lr"], steps=choices["steps"],
            train=train, validation_fraction=validation_fraction,
            validation_seed=validation_seed, alpha_end=alpha_end, root=root,
        )  # fmt: skip
        model_dir = train_once(config)
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
    root: str | None = None,
) -> Any:
    """The :class:`~hybridlib.training.TrainConfig` of one run of ``direction_name``: its
    training set minus the shared and validation articles, in the direction's languages.
    ``train`` holds the remaining trainer fields (batch size, length, top layers, ...);
    ``validation_every`` adds the learning curve on the validation articles; ``alpha_end``
    schedules Hybrid's alpha (from ``alpha`` to ``alpha_end`` over the run)."""
    from hybridlib.training import TrainConfig

    chosen = direction(direction_name)
    data = {
        "suite": chosen.train_suite,
        "languages": list(chosen.languages),
        "articles": training_articles(direction_name, validation_fraction, validation_seed, root),
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
        fields["validation"] = {
            "articles": validation_articles(
                direction_name, validation_fraction, validation_seed, root
            ),
            "every": validation_every,
        }
    return TrainConfig.from_dict(fields, source=f"{direction_name} {label} seed {seed}")


def finished_run(config: Any) -> bool:
    """Whether ``config.output_dir`` holds a finished run of exactly ``config``."""
    output = Path(config.output_dir)
    if not ((output / "provenance.json").is_file() and (output / "model").is_dir()):
        return False
    return json.loads((output / "config.json").read_text(encoding="utf-8")) == config.to_dict()


def train_once(config: Any, show_progress: bool | None = False) -> Path:
    """Train ``config`` unless its model is already complete (its provenance is written after
    the model); resumes an interrupted run. Returns the model folder."""
    from hybridlib.training import train

    output = Path(config.output_dir)
    if finished_run(config):
        return output / "model"
    if (output / "provenance.json").is_file() and (output / "model").is_dir():
        import shutil  # a finished run of another configuration: stale, started afresh

        shutil.rmtree(output)
    return train(config, resume=True, show_progress=show_progress).model_dir


# ----------------------------------------------------------------------------- validation
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
    root: str | None = None,
) -> pd.DataFrame:
    """Train every (temperature, lr, system) for ``max_steps`` with the validation curve every
    ``every`` steps; returns the curves (one row per run and step), also written as
    ``curves.csv``, and writes :data:`SELECTION_FILE` (:func:`choose_settings`)."""
    frames = []
    for temperature in temperatures:
        for lr in lrs:
            for sampler, alpha in systems:
                label = f"t{temperature:g}-lr{lr:g}-{system_label(sampler, alpha)}"
                config = train_config(
                    model=model, direction_name=direction_name, sampler=sampler, alpha=alpha,
                    seed=seed, output_dir=f"{output_dir}/{label}", temperature=temperature, lr=lr,
                    steps=max_steps, train=train, validation_fraction=validation_fraction,
                    validation_seed=validation_seed, validation_every=every, root=root,
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


# ----------------------------------------------------------------------------- evaluation
def evaluate_run(
    model: Any,
    suites: Sequence[str],
    output_dir: str,
    *,
    record: dict[str, Any],
    settings: Any,
    suite_languages: dict[str, Sequence[str] | None] | None = None,
    training_languages: Sequence[str] | None = None,
    train_articles: Sequence[str] | None = None,
    include_articles: dict[str, Sequence[str]] | None = None,
    batch_size: int = 64,
    postprocess: Any = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Evaluate ``model`` (a folder, a name, an ``Encoder``, ``"bm25"`` or a
    :class:`~hybridlib.evaluation.retrievers.Retriever`) on ``suites``, one subfolder each, and
    write ``run.json`` last: ``record`` (who the system is) plus the evaluation settings. A
    suite with no setting the retriever supports is skipped (BM25: those without Mono); one
    whose results are complete for this very model (its weights' SHA-256) and these settings
    and options is not evaluated again (:mod:`hybridlib.evaluation.reuse`); results of another
    model or setting in ``output_dir`` are recomputed, and ``log`` says so.
    ``postprocess``: a fitted :class:`~hybridlib.evaluation.debias.SuiteDebiasing`."""
    from hybridlib.evaluation import EvaluationOptions, evaluate
    from hybridlib.evaluation.retrievers import load_retriever
    from hybridlib.evaluation.reuse import evaluation_identity, identity_differences
    from hybridlib.evaluation.suites import suite_settings
    from hybridlib.io import remove_stale_temporaries

    # a record reporting could not read is refused before the evaluation, not after it
    check_run_record({**record, "suites": list(suites)}, Path(output_dir) / RUN_RECORD)
    retriever = load_retriever(model)
    evaluation_record = retriever.configure(settings)
    fingerprint = retriever.fingerprint()  # the weights hashed once for every suite
    languages = suite_languages or {}
    done = {}
    for suite in suites:
        remove_stale_temporaries(Path(output_dir) / suite)  # left by a killed evaluation
        if not suite_settings(suite, retriever):
            continue
        folder = Path(output_dir) / suite
        provenance_file = folder / "provenance.json"
        options = EvaluationOptions(
            languages=languages.get(suite), include_articles=(include_articles or {}).get(suite),
            train_articles=train_articles, training_languages=training_languages,
            batch_size=batch_size,
        )  # fmt: skip
        identity = evaluation_identity(
            retriever,
            dataclasses.replace(
                options, train_articles=retriever.training_articles(options.train_articles)
            ),
            candidate_input=settings.candidate_input, evaluation_record=evaluation_record,
            postprocess=postprocess, fingerprint=fingerprint,
        )  # fmt: skip
        differences = identity_differences(provenance_file, identity)
        if differences == []:
            done[suite] = json.loads(provenance_file.read_text(encoding="utf-8"))["parameters"]
            continue
        if differences is not None and log is not None:
            shown = ", ".join(differences[:4]) + (" ..." if len(differences) > 4 else "")
            log(f"{folder}: the results there are of another model or setting ({shown}); "
                "evaluating again")  # fmt: skip
        evaluate(
            retriever, [suite], folder, options=options, settings=settings, postprocess=postprocess,
            log=None,
        )  # fmt: skip
        done[suite] = json.loads(provenance_file.read_text(encoding="utf-8"))["parameters"]
    evaluation = {s: p.get("evaluation_settings") for s, p in done.items()}
    cache = retriever.hidden_cache
    full = {**record, "suites": list(done), "evaluation": evaluation,
            "model_sha256": fingerprint.get("weights_sha256"),
            "evaluation_seconds": {s: json.loads((Path(output_dir) / s / "provenance.json").read_text(
                encoding="utf-8"))["timings_s"].get(s) for s in done},
            "hidden_state_fill_seconds": cache.fill_seconds if cache is not None else 0.0}  # fmt: skip
    write_run_record(output_dir, full)
    return full


# ----------------------------------------------------------------------------- top-k check
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
                    temperature=choices["temperature"], lr=choices["lr"], steps=choices["steps"],
                    train=fields, validation_fraction=validation_fraction,
                    validation_seed=validation_seed,
                )  # fmt: skip
                if topk_models_dir:  # the main run of this system, if it is this very run
                    main = dataclasses.replace(
                        config, output_dir=f"{topk_models_dir}/{direction_name}/{label}"
                    )
                    config = main if finished_run(main) else config
                model_dir = train_once(config)
                evaluate_run(
                    model_dir, [test_suite], f"{output_dir}/results/{mode}/{label}",
                    record={**trained_record(direction_name, sampler, alpha, seed, model), "mode": mode},
                    settings=settings, train_articles=config.data.articles,
                    include_articles={test_suite: list(eval_articles)}, batch_size=batch_size,
                )  # fmt: skip


# ----------------------------------------------------------------------------- debiasing
DEBIAS_SELECTION_FILE = "debias_selection.json"
DEBIAS_VALIDATION_FILE = "debias_validation.csv"


def _sample_by_language(items: Sequence[Any], per_language: int, seed: int) -> list[Any]:
    """Up to ``per_language`` items of each language, drawn by ``default_rng(seed)``, in input order."""
    import numpy as np

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
) -> Any:  # fmt: skip
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
    encoder: Any, suite: Any, batch_size: int
) -> tuple[Any, list[str], Any, list[str]]:
    """``(queries (n_q, d), their languages, candidates (n_c, d), their languages)``, cached."""
    from hybridlib.evaluation.embeddings import embed_suite

    embedded = embed_suite(encoder, suite, batch_size=batch_size)
    return (embedded.queries, [q.language for q in suite.queries],
            embedded.candidates, [c.language for c in suite.candidates])  # fmt: skip


def choose_debias_ranks(
    encoder: Any, *, direction_name: str, ranks: dict[str, Sequence[int]], fit_suite: Any,
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
    settings: Any,
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
    from hybridlib.io import atomic_path
    from hybridlib.models import Encoder

    folder = Path(results_dir) / direction_name
    fit_suite = fit_texts(direction_name, languages=fit_languages, per_language=per_language,
                          validation_fraction=validation_fraction, validation_seed=validation_seed,
                          root=root)  # fmt: skip
    untrained = Encoder.from_pretrained(model)
    settings.apply(untrained)
    selection_file = folder / DEBIAS_SELECTION_FILE
    if selection_file.is_file():
        chosen_ranks = json.loads(selection_file.read_text(encoding="utf-8"))["ranks"]
    else:
        chosen_ranks, table = choose_debias_ranks(
            untrained, direction_name=direction_name, ranks={m: ranks[m] for m in methods if m != "centering"},
            fit_suite=fit_suite, validation_fraction=validation_fraction, validation_seed=validation_seed,
            languages=fit_languages, batch_size=batch_size, root=root,
        )  # fmt: skip
        with atomic_path(folder / DEBIAS_VALIDATION_FILE) as tmp:
            table.to_csv(tmp, index=False)
        atomic_write_json(selection_file, {"ranks": chosen_ranks, "criterion": "map_mean",
                                           "model": model, "direction": direction_name})  # fmt: skip
    chosen = direction(direction_name)
    articles = training_articles(direction_name, validation_fraction, validation_seed, root)
    fit_record = {"fit_suite": chosen.train_suite, "fit_articles": len(articles),
                  "fit_languages": sorted({q.language for q in fit_suite.queries}),
                  "fit_questions": len(fit_suite.queries), "fit_sentences": len(fit_suite.candidates),
                  "per_language": per_language}  # fmt: skip
    # (label, seed, record, the encoder or its folder)
    models: list[tuple[str, int, dict[str, Any], Any]] = [
        ("untrained", 0, baseline_record("untrained", model), untrained)
    ]
    for sampler, alpha in systems:
        label = system_label(sampler, alpha)
        for seed in seeds:
            path = Path(models_dir) / direction_name / f"{label}-s{seed}" / "model"
            models.append(
                (label, seed, trained_record(direction_name, sampler, alpha, seed, model), path)
            )
    for label, seed, record, source in models:
        encoder = Encoder.from_pretrained(str(source)) if isinstance(source, Path) else source
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
