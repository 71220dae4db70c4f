"""The one ranking function of hybridlib, with trec_eval's tie rule.

Tie rule (trec_eval's, checked against ``pytrec_eval`` in the tests): candidates are sorted by
score, highest first; candidates with equal scores are ordered by candidate id in
*descending* string order (``"c"`` before ``"b"`` before ``"a"``; ``"b"`` before ``"B"``;
Python's code-point order, which is the byte order of UTF-8, as ``strcmp`` in trec_eval).
Without candidate ids, the earlier column wins a tie (as if the ids descended with the column).

Every measure in :mod:`hybridlib.metrics` gets its ranks from :func:`relevant_ranks`. Most
measures only need the ranks of the relevant candidates, and those follow without sorting
the pool::

    rank(i, j) = 1 + #{k : s[i, k] > s[i, j]} + #{k : s[i, k] == s[i, j] and key[k] < key[j]}

where ``key`` is the tie-break key (0 = wins every tie). This is computed for the relevant
entries only, vectorised over blocks of queries (memory bounded by ``block_elements``);
queries with many relevant candidates are ranked by a full sort instead (same rule, cheaper
there). ``rank_order`` gives the full ranking (e.g. to write a run file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

try:  # scipy.sparse is optional input; scipy is a dependency anyway
    import scipy.sparse as _sparse
except ImportError:  # pragma: no cover
    _sparse = None

# Above this many relevant candidates a query is ranked by a full sort (n log n) rather than
# by counting (n per relevant candidate).
_SORT_ABOVE_N_RELEVANT = 64
# Elements of the (queries, relevant, candidates) comparison block held in memory at once.
_BLOCK_ELEMENTS = 4_000_000


def tie_break_keys(candidate_ids: Sequence[str]) -> np.ndarray:
    """Tie-break keys for trec_eval's rule: ``key[j]`` = position of id ``j`` in descending order.

    Returns ``(n_candidates,)`` int64; among tied scores the smaller key ranks first. Ids are
    compared as strings (``str(id)``), so ``"10"`` sorts before ``"9"``, as in trec_eval.
    Raises ``ValueError`` on duplicate ids (the tie rule would be ambiguous).
    """
    ids = [str(c) for c in candidate_ids]
    order = sorted(range(len(ids)), key=ids.__getitem__, reverse=True)
    keys = np.empty(len(ids), dtype=np.int64)
    keys[order] = np.arange(len(ids), dtype=np.int64)
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        duplicate = ""
        for c in ids:
            if c in seen:
                duplicate = c
                break
            seen.add(c)
        raise ValueError(
            f"candidate ids must be unique for the tie rule, but {duplicate!r} occurs "
            f"{ids.count(duplicate)} times"
        )
    return keys


def _resolve_keys(
    n_candidates: int, candidate_ids: Sequence[str] | None, tie_keys: np.ndarray | None
) -> np.ndarray:
    """The ``(n_candidates,)`` or ``(n_queries, n_candidates)`` tie-break keys to use."""
    if candidate_ids is not None and tie_keys is not None:
        raise ValueError("give candidate_ids or tie_keys, not both")
    if candidate_ids is not None:
        if len(candidate_ids) != n_candidates:
            raise ValueError(
                f"candidate_ids has {len(candidate_ids)} ids, but scores have "
                f"{n_candidates} candidate columns"
            )
        return tie_break_keys(candidate_ids)
    if tie_keys is not None:
        keys = np.asarray(tie_keys)
        if keys.shape[-1] != n_candidates or keys.ndim not in (1, 2):
            raise ValueError(
                f"tie_keys must have shape (n_candidates,) or (n_queries, n_candidates) with "
                f"n_candidates={n_candidates}, but got shape {keys.shape}"
            )
        return keys
    return np.arange(n_candidates, dtype=np.int64)


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(
            f"scores must be a 2-D array (n_queries, n_candidates), but got shape {scores.shape}"
        )
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        n_nan = int(np.isnan(scores).sum())
        raise ValueError(f"scores contain {n_nan} NaN values; rank them with a finite score")
    return scores


def rank_order(
    scores: np.ndarray,
    candidate_ids: Sequence[str] | None = None,
    *,
    tie_keys: np.ndarray | None = None,
    k: int | None = None,
    block_elements: int = _BLOCK_ELEMENTS,
) -> np.ndarray:
    """Candidate indices in rank order, best first: ``(n_queries, k or n_candidates)`` int64.

    A full sort with the tie rule of this module (score descending, then tie-break key
    ascending), over blocks of about ``block_elements`` scores. ``k`` keeps the first ``k``.
    """
    scores = _check_scores(scores)
    n_queries, n_candidates = scores.shape
    keys = _resolve_keys(n_candidates, candidate_ids, tie_keys)
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, but got {k}")
    width = n_candidates if k is None else min(k, n_candidates)
    out = np.empty((n_queries, width), dtype=np.int64)  # (n_queries, width)
    step = max(1, block_elements // max(1, n_candidates))
    for start in range(0, n_queries, step):
        stop = min(start + step, n_queries)
        block_keys = keys[start:stop] if keys.ndim == 2 else keys
        out[start:stop] = _full_order(scores[start:stop], block_keys)[:, :width]
    return out


def _full_order(scores: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Sort rows by (-score, key); NaN (padding) sorts last. ``(n_queries, n_candidates)``."""
    keys2d = np.broadcast_to(keys, scores.shape)  # (n_queries, n_candidates)
    return np.lexsort((keys2d, -scores), axis=-1)


@dataclass(frozen=True)
class RelevantRanks:
    """Ranks of the relevant candidates of each query, sorted ascending.

    ranks: ``(n_queries, max_relevant)`` float64, 1-based ranks ascending; ``inf`` pads rows
        with fewer relevant candidates and marks relevant documents that were not ranked at
        all (only possible in :func:`~hybridlib.metrics.measures.evaluate_run`).
    grades: ``(n_queries, max_relevant)`` float64, the grade of the candidate at that rank
        (0 for padding).
    n_relevant: ``(n_queries,)`` int64, number of relevant (grade > 0) candidates.
    pool_size: ``(n_queries,)`` int64, number of ranked candidates of each query.
    """

    ranks: np.ndarray
    grades: np.ndarray
    n_relevant: np.ndarray
    pool_size: np.ndarray

    @property
    def n_queries(self) -> int:
        return int(self.n_relevant.shape[0])


def _relevant_entries(
    relevance, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and grades of the entries with grade > 0 (row-major order)."""
    if _sparse is not None and _sparse.issparse(relevance):
        if relevance.shape != shape:
            raise ValueError(
                f"relevance has shape {relevance.shape}, but scores have shape {shape}"
            )
        coo = _sparse.coo_matrix(relevance)
        data, rows, cols = coo.data, coo.row.astype(np.int64), coo.col.astype(np.int64)
    else:
        relevance = np.asarray(relevance)
        if relevance.shape != shape:
            raise ValueError(
                f"relevance has shape {relevance.shape}, but scores have shape {shape}"
            )
        rows, cols = np.nonzero(relevance)
        data = relevance[rows, cols]
    if data.size and np.issubdtype(data.dtype, np.floating) and not np.all(data == np.round(data)):
        bad = data[data != np.round(data)][0]
        raise ValueError(f"relevance grades must be integers, but got {bad!r}")
    if data.size and (data < 0).any():
        raise ValueError(
            f"relevance grades must be >= 0 (0 = not relevant), but got {data[data < 0][0]!r}"
        )
    keep = data > 0
    rows, cols, data = rows[keep], cols[keep], data[keep].astype(np.float64)
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], data[order]


def _pad_by_row(
    rows: np.ndarray, values: list[np.ndarray], n_rows: int, fills: list[float]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scatter row-sorted entries into ``(n_rows, max_per_row)`` arrays; returns counts too."""
    counts = np.bincount(rows, minlength=n_rows).astype(np.int64)  # (n_rows,)
    width = int(counts.max()) if n_rows else 0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])  # (n_rows,)
    slot = np.arange(rows.size) - starts[rows]  # position of each entry within its row
    out = []
    for v, fill in zip(values, fills):
        padded = np.full((n_rows, width), fill, dtype=v.dtype)
        padded[rows, slot] = v
        out.append(padded)
    return counts, out


def relevant_ranks(
    scores: np.ndarray,
    relevance,
    candidate_ids: Sequence[str] | None = None,
    *,
    tie_keys: np.ndarray | None = None,
    block_elements: int = _BLOCK_ELEMENTS,
    excluded: np.ndarray | None = None,
) -> RelevantRanks:
    """Ranks of the relevant candidates under the module's tie rule.

    scores: ``(n_queries, n_candidates)`` float. relevance: ``(n_queries, n_candidates)``
    int grades (0 = not relevant), dense or ``scipy.sparse``. Give ``candidate_ids`` (for
    trec_eval's tie rule) or precomputed ``tie_keys`` (from :func:`tie_break_keys`, shape
    ``(n_candidates,)`` or ``(n_queries, n_candidates)``); with neither, the earlier column
    wins a tie. ``block_elements`` bounds the comparison block held in memory.
    ``excluded``: ``(n_queries, n_candidates)`` bool, candidates left out of that query's
    pool (a query's own text, when queries are also candidates): ranked as if absent, and the
    pool size counts the others; an excluded candidate that is relevant is refused.
    """
    scores = _check_scores(scores)
    keys = _resolve_keys(scores.shape[1], candidate_ids, tie_keys)
    rows, cols, grades = _relevant_entries(relevance, scores.shape)
    pool_size = None
    if excluded is not None:
        excluded = np.asarray(excluded, dtype=bool)
        if excluded.shape != scores.shape:
            raise ValueError(
                f"excluded must have the scores' shape {scores.shape}, but got {excluded.shape}"
            )
        if excluded[rows, cols].any():
            raise ValueError("a relevant candidate cannot be excluded from its query's pool")
        scores = np.where(excluded, np.nan, scores)  # the core never ranks a NaN score
        pool_size = scores.shape[1] - excluded.sum(axis=1).astype(np.int64)
    return _ranks_from_entries(
        scores, keys, rows, cols, grades, block_elements=block_elements, pool_size=pool_size
    )


def _ranks_from_entries(
    scores: np.ndarray,
    keys: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    grades: np.ndarray,
    *,
    block_elements: int = _BLOCK_ELEMENTS,
    pool_size: np.ndarray | None = None,
) -> RelevantRanks:
    """Shared core. ``scores`` may contain NaN: such a candidate is not ranked (padding, or a
    relevant document absent from a run): it never counts as above or tied, and a relevant
    entry with a NaN score gets rank ``inf``.

    ``rows, cols, grades``: row-sorted relevant entries.
    """
    n_queries, n_candidates = scores.shape
    counts, (col_pad,) = _pad_by_row(rows, [cols], n_queries, [0])  # (n_queries, width)
    _, (grade_pad,) = _pad_by_row(rows, [grades], n_queries, [0.0])
    width = col_pad.shape[1]
    valid = np.arange(width)[None, :] < counts[:, None]  # (n_queries, width)
    ranks = np.full((n_queries, width), np.inf)  # (n_queries, width)

    by_sort = np.flatnonzero(counts > _SORT_ABOVE_N_RELEVANT)
    by_count = np.flatnonzero((counts > 0) & (counts <= _SORT_ABOVE_N_RELEVANT))
    keys2d = keys.ndim == 2

    # Counting: rank = 1 + #greater + #(equal with a smaller key), block by block.
    if by_count.size:
        # Queries with similar numbers of relevant candidates share a block (little padding).
        by_count = by_count[np.argsort(counts[by_count], kind="stable")]
        start = 0
        while start < by_count.size:
            w = int(counts[by_count[start]])
            per_query = max(1, block_elements // max(1, w * n_candidates))
            block = by_count[start : start + per_query]
            w = int(counts[block].max())
            s = scores[block]  # (b, n_candidates)
            c = col_pad[block, :w]  # (b, w)
            s_rel = np.take_along_axis(s, c, axis=1)  # (b, w)
            above = (s[:, None, :] > s_rel[:, :, None]).sum(axis=2, dtype=np.int32)  # (b, w)
            # (b, w): candidates with the same score, the relevant one itself included
            tied = (s[:, None, :] == s_rel[:, :, None]).sum(axis=2, dtype=np.int32)
            r = 1.0 + above
            has_tie = np.flatnonzero(((tied > 1) & valid[block, :w]).any(axis=1))
            if has_tie.size:  # only queries with a tie need the keys
                kb = keys[block[has_tie]] if keys2d else keys[None, :]  # (t or 1, n_candidates)
                kb_full = np.broadcast_to(kb, (has_tie.size, n_candidates))  # (t, n_candidates)
                k_rel = np.take_along_axis(kb_full, c[has_tie], axis=1)  # (t, w)
                s_t = s[has_tie]  # (t, n_candidates)
                before = (
                    (s_t[:, None, :] == s_rel[has_tie][:, :, None])
                    & (kb[:, None, :] < k_rel[:, :, None])
                ).sum(axis=2, dtype=np.int32)  # (t, w)
                r[has_tie] += before
            ranks[block, :w] = np.where(valid[block, :w] & ~np.isnan(s_rel), r, np.inf)
            start += block.size

    # Full sort for queries with many relevant candidates (same rule).
    for q in by_sort:
        order = _full_order(scores[q : q + 1], keys[q] if keys2d else keys)[0]
        position = np.empty(n_candidates, dtype=np.float64)
        position[order] = np.arange(1, n_candidates + 1)
        n = counts[q]
        c = col_pad[q, :n]
        ranks[q, :n] = np.where(np.isnan(scores[q, c]), np.inf, position[c])

    # Sort each row by rank; grades follow. Unranked relevant (inf) keep their grade.
    order = np.argsort(ranks, axis=1, kind="stable")
    ranks = np.take_along_axis(ranks, order, axis=1)
    grade_pad = np.take_along_axis(grade_pad, order, axis=1)
    if pool_size is None:
        pool_size = np.full(n_queries, n_candidates, dtype=np.int64)
    return RelevantRanks(ranks=ranks, grades=grade_pad, n_relevant=counts, pool_size=pool_size)
