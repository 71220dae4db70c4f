"""How much of a model's embedding says the language: the share of variance between the
languages' means (:func:`hybridlib.metrics.language_bias.language_variance_share`), per
system, seed and side of a test suite.

The embeddings are the evaluation's own: :func:`~hybridlib.evaluation.embeddings.embed_suite`
with the same settings reads them from its cache (a model whose evaluation did not cache
them is encoded again, with the same result).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from hybridlib.run_records import RUN_RECORD

if TYPE_CHECKING:
    from hybridlib.evaluation.suites import EvaluationSettings


def language_variance_shares(
    models: Mapping[str, Sequence[tuple[int | None, str]]],
    suite: str,
    settings: EvaluationSettings,
    *,
    languages: Sequence[str] | None = None,
    batch_size: int = 64,
    root: str | None = None,
) -> pd.DataFrame:
    """One row per system, seed and side (``queries``, ``candidates``) of ``suite`` (in
    ``languages``; default all): ``share``, the variance between the languages' means over
    the total. ``models``: ``{system: [(seed or None, model name or folder), ...]}``, each
    evaluated under ``settings`` as the suite's evaluation ran it. A suite of several parts
    (one per language pair) is refused: its sides are not one pool."""
    from hybridlib.evaluation.embeddings import embed_suite
    from hybridlib.evaluation.retrievers import DenseRetriever, load_retriever
    from hybridlib.evaluation.suites import load_suite
    from hybridlib.metrics.language_bias import language_variance_share

    parts = load_suite(suite, languages=languages, root=root)
    if len(parts) != 1:
        raise ValueError(f"suite {suite!r} has {len(parts)} parts; the share needs one pool")
    (loaded,) = parts
    rows = []
    for system, entries in models.items():
        for seed, model in entries:
            retriever = load_retriever(model)
            if not isinstance(retriever, DenseRetriever):
                raise ValueError(f"{system}: {model!r} is not an encoder (no embeddings)")
            retriever.configure(settings)
            embedded = embed_suite(
                retriever.encoder, loaded, candidate_input=settings.candidate_input,
                batch_size=batch_size, show_progress=False,
            )  # fmt: skip
            for side, vectors, items in (
                ("queries", embedded.queries, loaded.queries),
                ("candidates", embedded.candidates, loaded.candidates),
            ):
                share = language_variance_share(vectors, [item.language for item in items])
                rows.append({"system": system, "seed": seed, "side": side, "share": share})
    return pd.DataFrame(rows, columns=["system", "seed", "side", "share"])


def study_variance_shares(
    runs: pd.DataFrame, runs_dir: str, direction: str, suite: str, systems: Sequence[str],
    *, languages: Sequence[str] | None = None, untrained: str | None = "untrained",
    batch_size: int = 64, root: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """:func:`language_variance_shares` of a study's models on ``suite``: every seed of each
    of ``systems`` trained in ``direction`` (their folders ``runs_dir/models/<direction>/
    <run>/model``) and the ``untrained`` baseline, each with the settings its evaluation of
    ``suite`` recorded (``runs``: :attr:`hybridlib.reporting.Study.runs`), in the
    ``languages`` evaluated (default all); the evaluations must agree on their settings (the
    like-for-like rule), else ValueError."""
    from pathlib import Path

    from hybridlib.evaluation.suites import EvaluationSettings

    rows = runs[(runs["suite"] == suite) & (
        (runs["direction"] == direction) & runs["system"].isin(list(systems))
        | (runs["system"] == untrained)
    )]  # fmt: skip
    fields = ["max_length", "precision", "top_layers", "candidate_input", "query_prefix",
              "passage_prefix"]  # fmt: skip
    distinct = rows[fields].astype(str).drop_duplicates()
    if len(distinct) != 1:
        raise ValueError(
            f"the evaluations of {suite!r} differ in their settings, so their embeddings are not "
            f"comparable: {distinct.to_dict('records')}"
        )
    first = rows.iloc[0]
    settings = EvaluationSettings(
        max_length=int(first["max_length"]), precision=str(first["precision"]),
        top_layers=None if pd.isna(first["top_layers"]) else int(first["top_layers"]),
        candidate_input=first["candidate_input"], query_prefix=first["query_prefix"],
        passage_prefix=first["passage_prefix"],
    )  # fmt: skip
    models: dict[str, list[tuple[int | None, str]]] = {}
    for row in rows.itertuples():
        run_name = Path(str(row.run)).name
        if row.system == untrained:
            record = json.loads((Path(str(row.run)) / RUN_RECORD).read_text(encoding="utf-8"))
            models.setdefault(str(row.system), []).append((None, str(record["model"])))
        else:
            folder = Path(runs_dir) / "models" / direction / run_name / "model"
            models.setdefault(str(row.system), []).append((int(row.seed), str(folder)))
    ordered = {name: models[name] for name in [untrained, *systems] if name in models}
    return language_variance_shares(
        ordered, suite, settings, languages=languages, batch_size=batch_size, root=root
    )
