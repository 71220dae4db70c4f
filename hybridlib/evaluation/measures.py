"""The one call from evaluation into :mod:`hybridlib.metrics`: scores + relevance -> values.

Ranks come from :func:`hybridlib.metrics.ranking.relevant_ranks` (trec_eval's tie rule: equal
scores ordered by candidate id, descending), computed once per score block; every measure,
rank distance included, is derived from those ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybridlib.metrics.language_bias import rank_distance_from_ranks
from hybridlib.metrics.measures import measures_from_ranks
from hybridlib.metrics.ranking import relevant_ranks

RANK_DISTANCE = "rank_distance"
RANK_DISTANCE_NORM = "rank_distance_norm"


def per_query_measures(
    scores: np.ndarray,
    relevance: np.ndarray,
    measures: Sequence[str],
    *,
    candidate_ids: Sequence[str] | None = None,
    tie_keys: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``{measure: (n_queries,) float64}`` for a full score matrix; NaN where undefined.

    scores, relevance: ``(n_queries, n_candidates)``. Measures are the names of
    :mod:`hybridlib.metrics.measures` (``map``, ``recall@10``, ``ndcg@10``, ``mrr@10``...) and
    ``rank_distance`` / ``rank_distance_norm`` (:mod:`hybridlib.metrics.language_bias`;
    NaN for queries with fewer than 2 relevant candidates). Ties: give ``candidate_ids`` or
    precomputed ``tie_keys`` (:func:`hybridlib.metrics.ranking.relevant_ranks`).
    """
    ranked = relevant_ranks(scores, relevance, candidate_ids, tie_keys=tie_keys)
    bias = [m for m in measures if m in (RANK_DISTANCE, RANK_DISTANCE_NORM)]
    values = measures_from_ranks(ranked, [m for m in measures if m not in bias])
    if bias:
        distance = rank_distance_from_ranks(ranked)
        values[RANK_DISTANCE] = distance.per_query
        values[RANK_DISTANCE_NORM] = distance.normalised_per_query
    return {m: values[m] for m in measures}
