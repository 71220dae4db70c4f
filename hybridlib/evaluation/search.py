"""Exact inner-product search: full score matrices, and top-k by matrix product or faiss.

Embeddings are L2-normalised, so the inner product is the cosine.

Where each is used:

* **Full score matrices** (:func:`score_matrix`, :func:`iter_score_blocks`) for every
  evaluation in :mod:`hybridlib.evaluation.lareqa` / :mod:`~hybridlib.evaluation.suites`:
  AP and rank distance need the rank of *every* relevant candidate, and every pool here is
  small (at most 20,534 candidates, MLQA-R Multi; SciFact 5,183). Scores are computed per
  block of queries, so memory stays at ``block x n_candidates`` floats
  (``lareqa.MAX_BLOCK_ELEMENTS``).
* **Top-k** (:func:`top_k`, then :func:`run_from_top_k` into the ``{qid: {docid: score}}``
  run shape) where only the first k candidates matter and the corpus is too large for a
  full matrix per query block: nDCG@10 and Recall@100 on a big corpus are exact from a
  top-100 run (``hybridlib.metrics.measures.evaluate_run``), and run files for other tools.
  ``method="auto"`` uses faiss ``IndexFlatIP`` (exact; about twice as fast as torch/numpy
  matmul + top-k on 100k x 384, see the toolchain notes) from ``FAISS_MIN_CANDIDATES``
  candidates on, and the matrix product below that.

Both top-k paths return the same rankings: candidates by descending score, ties by the tie
rule of :mod:`hybridlib.metrics.ranking` (trec_eval's, with candidate ids), at the k-th place
too (faiss's order for exact ties is not specified, so ties are re-sorted after the search).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

# a full (n_queries x n_candidates) float32 matrix up to this many elements (800 MB) is fine
FULL_SCORE_MAX_ELEMENTS = 200_000_000
# top-k switches from matmul to faiss above this many candidates
FAISS_MIN_CANDIDATES = 50_000

SearchMethod = Literal["auto", "matmul", "faiss"]


def _check(queries: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    candidates = np.ascontiguousarray(candidates, dtype=np.float32)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(
            "queries and candidates must be 2-D with the same dimension, but got "
            f"{queries.shape} and {candidates.shape}"
        )
    return queries, candidates


def score_matrix(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Inner products ``queries @ candidates.T``: ``(n_queries, n_candidates)`` float32."""
    queries, candidates = _check(queries, candidates)
    return queries @ candidates.T  # (n_queries, n_candidates)


def iter_score_blocks(
    queries: np.ndarray, candidates: np.ndarray, block_size: int = 2048
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(row_slice, scores)`` with scores ``(len(row_slice), n_candidates)`` float32."""
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, but got {block_size}")
    queries, candidates = _check(queries, candidates)
    for start in range(0, queries.shape[0], block_size):
        rows = slice(start, min(start + block_size, queries.shape[0]))
        yield rows, queries[rows] @ candidates.T  # (block, n_candidates)


def top_k(
    queries: np.ndarray,
    candidates: np.ndarray,
    k: int,
    *,
    candidate_ids: Sequence[str] | None = None,
    tie_keys: np.ndarray | None = None,
    method: SearchMethod = "auto",
    block_size: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best candidates per query: ``(scores, indices)``, both ``(n_queries, k')``.

    ``k' = min(k, n_candidates)``; rows by descending score, ties by the one tie rule of
    :mod:`hybridlib.metrics.ranking` (trec_eval's: candidate id descending, given
    ``candidate_ids``; the earlier candidate without ids; or ``tie_keys`` ``(n_candidates,)``,
    smaller first), also at the k-th place: the search takes ``k + 1``, and a row whose
    ``(k+1)``-th score equals its k-th (a tie across the cut) is ranked again from its full
    score row. ``method="auto"`` uses faiss ``IndexFlatIP`` from ``FAISS_MIN_CANDIDATES``
    candidates on where faiss is installed (the ``search`` extra), the matrix product
    otherwise: both are exact, so the result is the same either way.
    """
    from hybridlib.metrics.ranking import _resolve_keys, rank_order

    if k < 1:
        raise ValueError(f"k must be >= 1, but got {k}")
    queries, candidates = _check(queries, candidates)
    n = candidates.shape[0]
    keys = _resolve_keys(n, candidate_ids, tie_keys)  # (n,)
    if keys.ndim != 1:
        raise ValueError(f"tie_keys must have shape (n_candidates,), but got {keys.shape}")
    k = min(k, n)
    searched = min(k + 1, n)  # one more than asked: it shows a tie across the cut
    if method == "auto":
        large = n >= FAISS_MIN_CANDIDATES
        method = "faiss" if large and faiss_available() else "matmul"
    if method == "matmul":
        scores, indices = _top_k_matmul(queries, candidates, searched, block_size)
    elif method == "faiss":
        scores, indices = _top_k_faiss(queries, candidates, searched)
    else:
        raise ValueError(f"method must be 'auto', 'matmul' or 'faiss', but got {method!r}")
    order = np.lexsort((keys[indices], -scores), axis=1)  # last key is primary
    scores = np.take_along_axis(scores, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    if searched > k:
        for row in np.flatnonzero(scores[:, k] == scores[:, k - 1]):
            full = queries[row] @ candidates.T  # (n,)
            indices[row, :k] = rank_order(full[None, :], tie_keys=keys, k=k)[0]
            scores[row, :k] = full[indices[row, :k]]
    return scores[:, :k], indices[:, :k]


def faiss_available() -> bool:
    """Whether ``faiss`` can be imported (``pip install 'hybridlib[search]'``)."""
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def _top_k_matmul(
    queries: np.ndarray, candidates: np.ndarray, k: int, block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    n = candidates.shape[0]
    all_scores = np.empty((queries.shape[0], k), dtype=np.float32)
    all_indices = np.empty((queries.shape[0], k), dtype=np.int64)
    for rows, block in iter_score_blocks(queries, candidates, block_size):
        if k < n:
            part = np.argpartition(-block, k - 1, axis=1)[:, :k]  # (block, k) unordered
        else:
            part = np.broadcast_to(np.arange(n), block.shape).copy()
        all_indices[rows] = part
        all_scores[rows] = np.take_along_axis(block, part, axis=1)
    return all_scores, all_indices


def _top_k_faiss(
    queries: np.ndarray, candidates: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(candidates)
    scores, indices = index.search(queries, k)  # (n_queries, k) each
    return scores.astype(np.float32, copy=False), indices.astype(np.int64, copy=False)


def run_from_top_k(
    query_ids: Sequence[str],
    candidate_ids: Sequence[str],
    scores: np.ndarray,
    indices: np.ndarray,
) -> dict[str, dict[str, float]]:
    """A run ``{query_id: {candidate_id: score}}`` from :func:`top_k`'s ``(scores, indices)``."""
    if scores.shape != indices.shape or scores.shape[0] != len(query_ids):
        raise ValueError(
            f"scores {scores.shape} and indices {indices.shape} must both be "
            f"({len(query_ids)}, k) for {len(query_ids)} query ids"
        )
    return {
        qid: {candidate_ids[j]: float(s) for s, j in zip(row_scores, row_indices)}
        for qid, row_scores, row_indices in zip(query_ids, scores, indices)
    }
