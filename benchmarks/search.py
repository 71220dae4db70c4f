"""Exact top-k search: matrix product + partial sort vs faiss ``IndexFlatIP``.

For each pool size we use (1,000 and 13,014 candidates: LAReQA pools; 100,000: a BEIR-size
corpus), 1,190 queries (one XQuAD-R language) and k = 100, on random L2-normalised
384-dimensional embeddings (no ties), 2 threads:

- ``hybridlib top_k (matmul)``: :func:`hybridlib.evaluation.top_k` with ``method="matmul"``
  (numpy matmul in blocks, ``argpartition``, then sorting the k by score);
- ``torch mm + topk``: ``torch.topk(Q @ C.T, k)``;
- reference ``faiss IndexFlatIP``: building the index (``add``) and ``search``.

All three must return the same top k (up to swaps of candidates whose scores agree to
1e-5: float32 sums in a different order; the count of identical rows is recorded). Seconds include everything from the embeddings
to the sorted top k.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from benchmarks.common import Comparison, interleaved
from benchmarks.evaluation import random_embeddings

BENCHMARK = "search"
POOL_SIZES = (1_000, 13_014, 100_000)
N_QUERIES = 1_190
K = 100
SCORE_TOLERANCE = 1e-5


def faiss_top_k(
    queries: np.ndarray, candidates: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """faiss ``IndexFlatIP``: ``(scores, indices)``, each ``(n_queries, k)``."""
    import faiss

    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(candidates)
    return index.search(queries, k)


def torch_top_k(
    queries: np.ndarray, candidates: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``torch.topk`` of the full score matrix: ``(scores, indices)``, each ``(n_queries, k)``."""
    scores = torch.from_numpy(queries) @ torch.from_numpy(candidates).T  # (n_queries, n_candidates)
    values, indices = torch.topk(scores, k, dim=1, sorted=True)
    return values.numpy(), indices.numpy()


def hybridlib_top_k(
    queries: np.ndarray, candidates: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    from hybridlib.evaluation import top_k

    return top_k(queries, candidates, k, method="matmul")


def same_top_k(
    queries: np.ndarray,
    candidates: np.ndarray,
    ours: np.ndarray,
    reference: np.ndarray,
    atol: float = SCORE_TOLERANCE,
) -> int:
    """Check two top-k index lists agree; return how many rows are identical.

    float32 products summed in different orders (BLAS vs faiss) can swap two candidates
    whose scores differ by ~1e-7, so rows may differ where the scores, recomputed in
    float64, agree within ``atol`` position by position. Anything else is an error.
    """
    q = queries.astype(np.float64)
    c = candidates.astype(np.float64)
    ours_scores = np.einsum("qd,qkd->qk", q, c[ours])  # (n_queries, k)
    ref_scores = np.einsum("qd,qkd->qk", q, c[reference])  # (n_queries, k)
    worst = float(np.abs(ours_scores - ref_scores).max())
    if worst > atol:
        raise AssertionError(
            f"search: top-k lists disagree beyond float rounding (score difference {worst:.3g} > {atol})"
        )
    return int((ours == reference).all(axis=1).sum())


def run(
    *,
    quick: bool,
    repeats: int | None = None,
    pool_sizes: tuple[int, ...] = POOL_SIZES,
    n_queries: int = N_QUERIES,
    k: int = K,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the search benchmark and its details."""
    repeats = repeats or (3 if quick else 7)
    queries = random_embeddings(n_queries, seed=2)
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"n_queries": n_queries, "k": k, "seconds": {}}
    for n in pool_sizes:
        candidates = random_embeddings(n, seed=3)
        kk = min(k, n)
        log(f"search: {n_queries} queries x {n} candidates, top {kk}, {repeats} repeats")
        calls = {
            "hybridlib": lambda: hybridlib_top_k(queries, candidates, kk),  # noqa: B023 (called at once, inside the loop)
            "torch": lambda: torch_top_k(queries, candidates, kk),  # noqa: B023 (called at once, inside the loop)
            "faiss": lambda: faiss_top_k(queries, candidates, kk),  # noqa: B023 (called at once, inside the loop)
        }
        indices = {name: np.asarray(fn()[1]) for name, fn in calls.items()}
        agreement = {name: same_top_k(queries, candidates, indices[name], indices["faiss"])
                     for name in ("hybridlib", "torch")}  # fmt: skip
        seconds = interleaved(calls, repeats=repeats, warmup=0)
        for name, label in (
            ("hybridlib", "hybridlib top_k (matmul)"),
            ("torch", "torch mm + topk"),
        ):
            rows += Comparison(
                BENCHMARK, f"{label}, {n} candidates", f"faiss IndexFlatIP, {n} candidates",
                "seconds", seconds[name], seconds["faiss"],
            ).rows()  # fmt: skip
        details["seconds"][n] = seconds
        details.setdefault("identical_rows", {})[n] = agreement
    return rows, details
