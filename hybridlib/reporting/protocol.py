"""The experiment's protocol, as functions the notebooks call (no logic in notebooks).

Cross-fitting by article: XQuAD-R's articles are split into ``n_folds`` folds
(:func:`hybridlib.data.article_folds`); a model trained on fold ``f`` is evaluated on the
articles of every other fold, and pooling the folds' per-query values covers every article
with a model that never saw it. Suites that no model trains on (MLQA-R, the domain-shift
suites) are evaluated once per (sampler, seed), by the models of ``heldout_folds``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

CROSS_FITTED = "xquad-r"
CROSS_ONLY = ("multi30k", "xm3600", "tatoeba")  # suites with no Mono setting


@functools.lru_cache(maxsize=8)
def suite_articles(suite: str, root: str | None = None) -> tuple[str, ...]:
    """Sorted article titles of a LAReQA suite.

    Read from the English files: every XQuAD-R and MLQA-R question has its English version,
    so English holds every article (and parsing one language is ten times faster).
    """
    from hybridlib.data import load_lareqa

    loaded = load_lareqa(suite, languages=["en"], root=root)
    return tuple(sorted({c.article for c in loaded.candidates if c.article}))


def fold_articles(fold: int, n_folds: int, fold_seed: int = 0, root: str | None = None) -> list[str]:
    """The XQuAD-R articles a model of fold ``fold`` trains on."""
    from hybridlib.data import article_folds

    folds = article_folds(list(suite_articles(CROSS_FITTED, root)), n_folds=n_folds, seed=fold_seed)
    return sorted(folds[fold])


def held_out_articles(fold: int, n_folds: int, fold_seed: int = 0, max_articles: int = 0,
                      root: str | None = None) -> list[str]:
    """XQuAD-R articles evaluated for a model of ``fold`` (``fold < 0``: untrained, all).

    ``max_articles > 0`` keeps that many (a fixed, sorted-order subset of each fold, so the
    union over folds is the same whichever fold is evaluated first).
    """
    from hybridlib.data import article_folds

    folds = article_folds(list(suite_articles(CROSS_FITTED, root)), n_folds=n_folds, seed=fold_seed)
    if not -1 <= fold < n_folds:
        raise ValueError(f"fold must be in [-1, n_folds = {n_folds}), but got {fold}")
    return sorted(
        article
        for f, fold_list in enumerate(folds)
        if f != fold  # fold < 0 keeps every fold
        for article in sorted(fold_list)[: max_articles or None]
    )


@dataclasses.dataclass(frozen=True)
class SuiteRun:
    """One call of :func:`hybridlib.evaluation.evaluate` for one suite."""

    suite: str
    kwargs: dict[str, Any]


def evaluation_runs(
    *,
    method: str,
    fold: int,
    n_folds: int,
    fold_seed: int,
    suite_languages: dict[str, Sequence[str] | None],
    max_articles: dict[str, int],
    heldout_folds: Sequence[int],
    seed: int = -1,
    heldout_seeds: Sequence[int] | None = None,
    alpha: float = -1.0,
    domain_shift_alphas: Sequence[float] | None = None,
    training_languages: Sequence[str],
    root: str | None = None,
) -> list[SuiteRun]:
    """The suites one model is evaluated on, with their arguments.

    ``suite_languages`` lists the suites (``None``: every language of the suite);
    ``max_articles[suite]`` limits LAReQA suites to that many articles (per fold for XQuAD-R;
    0: all). XQuAD-R is always cross-fitted; other suites run only for the folds in
    ``heldout_folds`` and for the baselines (``fold < 0``); the domain-shift suites (not
    MLQA-R, the paper's Table 2, which gets every seed) also only for the seeds in
    ``heldout_seeds`` and the alphas in ``domain_shift_alphas`` (e.g. the main comparison's
    0, 0.5 and 1, leaving out the ablation-only alphas), where given. BM25 runs only where lexical
    matching is meaningful (its Mono settings), which :mod:`hybridlib.evaluation` decides.
    """
    runs = []
    for suite, languages in suite_languages.items():
        if method == "bm25" and suite in CROSS_ONLY:
            continue  # lexical matching across languages is meaningless
        kwargs: dict[str, Any] = {"languages": list(languages) if languages else None}
        if suite == CROSS_FITTED:
            kwargs["include_articles"] = held_out_articles(
                fold, n_folds, fold_seed, max_articles.get(suite, 0), root)
            if fold >= 0:
                kwargs["train_articles"] = fold_articles(fold, n_folds, fold_seed, root)
        elif fold >= 0 and (fold not in heldout_folds
                            or (suite != "mlqa-r" and heldout_seeds is not None
                                and seed not in heldout_seeds)
                            or (suite != "mlqa-r" and domain_shift_alphas is not None
                                and alpha not in domain_shift_alphas)):
            continue  # MLQA-R (the paper's Table 2) runs for every seed and alpha of a held-out fold
        elif suite == "mlqa-r" and max_articles.get(suite, 0):
            kwargs["include_articles"] = list(suite_articles(suite, root)[: max_articles[suite]])
        if suite == "tatoeba":
            kwargs["training_languages"] = list(training_languages)
        runs.append(SuiteRun(suite, kwargs))
    return runs


def model_to_evaluate(method: str, model: str, model_dir: str) -> str:
    """What :func:`hybridlib.evaluation.evaluate` loads: a trained model's folder, the
    untrained encoder's name, or ``"bm25"``."""
    if method == "trained":
        return f"{model_dir}/model"
    if method == "untrained":
        return model
    if method == "bm25":
        return "bm25"
    raise ValueError(f"method must be 'trained', 'untrained' or 'bm25', but got {method!r}")
