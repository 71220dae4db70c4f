"""Leakage guard: evaluate only on articles a model did not train on.

LAReQA suites share articles across languages (a question and its translations come from
the same article), so a model trained on some articles of XQuAD-R must be evaluated on the
others. Evaluation takes the articles to include or exclude, and refuses a suite that still
overlaps the training articles: those it is told about, and those the model itself records
(the trainer writes them into the saved encoder's settings, :func:`record_training`, so a
model carried to another folder or machine keeps them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hybridlib.data.lareqa import normalise_title
from hybridlib.data.types import RetrievalSuite

SHOWN = 5  # overlapping articles named in the error message
TRAINING_RECORD = "training"  # the key of an encoder's settings.metadata the trainer writes


def record_training(
    encoder: Any,
    articles: Iterable[str],
    languages: Iterable[str],
    run: dict[str, Any] | None = None,
) -> None:
    """Record in ``encoder.settings.metadata`` the articles and languages it trained on, added
    to those of an earlier training it records (a fine-tuned model fine-tuned again), and
    ``run``, who the last training made it (``{"system": "Hybrid(0.50)", "seed": 0}``: what
    a run record of this model is checked against)."""
    metadata = encoder.settings.metadata
    earlier = metadata.get(TRAINING_RECORD, {})
    metadata[TRAINING_RECORD] = {
        "articles": sorted({*earlier.get("articles", []), *articles}),
        "languages": sorted({*earlier.get("languages", []), *languages}),
        **({"run": dict(run)} if run is not None else {}),
    }


def recorded_training_articles(encoder: Any) -> list[str]:
    """The articles ``encoder`` records having trained on (none for a model not trained here,
    for BM25 and for encoders without settings)."""
    metadata = getattr(getattr(encoder, "settings", None), "metadata", None) or {}
    return list(metadata.get(TRAINING_RECORD, {}).get("articles", []))


def training_articles_of(encoder: Any, given: Sequence[str] | None) -> tuple[str, ...] | None:
    """The articles the leakage guard holds ``encoder`` to: ``given`` (in its order), then the
    ones the model records that ``given`` lacks; None when there are neither."""
    recorded = recorded_training_articles(encoder)
    if given is None and not recorded:
        return None
    listed = list(given or [])
    known = set(listed)
    return tuple(listed + [a for a in recorded if a not in known])


class LeakageError(ValueError):
    """An evaluation suite shares articles with the training set."""


def suite_articles(suite: RetrievalSuite) -> set[str]:
    """Articles of the suite's queries and candidates (``None`` articles are ignored)."""
    return {q.article for q in suite.queries if q.article is not None} | {
        c.article for c in suite.candidates if c.article is not None
    }


def training_overlap(train_articles: Iterable[str], suite: RetrievalSuite) -> list[str]:
    """The suite's articles that are training articles (sorted), titles compared as
    :func:`~hybridlib.data.lareqa.normalise_title` writes them, so an XQuAD article
    (``Prime_number``) is found in MLQA-R (``Prime number``) too."""
    train = {normalise_title(a) for a in train_articles}
    return sorted(a for a in suite_articles(suite) if normalise_title(a) in train)


def check_no_overlap(train_articles: Iterable[str], eval_suite: RetrievalSuite) -> None:
    """Raise :class:`LeakageError` if any training article occurs in ``eval_suite``
    (:func:`training_overlap`)."""
    overlap = training_overlap(train_articles, eval_suite)
    if overlap:
        shown = ", ".join(repr(a) for a in overlap[:SHOWN])
        more = f" and {len(overlap) - SHOWN} more" if len(overlap) > SHOWN else ""
        raise LeakageError(
            f"evaluation suite {eval_suite.name!r} shares {len(overlap)} article(s) with the "
            f"training set: {shown}{more}; exclude them (exclude_articles=...) or evaluate "
            "on another fold"
        )


def read_articles(path: str | os.PathLike[str]) -> list[str]:
    """Article ids from a text file, one per line (blank lines and ``#`` comments ignored)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise FileNotFoundError(f"cannot read the article list {path}: {error}") from error
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def restrict_articles(
    suite: RetrievalSuite,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    train_articles: Iterable[str] | None = None,
    drop_training_articles: bool = False,
) -> RetrievalSuite:
    """``suite`` restricted to ``include`` minus ``exclude``, then checked against training.

    ``train_articles``: the articles the model trained on (:func:`check_no_overlap`).
    ``drop_training_articles``: remove the training articles' texts from the suite first
    (for pools that are a whole Wikipedia, such as MIRACL's, which hold every article trained
    on); their names go into ``metadata["dropped_training_articles"]``.

    Article ids in ``include`` that the suite does not contain are an error (a typo would
    otherwise silently shrink the evaluation); ``exclude`` may name articles of other suites
    (e.g. a whole training set).
    """
    include = list(include) if include is not None else None
    exclude = list(exclude) if exclude is not None else None
    if include is not None:
        unknown = sorted(set(include) - suite_articles(suite))
        if unknown:
            shown = ", ".join(repr(a) for a in unknown[:SHOWN])
            raise ValueError(
                f"include: {len(unknown)} article(s) not in suite {suite.name!r}: {shown}"
            )
    if include is not None or exclude is not None:
        suite = suite.subset(articles=include, exclude_articles=exclude)
    if train_articles is not None:
        train_articles = list(train_articles)
        if drop_training_articles:
            dropped = training_overlap(train_articles, suite)
            if dropped:
                suite = suite.subset(exclude_articles=dropped)
                suite.metadata["dropped_training_articles"] = dropped
        check_no_overlap(train_articles, suite)
    return suite
