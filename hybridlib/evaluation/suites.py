"""Evaluating a model on the suites: ``load_suite``, ``evaluate_suite`` and ``evaluate``.

Each suite is an entry of the registry :data:`hybridlib.suites.SUITES` (its loader, settings,
measures, whether it is one suite per language and how those are aggregated); this module
reads the entry, never a suite's name.

A suite is evaluated in the settings of its own that the retriever supports
(:mod:`hybridlib.evaluation.retrievers`, :func:`suite_settings`): the BM25 baseline (the model
``"bm25"``) runs the Mono setting only, so it applies to the LAReQA suites, SciFact, TyDi QA
and MIRACL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.data.types import RetrievalSuite
from hybridlib.evaluation.bm25 import DEFAULT_B, DEFAULT_K1
from hybridlib.evaluation.embeddings import CANDIDATE_INPUTS, CandidateInput
from hybridlib.evaluation.lareqa import (
    SettingsResult,
    evaluate_settings,
    language_matrix,
    macro_average,
)
from hybridlib.evaluation.leakage import restrict_articles
from hybridlib.evaluation.retrievers import Retriever, load_retriever
from hybridlib.evaluation.reuse import evaluation_identity
from hybridlib.io import atomic_path, atomic_write_json, provenance
from hybridlib.suites import SuiteSpec, suite_spec


def load_suite(
    name: str,
    *,
    languages: Sequence[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    xm3600_path: str | os.PathLike[str] | None = None,
) -> list[RetrievalSuite]:
    """The suite(s) to evaluate for ``name``: its registry entry's loader (one suite, or one
    per language for a ``per_language`` suite); ``xm3600_path`` is the file a suite outside
    the data folder is read from (XM3600's captions)."""
    langs = list(languages) if languages is not None else None
    return suite_spec(name).load(langs, root, xm3600_path)


def suite_settings(suite_name: str, retriever: Retriever) -> tuple[str, ...]:
    """The settings of suite ``suite_name`` that ``retriever`` runs (possibly none); a
    lexical retriever (BM25) only those where the suite's queries and answers may share words
    (its entry's ``lexical_settings``)."""
    return tuple(
        s for s in suite_spec(suite_name).settings if s in _supported(retriever, suite_name)
    )


def _supported(retriever: Retriever, suite_name: str) -> tuple[str, ...]:
    """The settings ``retriever`` runs on suite ``suite_name``."""
    if not retriever.lexical:
        return tuple(retriever.supported_settings)
    lexical = suite_spec(suite_name).lexical_settings
    return tuple(s for s in retriever.supported_settings if s in lexical)


def _named(settings: Sequence[str]) -> str:
    """``("mono",)`` -> "the Mono setting"; ``("mono", "cross")`` -> "the Mono and Cross settings"."""
    names = [s.capitalize() for s in settings]
    if len(names) == 1:
        return f"the {names[0]} setting"
    return f"the {', '.join(names[:-1])} and {names[-1]} settings"


def _chosen_settings(
    retriever: Retriever, suite_name: str, settings: Sequence[str] | None
) -> tuple[str, ...]:
    """The settings to run: ``settings``, or the suite's that the retriever supports; raises
    when the retriever supports none of them, naming it and the settings."""
    supported = _supported(retriever, suite_name)
    if settings is not None:
        unsupported = [s for s in settings if s not in supported]
        if unsupported:
            raise ValueError(
                f"{retriever.name} runs {_named(supported)} only, but the settings asked for "
                f"include {', '.join(unsupported)}"
            )
        return tuple(settings)
    chosen = suite_settings(suite_name, retriever)
    if not chosen:
        raise ValueError(
            f"{retriever.name} runs {_named(supported)} only, and suite {suite_name!r} has "
            f"none (its settings: {', '.join(suite_spec(suite_name).settings)})"
        )
    return chosen


def check_cross_languages(
    suite_name: str,
    settings: Sequence[str],
    loaded: Sequence[RetrievalSuite],
    languages: Sequence[str] | None,
) -> None:
    """A suite evaluated in the Cross setting only needs two languages in every part: with
    one, there are no cross-lingual pairs and the evaluation would give no result rows.
    Raises ValueError naming the suite, the ``languages`` option and its value."""
    if not settings or any(s != "cross" for s in settings):
        return
    few = [sorted(part.languages) for part in loaded if len(part.languages) < 2]
    if loaded and not few:
        return
    found = few[0] if few else []
    raise ValueError(
        f"suite {suite_name!r}: languages (--language) = "
        f"{list(languages) if languages is not None else None!r} leaves "
        f"{len(found)} language(s) {found} to evaluate, but the suite's only setting, Cross, "
        f"pairs queries and candidates of different languages: give at least 2 languages"
    )


def evaluate_loaded(
    suite: RetrievalSuite,
    spec: SuiteSpec,
    scorer: Any,
    *,
    suite_name: str,
    settings: Sequence[str],
    aggregate: bool = True,
) -> SettingsResult:
    """Evaluate one loaded suite with a scorer in the spec's settings."""
    multi = spec.multi_measures if "multi" in settings else ()
    return evaluate_settings(
        suite,
        scorer,
        settings=settings,
        measures=spec.measures,
        multi_measures=multi,
        suite_name=suite_name,
        aggregate=aggregate,
        cross_pivot=spec.cross_pivot,
    )


SEQUENCE_OPTIONS = (
    "languages",
    "include_articles",
    "exclude_articles",
    "train_articles",
    "training_languages",
)


@dataclass(frozen=True)
class EvaluationOptions:
    """What is evaluated, and where its data and embeddings live: the options of
    :func:`evaluate_suite` and :func:`evaluate` (how the encoder runs, and what a candidate's
    input is, are the :class:`EvaluationSettings` of a comparison).

    ``languages``: restrict each suite to these (None: all of it). ``include_articles``,
    ``exclude_articles``: evaluate only these articles, leave these out. ``train_articles``:
    the articles the model trained on; a suite sharing one is refused, or, a suite with
    ``drop_training_articles``, loses their passages. ``training_languages``: tag Tatoeba
    languages seen or unseen. These five are stored as tuples. ``batch_size``: texts per
    encoder call. ``cache``: the embedding cache folder (None: :func:`cache_dir`). ``root``:
    the data folder (None: ``$HYBRIDLIB_DATA_DIR``). ``xm3600_path``: the XM3600 captions
    file. ``bm25_k1``, ``bm25_b``: the BM25 baseline's parameters.
    """

    languages: Sequence[str] | None = None
    include_articles: Sequence[str] | None = None
    exclude_articles: Sequence[str] | None = None
    train_articles: Sequence[str] | None = None
    training_languages: Sequence[str] | None = None
    batch_size: int = 64
    cache: str | os.PathLike[str] | None = None
    root: str | os.PathLike[str] | None = None
    xm3600_path: str | os.PathLike[str] | None = None
    bm25_k1: float = DEFAULT_K1
    bm25_b: float = DEFAULT_B

    def __post_init__(self) -> None:
        for name in SEQUENCE_OPTIONS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                raise ValueError(
                    f"{name} must be a sequence of names, but got the string {value!r}"
                )
            names = tuple(value)
            wrong = [x for x in names if not isinstance(x, str) or not x]
            if wrong:
                raise ValueError(f"{name} must hold non-empty strings, but got {wrong[0]!r}")
            object.__setattr__(self, name, names)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ValueError(f"batch_size must be an integer, but got {self.batch_size!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, but got {self.batch_size}")
        if not self.bm25_k1 >= 0:
            raise ValueError(f"bm25_k1 must be >= 0, but got {self.bm25_k1!r}")
        if not 0 <= self.bm25_b <= 1:
            raise ValueError(f"bm25_b must be in [0, 1], but got {self.bm25_b!r}")

    def record(self, *, bm25: bool) -> dict[str, Any]:
        """The provenance entries: the five sequences (lists), ``batch_size``, and ``bm25``
        (``{"k1", "b"}`` when the retriever reads them, the BM25 baseline, else None). ``cache``, ``root``
        and ``xm3600_path`` say where files are, not what was evaluated: not recorded."""
        sequences = {name: getattr(self, name) for name in SEQUENCE_OPTIONS}
        return {
            **{name: None if value is None else list(value) for name, value in sequences.items()},
            "batch_size": self.batch_size,
            "bm25": {"k1": self.bm25_k1, "b": self.bm25_b} if bm25 else None,
        }


@dataclass(frozen=True)
class EvaluationSettings:
    """How every system of a comparison is evaluated: the same for all of them.

    ``max_length``: tokens read per text; None is the encoder's full length (its position
    table), never the length a model was trained with. ``precision``: the forward pass's
    arithmetic. ``top_layers``: run the encoder as a frozen bottom plus its top layers, the
    bottom's states served by the hidden-state cache (for a model trained that way it is its
    own; for the untrained encoder it fills the cache, and gives its own embeddings up to the
    cache's float16 rounding); None: the plain forward pass. ``candidate_input``: see
    :mod:`hybridlib.evaluation.embeddings`.
    """

    max_length: int | None = None
    precision: str = "float32"
    top_layers: int | None = None
    candidate_input: CandidateInput = "sentence"
    # the texts put before questions and candidates (the paper's "Query: " / "Passage: "),
    # those the models were trained with; None keeps each encoder's own
    query_prefix: str | None = None
    passage_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.max_length is not None and not (
            isinstance(self.max_length, int) and self.max_length >= 2
        ):
            raise ValueError(f"max_length (--max-length) = {self.max_length!r} must be >= 2")
        if self.candidate_input not in CANDIDATE_INPUTS:
            raise ValueError(
                f"candidate_input must be one of {CANDIDATE_INPUTS}, "
                f"but got {self.candidate_input!r}"
            )

    def apply(self, encoder: Any) -> dict[str, Any]:
        """Set these on ``encoder`` (an ``Encoder``); returns the record."""
        from hybridlib.models import use_hidden_state_cache
        from hybridlib.models.settings import position_limit

        limit = position_limit(encoder.transformer.config)
        if self.max_length is not None and limit is not None and self.max_length > limit:
            raise ValueError(
                f"max_length (--max-length) = {self.max_length} is above the position limit "
                f"{limit} of model {encoder.name!r}: its position table admits {limit} tokens"
            )
        encoder.settings.max_length = int(self.max_length or limit or encoder.max_length)
        encoder.settings.precision = self.precision
        if self.query_prefix is not None:
            encoder.settings.query_prefix = self.query_prefix
        if self.passage_prefix is not None:
            encoder.settings.passage_prefix = self.passage_prefix
        if self.top_layers is not None:
            if encoder.top_layers not in (None, self.top_layers):
                raise ValueError(
                    f"model {encoder.name!r} was trained with its top {encoder.top_layers} layers, "
                    f"but the evaluation settings say top_layers={self.top_layers}"
                )
            if encoder.top_layers is None:
                encoder.freeze_bottom(self.top_layers)
            cache = encoder.hidden_cache  # kept while it fits (opening one verifies every shard)
            if cache is None or cache.record["precision"] != self.precision:
                use_hidden_state_cache(encoder)
        return {
            "max_length": encoder.settings.max_length,
            "precision": self.precision,
            "top_layers": self.top_layers,
            "candidate_input": self.candidate_input,
            "query_prefix": encoder.settings.query_prefix,
            "passage_prefix": encoder.settings.passage_prefix,
        }


def evaluate_suite(
    model: Any,
    suite_name: str,
    *,
    options: EvaluationOptions | None = None,
    evaluation_settings: EvaluationSettings | None = None,
    settings: Sequence[str] | None = None,
    suites: Sequence[RetrievalSuite] | None = None,
    postprocess: Any = None,
) -> SettingsResult:
    """Evaluate ``model`` (a :class:`~hybridlib.evaluation.retrievers.Retriever`, an
    ``Encoder``, a name or folder, or ``"bm25"``: :func:`load_retriever`) on one named suite.

    The article restriction and the leakage check come first (for every part of the suite);
    embeddings are then computed (or read from the cache) for the restricted suite only, so a
    fold costs what it holds.
    ``options``: what is evaluated (default: ``EvaluationOptions()``). ``evaluation_settings``:
    its ``candidate_input`` is read here; its encoder fields are set by :func:`evaluate`
    (:meth:`Retriever.configure`). ``settings``: the settings to run (default: the suite's
    that the retriever supports; one it does not support is refused). ``suites`` may pass
    already-loaded suites instead of loading ``suite_name``. ``postprocess`` (a fitted
    :class:`~hybridlib.evaluation.debias.SuiteDebiasing`) transforms the (cached, raw)
    embeddings of each side before scoring, for a retriever it applies to.
    """
    spec = suite_spec(suite_name)
    retriever = load_retriever(model)
    options = options or EvaluationOptions()
    train_articles = retriever.training_articles(options.train_articles)
    candidate_input = (evaluation_settings or EvaluationSettings()).candidate_input
    chosen = _chosen_settings(retriever, suite_name, settings)
    if postprocess is not None and not retriever.postprocessing:
        raise ValueError(f"a post-processing of embeddings does not apply to {retriever.name}")
    loaded = (
        list(suites)
        if suites is not None
        else load_suite(
            suite_name,
            languages=options.languages,
            root=options.root,
            xm3600_path=options.xm3600_path,
        )
    )
    check_cross_languages(suite_name, chosen, loaded, options.languages)
    restricted = [
        restrict_articles(
            full,
            include=options.include_articles,
            exclude=options.exclude_articles,
            train_articles=train_articles,
            drop_training_articles=spec.drop_training_articles,
        )
        for full in loaded
    ]
    scorers = retriever.scorers(
        restricted, options=options, candidate_input=candidate_input, postprocess=postprocess
    )
    parts = [
        evaluate_loaded(
            suite,
            spec,
            scorer,
            suite_name=suite_name,
            settings=chosen,
            aggregate=not spec.per_language,
        )
        for suite, scorer in zip(restricted, scorers)
    ]
    result = SettingsResult.concat(parts)
    if spec.per_language:
        aggregate = spec.aggregate or append_macro_average
        result.results = aggregate(result.results, options.training_languages)
    return result


def append_macro_average(
    results: pd.DataFrame, training_languages: Iterable[str] | None = None
) -> pd.DataFrame:
    """A per-language suite's rows plus their macro average over languages
    (:func:`~hybridlib.evaluation.lareqa.macro_average`); no rows, none added. The default
    ``aggregate`` of a registry entry (``training_languages`` unused)."""
    if results.empty:
        return results
    return pd.concat([results, macro_average(results)], ignore_index=True)


def evaluate(
    model: Any,
    suites: Sequence[str],
    output_dir: str | os.PathLike[str],
    *,
    options: EvaluationOptions | None = None,
    settings: EvaluationSettings | None = None,
    postprocess: Any = None,
    log: Callable[[str], None] | None = print,
) -> SettingsResult:
    """Evaluate ``model`` (as in :func:`evaluate_suite`) on ``suites``; write results,
    per-query values and provenance.

    ``output_dir`` receives (each file written atomically)::

        results.csv          # tidy: suite, setting, query_language, candidate_language,
                             #       metric, value, n (+ seen for Tatoeba)
        per_query.csv.gz     # suite, setting, query_language, candidate_language,
                             #       query_id, metric, value
        matrix-<suite>-map.csv   # language x language mAP (Mono diagonal, Cross off it)
        provenance.json      # model fingerprint, parameters, timings, packages, code version

    ``options``: what is evaluated (default: ``EvaluationOptions()``); ``settings``: how the
    encoder runs (default: ``EvaluationSettings()``; a retriever without an encoder, BM25,
    takes none and records its candidate input and name). The language matrix is written for
    suites with a Cross setting the retriever runs. ``postprocess``: a fitted
    :class:`~hybridlib.evaluation.debias.SuiteDebiasing` applied to every suite's embeddings
    before scoring (its record goes into the provenance).
    """
    retriever = load_retriever(model)
    options = options or EvaluationOptions()
    # the guard's articles, as recorded in the provenance: given ones and the model's own
    options = replace(options, train_articles=retriever.training_articles(options.train_articles))
    evaluation_settings = settings or EvaluationSettings()
    evaluation_record = retriever.configure(evaluation_settings)
    # load every suite first: a bad name, language or file fails before any encoding
    loaded_suites = {
        name: load_suite(
            name, languages=options.languages, root=options.root, xm3600_path=options.xm3600_path
        )
        for name in suites
    }
    for name, loaded in loaded_suites.items():  # before any encoding
        check_cross_languages(name, suite_settings(name, retriever), loaded, options.languages)
    parts, timings = [], {}
    for name, loaded in loaded_suites.items():
        start = time.perf_counter()
        part = evaluate_suite(
            retriever, name, options=options, evaluation_settings=evaluation_settings,
            suites=loaded, postprocess=postprocess,
        )  # fmt: skip
        timings[name] = round(time.perf_counter() - start, 3)
        if log is not None:
            log(f"{name}: {len(part.results)} result rows in {timings[name]:.1f} s")
        parts.append(part)
    result = SettingsResult.concat(parts)

    output = Path(output_dir)
    # the provenance, written last, marks a complete evaluation: an older one goes first, and a
    # failure (a full disk, a kill by SIGTERM) removes what this call wrote, so results and a
    # provenance of two evaluations never stand together
    written = [output / name for name in ("provenance.json", "results.csv", "per_query.csv.gz")]
    written += [output / f"matrix-{name}-map.csv" for name in suites]
    written[0].unlink(missing_ok=True)
    try:
        _write_tables(result, suites, retriever, output)
        record = _provenance_record(
            model, retriever, options, evaluation_settings, evaluation_record, postprocess,
            suites, result, loaded_suites,
        )  # fmt: skip
        record["timings_s"] = timings
        atomic_write_json(output / "provenance.json", record)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return result


def _data_files(
    loaded_suites: Mapping[str, Sequence[RetrievalSuite]],
) -> dict[str, str | os.PathLike[str]]:
    """The data files the loaded suites were read from, by path (hashed in the provenance)."""
    return {
        str(path): path
        for loaded in loaded_suites.values()
        for suite in loaded
        for path in suite.metadata.get("files", []) or []
    }


def _provenance_record(
    model: Any,
    retriever: Retriever,
    options: EvaluationOptions,
    evaluation_settings: EvaluationSettings,
    evaluation_record: dict[str, Any],
    postprocess: Any,
    suites: Sequence[str],
    result: SettingsResult,
    loaded_suites: dict[str, list[RetrievalSuite]],
) -> dict[str, Any]:
    """The provenance of an evaluation: what its results depend on
    (:func:`~hybridlib.evaluation.reuse.evaluation_identity`), the model's own record, the
    suites, the hidden-state cache and the data files' hashes (``timings_s`` is added after)."""
    identity = evaluation_identity(
        retriever, options, candidate_input=evaluation_settings.candidate_input,
        evaluation_record=evaluation_record, postprocess=postprocess,
    )  # fmt: skip
    name = (
        str(model)
        if isinstance(model, (str, os.PathLike))
        else identity["model_fingerprint"]["model"]
    )
    cache = retriever.hidden_cache
    return provenance(
        {
            "model": name,
            **identity,
            "model_metadata": retriever.metadata,
            "suites": list(suites),
            "hidden_state_cache": cache.info() if cache is not None else None,
            "n_result_rows": len(result.results),
            "n_per_query_rows": len(result.per_query),
        },
        data_files=_data_files(loaded_suites),
    )


def _write_tables(
    result: SettingsResult, suites: Sequence[str], retriever: Retriever, output: Path
) -> None:
    """``results.csv``, ``per_query.csv.gz`` and, for each suite with a Cross setting the
    retriever runs, its language x language mAP matrix, into ``output`` (created)."""
    output.mkdir(parents=True, exist_ok=True)
    with atomic_path(output / "results.csv") as tmp:
        result.results.to_csv(tmp, index=False)
    with atomic_path(output / "per_query.csv.gz") as tmp:
        result.per_query.to_csv(tmp, index=False, compression="gzip")
    for name in suites:
        if "cross" in suite_settings(name, retriever):
            matrix = language_matrix(result.results, metric="map", suite=name)
            with atomic_path(output / f"matrix-{name}-map.csv") as tmp:
                matrix.to_csv(tmp)
