"""Rank distance: the language bias of a multilingual ranking (the paper's measure).

In the pooled (Multi) setting every query has ``R`` relevant candidates, the parallel answer
sentences in ``R`` languages. A retriever without language bias ranks them together; one that
prefers the query's language pulls some forward and leaves others far behind.

For query ``i`` with relevant ranks ``r_1 < ... < r_R`` in a pool of ``N`` candidates:

    d_i = r_R - r_1                                     (rank distance; lower is better)

    E_random[d] = (R - 1) (N + 1) / (R + 1)             (expected d when the R relevant sit
                                                         at R uniformly random ranks of N)
    d_norm_i = d_i / E_random[d]                        (normalised rank distance)

``E_random`` follows from the order statistics of ``R`` draws without replacement from
``1..N``: ``E[r_1] = (N + 1)/(R + 1)`` and ``E[r_R] = R (N + 1)/(R + 1)``. ``d_norm`` is 0 for
no spread, about 1 for a ranking that places the relevant set at random, and can exceed 1
(up to ``(N - 1)(R + 1)/((R - 1)(N + 1))``, relevant at both ends). Dividing by
``E_random`` rather than by ``N - 1`` also corrects for ``R``, which varies per query on
MLQA-R (2 to 4 parallel answers), so values compare across pool sizes *and* relevant-set
sizes. Its minimum is ``(R - 1)/E_random = (R + 1)/(N + 1)``, negligible on real pools.

Queries with fewer than 2 relevant candidates have no distance (NaN, excluded and counted).
Aggregate (the paper's): mean over the queries of each query language, then the mean over
query languages; the same for ``d_norm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hybridlib.metrics.ranking import RelevantRanks, relevant_ranks


@dataclass(frozen=True)
class RankDistance:
    """Rank distance per query, per query language and overall.

    per_query, normalised_per_query: ``(n_queries,)`` float64, NaN where a query has fewer
    than 2 relevant candidates. per_language, normalised_per_language: mean per query
    language (key ``"all"`` when no languages were given). mean, normalised_mean: mean of
    the per-language means. n: scored queries; n_excluded: queries with < 2 relevant.
    """

    per_query: np.ndarray
    normalised_per_query: np.ndarray
    per_language: dict[str, float]
    normalised_per_language: dict[str, float]
    mean: float
    normalised_mean: float
    n: int
    n_excluded: int


def expected_random_rank_distance(n_relevant, pool_size) -> np.ndarray:
    """``E_random[d] = (R - 1)(N + 1)/(R + 1)``: mean max-min rank of R random ranks of N."""
    r = np.asarray(n_relevant, dtype=np.float64)
    n = np.asarray(pool_size, dtype=np.float64)
    return (r - 1.0) * (n + 1.0) / (r + 1.0)


def rank_distance_from_ranks(
    ranked: RelevantRanks, query_languages: Sequence[str] | None = None
) -> RankDistance:
    """Rank distance from precomputed relevant ranks (rank once, derive every measure)."""
    r = ranked.ranks  # (n_queries, width), ascending, inf padding
    n_rel = ranked.n_relevant  # (n_queries,)
    if np.isinf(r[np.arange(r.shape[1])[None, :] < n_rel[:, None]]).any():
        raise ValueError("rank distance needs every relevant candidate ranked, but some are not")
    scored = n_rel >= 2
    if r.shape[1] == 0:  # no query has a relevant candidate
        r = np.zeros((ranked.n_queries, 1))
    first = r[:, 0]  # (n_queries,)
    last = np.take_along_axis(r, np.maximum(n_rel - 1, 0)[:, None], axis=1)[:, 0]  # (n_queries,)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_query = np.where(scored, last - first, np.nan)  # (n_queries,)
        normalised = per_query / expected_random_rank_distance(n_rel, ranked.pool_size)
    if query_languages is None:
        languages = np.array(["all"] * ranked.n_queries, dtype=object)
    else:
        languages = np.asarray(list(query_languages), dtype=object)
        if languages.shape != (ranked.n_queries,):
            raise ValueError(
                f"query_languages has {languages.size} entries, but there are "
                f"{ranked.n_queries} queries"
            )
    per_language: dict[str, float] = {}
    normalised_per_language: dict[str, float] = {}
    for lang in sorted(set(languages.tolist())):
        mask = (languages == lang) & scored
        if mask.any():
            per_language[lang] = float(per_query[mask].mean())
            normalised_per_language[lang] = float(normalised[mask].mean())
    nan = float("nan")
    return RankDistance(
        per_query=per_query,
        normalised_per_query=normalised,
        per_language=per_language,
        normalised_per_language=normalised_per_language,
        mean=float(np.mean(list(per_language.values()))) if per_language else nan,
        normalised_mean=(
            float(np.mean(list(normalised_per_language.values()))) if per_language else nan
        ),
        n=int(scored.sum()),
        n_excluded=int((~scored).sum()),
    )


def rank_distance(
    scores: np.ndarray,
    relevance,
    query_languages: Sequence[str] | None = None,
    candidate_ids: Sequence[str] | None = None,
    *,
    tie_keys: np.ndarray | None = None,
) -> RankDistance:
    """Rank distance of each query's relevant (parallel) candidates in one pooled ranking.

    scores, relevance: ``(n_queries, n_candidates)``; query_languages: ``(n_queries,)``
    language codes for the per-language mean (none: one group ``"all"``). Ranks use the
    module-wide tie rule (:mod:`hybridlib.metrics.ranking`). Formulas in the module docstring.
    """
    ranked = relevant_ranks(scores, relevance, candidate_ids, tie_keys=tie_keys)
    return rank_distance_from_ranks(ranked, query_languages)


def language_variance_share(embeddings: np.ndarray, languages: Sequence[str]) -> float:
    """The share of the embeddings' variance that lies between the languages' means.

    For rows ``x_i`` ``(n, d)`` in languages ``l(i)``, with ``mu`` the mean of all rows and
    ``mu_l`` that of language ``l``'s (``n_l`` rows)::

        share = sum_l n_l ||mu_l - mu||^2 / sum_i ||x_i - mu||^2

    the between-language sum of squares over the total (an analysis of variance summed over
    dimensions): 0 when every language has the same mean, 1 when each language's rows are
    one point. A large share is a direction that says the language, not the meaning: it
    pulls a query towards candidates of its own language in a pooled ranking.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(languages):
        raise ValueError(
            f"embeddings must be (n, d) with one language per row, got shape {x.shape} "
            f"and {len(languages)} languages"
        )
    if x.shape[0] < 2:
        raise ValueError(f"the share needs at least 2 rows, got {x.shape[0]}")
    centred = x - x.mean(axis=0)
    total = float((centred**2).sum())
    if total == 0.0:
        return 0.0
    codes, inverse = np.unique(np.asarray(languages), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(codes)).astype(np.float64)
    sums = np.zeros((len(codes), x.shape[1]))
    np.add.at(sums, inverse, centred)
    between = float(((sums**2).sum(axis=1) / counts).sum())  # sum_l n_l ||mu_l - mu||^2
    return between / total
