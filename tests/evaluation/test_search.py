"""Exact search: matmul and faiss give the same rankings; score blocks equal the full matrix."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.evaluation import iter_score_blocks, score_matrix, top_k


def normalised(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 10, 100, 500])
def test_matmul_and_faiss_rank_identically(k):
    rng = np.random.default_rng(1)
    queries, candidates = normalised(rng, 50, 32), normalised(rng, 500, 32)
    full = score_matrix(queries, candidates)  # (50, 500)
    # distinct scores: a meaningful ranking comparison (no ties to break)
    assert all(len(np.unique(row)) == row.size for row in full)
    s_mm, i_mm = top_k(queries, candidates, k, method="matmul", block_size=7)
    s_fa, i_fa = top_k(queries, candidates, k, method="faiss")
    np.testing.assert_array_equal(i_mm, i_fa)
    np.testing.assert_allclose(s_mm, s_fa, rtol=0, atol=1e-5)
    # and both equal a full argsort of the exact score matrix
    np.testing.assert_array_equal(i_mm, np.argsort(-full, axis=1, kind="stable")[:, :k])


def test_ties_are_broken_by_candidate_index_in_both_paths():
    queries = np.array([[1.0, 0.0]], dtype=np.float32)
    candidates = np.array([[0.5, 0.1], [1.0, 0.0], [0.5, 0.2], [1.0, 0.0]], dtype=np.float32)
    for method in ("matmul", "faiss"):
        _, indices = top_k(queries, candidates, 4, method=method)
        assert indices.tolist() == [[1, 3, 0, 2]], method


@pytest.mark.parametrize("method", ["matmul", "faiss"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
def test_ties_follow_the_ranking_modules_rule_with_ids_also_at_the_cut(method, k):
    """Candidates with equal vectors tie exactly; with ids, trec_eval's rule (id descending)
    decides which of them are in the top k and in what order, as rank_order does for the
    full score matrix."""
    from hybridlib.metrics.ranking import rank_order

    rng = np.random.default_rng(4)
    distinct = normalised(rng, 3, 8)
    # 8 candidates, 3 distinct vectors: groups of equal scores straddle every cut
    candidates = distinct[[0, 1, 0, 2, 1, 0, 2, 1]]
    ids = ["d", "h", "a", "c", "b", "g", "e", "f"]
    queries = normalised(rng, 6, 8)
    _, indices = top_k(queries, candidates, k, candidate_ids=ids, method=method, block_size=4)
    expected = rank_order(score_matrix(queries, candidates), ids, k=k)
    np.testing.assert_array_equal(indices, expected)
    # without ids: the earlier candidate wins a tie, as in rank_order without ids
    _, plain = top_k(queries, candidates, k, method=method)
    np.testing.assert_array_equal(plain, rank_order(score_matrix(queries, candidates), k=k))


def test_score_blocks_equal_the_full_matrix():
    rng = np.random.default_rng(2)
    queries, candidates = normalised(rng, 23, 16), normalised(rng, 40, 16)
    full = score_matrix(queries, candidates)
    stacked = np.concatenate([block for _, block in iter_score_blocks(queries, candidates, 5)])
    # equal up to float32 rounding: BLAS may sum in another order for another block shape
    # (seen in CI under load: 1 ulp differences), so bit equality is not a property to test
    np.testing.assert_allclose(stacked, full, rtol=0, atol=1e-6)
    assert full.shape == (23, 40)
    np.testing.assert_allclose(full[3, 7], float(queries[3] @ candidates[7]), rtol=1e-6)


def test_k_larger_than_the_pool_and_bad_input():
    rng = np.random.default_rng(3)
    queries, candidates = normalised(rng, 2, 4), normalised(rng, 3, 4)
    scores, indices = top_k(queries, candidates, 10)
    assert scores.shape == indices.shape == (2, 3)
    with pytest.raises(ValueError, match="same dimension"):
        score_matrix(queries, normalised(rng, 3, 5))
    with pytest.raises(ValueError, match="k must be >= 1, but got 0"):
        top_k(queries, candidates, 0)
    with pytest.raises(ValueError, match="method must be"):
        top_k(queries, candidates, 1, method="annoy")


def test_top_k_run_gives_the_full_matrix_measures():
    """nDCG@10 and Recall@100 from a faiss top-100 run equal those of the full score matrix."""
    from hybridlib.evaluation.search import run_from_top_k
    from hybridlib.metrics.measures import evaluate_run, evaluate_scores

    rng = np.random.default_rng(4)
    queries, candidates = normalised(rng, 40, 16), normalised(rng, 1000, 16)
    relevance = (rng.random((40, 1000)) < 0.01).astype(np.int32) * rng.integers(1, 3, (40, 1000))
    relevance[np.arange(40), rng.integers(0, 1000, 40)] = 1  # every query has a relevant one
    query_ids = [f"q{i}" for i in range(40)]
    candidate_ids = [f"d{j:04d}" for j in range(1000)]
    measures = ["ndcg@10", "recall@100"]
    full = evaluate_scores(
        score_matrix(queries, candidates), relevance, measures, candidate_ids=candidate_ids
    )
    top = top_k(queries, candidates, 100, method="faiss")
    run = run_from_top_k(query_ids, candidate_ids, *top)
    qrels = {
        qid: {candidate_ids[j]: int(relevance[i, j]) for j in np.flatnonzero(relevance[i])}
        for i, qid in enumerate(query_ids)
    }
    from_run = evaluate_run(qrels, run, measures)
    for m in measures:
        np.testing.assert_allclose([from_run[m][q] for q in query_ids], full[m], atol=1e-9)


def test_auto_without_faiss_uses_the_matrix_product_with_the_same_result(monkeypatch):
    """faiss is optional (the `search` extra): without it, 'auto' gives the same exact top-k."""
    from hybridlib.evaluation import search

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((5, 8)).astype(np.float32)
    candidates = rng.standard_normal((search.FAISS_MIN_CANDIDATES, 8)).astype(np.float32)
    candidates[7] = candidates[3]  # an exact tie, ordered by index in both paths
    with_faiss = top_k(queries, candidates, 10, method="auto")
    monkeypatch.setattr(search, "faiss_available", lambda: False)
    monkeypatch.setattr(search, "_top_k_faiss", lambda *a: pytest.fail("faiss was used"))
    without = top_k(queries, candidates, 10, method="auto")
    np.testing.assert_array_equal(without[1], with_faiss[1])
    np.testing.assert_allclose(without[0], with_faiss[0], rtol=1e-5)
