"""A real-sized case: the XQuAD-R Multi pool (13,090 queries x 13,014 candidates).

Scores are random per (query, sentence text), so repeated sentences tie exactly, as they do
for a real encoder. The whole pool is ranked by hybridlib; a subset of queries, including
every query whose relevant sentences have tied duplicates, is checked against pytrec_eval.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from hybridlib.data import load_lareqa
from hybridlib.metrics import measures_from_ranks, rank_distance_from_ranks, relevant_ranks

from .conftest import trec_eval

MEASURES = ["map", "recall@1", "recall@10", "ndcg@10", "mrr"]


@pytest.mark.slow
def test_xquad_r_multi_random_run_agrees_with_pytrec_eval(real_data_dir):
    suite = load_lareqa("xquad-r", root=real_data_dir)
    ids = [c.id for c in suite.candidates]
    column = {cid: j for j, cid in enumerate(ids)}
    qids = [q.id for q in suite.queries]
    rows, cols = zip(*((i, column[c]) for i, q in enumerate(qids) for c in suite.qrels[q]))
    relevance = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(qids), len(ids))
    )
    assert relevance.shape == (13090, 13014) and relevance.nnz == 13090 * 11

    texts = [c.text for c in suite.candidates]
    unique, text_index = np.unique(texts, return_inverse=True)  # (n_candidates,)
    rng = np.random.default_rng(0)
    scores = np.empty(relevance.shape, dtype=np.float32)  # (n_queries, n_candidates)
    for start in range(0, len(qids), 1000):
        block = rng.random((min(1000, len(qids) - start), unique.size), dtype=np.float32)
        scores[start : start + block.shape[0]] = block[:, text_index]

    ranked = relevant_ranks(scores, relevance, ids)
    ours = measures_from_ranks(ranked, MEASURES)
    bias = rank_distance_from_ranks(ranked, [q.language for q in suite.queries])
    assert np.isfinite(ours["map"]).all()
    assert len(bias.per_language) == 11 and bias.n == 13090
    assert bias.normalised_mean == pytest.approx(1.0, abs=0.02)  # random ranking

    # Queries whose relevant sentence has an identical twin in the pool: their ranks
    # depend on the tie rule.
    counts = np.bincount(text_index)
    twin = counts[text_index] > 1  # (n_candidates,)
    tied = np.flatnonzero(np.asarray(relevance[:, twin].sum(axis=1)).ravel() > 0)
    assert tied.size > 0
    subset = np.union1d(tied[:40], rng.choice(len(qids), 20, replace=False))
    qrels = {qids[i]: suite.qrels[qids[i]] for i in subset}
    run = {qids[i]: dict(zip(ids, scores[i].astype(np.float64).tolist())) for i in subset}
    oracle = trec_eval(qrels, run, MEASURES)
    for name in MEASURES:
        expected = [oracle[name][qids[i]] for i in subset]
        np.testing.assert_allclose(ours[name][subset], expected, rtol=0, atol=1e-9, err_msg=name)

    # Coarse scores (64 levels): ties everywhere, so every query depends on the tie rule.
    coarse = np.floor(scores * 64)  # (n_queries, n_candidates), values 0..63
    ours = measures_from_ranks(relevant_ranks(coarse, relevance, ids), MEASURES)
    run = {qids[i]: dict(zip(ids, coarse[i].astype(np.float64).tolist())) for i in subset}
    oracle = trec_eval(qrels, run, MEASURES)
    for name in MEASURES:
        expected = [oracle[name][qids[i]] for i in subset]
        np.testing.assert_allclose(ours[name][subset], expected, rtol=0, atol=1e-9, err_msg=name)
