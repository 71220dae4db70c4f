"""Helpers shared by the metrics tests: random runs and the pytrec_eval oracle."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

# our measure name -> trec_eval measure name
TREC_NAMES = {
    "map": "map",
    "map@5": "map_cut_5",
    "recall@1": "recall_1",
    "recall@5": "recall_5",
    "recall@10": "recall_10",
    "ndcg": "ndcg",
    "ndcg@10": "ndcg_cut_10",
    "ndcg@3": "ndcg_cut_3",
    "mrr": "recip_rank",
    "precision@5": "P_5",
    "success@1": "success_1",
    "success@5": "success_5",
}


def as_trec(scores: np.ndarray, relevance: np.ndarray, ids: list[str], qids: list[str]):
    """Dense matrices -> (qrels, run) dicts; every candidate of the pool is in the run."""
    qrels = {
        q: {ids[j]: int(relevance[i, j]) for j in np.flatnonzero(relevance[i])}
        for i, q in enumerate(qids)
    }
    run = {q: {ids[j]: float(scores[i, j]) for j in range(len(ids))} for i, q in enumerate(qids)}
    return qrels, run


def trec_eval(qrels, run, measures: list[str]) -> dict[str, dict[str, float]]:
    """pytrec_eval's values ``{our name: {qid: value}}`` (queries with relevant documents)."""
    evaluator = pytrec_eval.RelevanceEvaluator(
        {q: d for q, d in qrels.items() if d}, {TREC_NAMES[m] for m in measures}
    )
    result = evaluator.evaluate(run)
    return {m: {q: v[TREC_NAMES[m]] for q, v in result.items()} for m in measures}


def random_tied_case(rng: np.random.Generator, n_queries: int, n_candidates: int, levels: int):
    """Integer-valued scores in ``levels`` values (many ties), graded relevance 0..3, unique
    random ids whose string order differs from the column order."""
    scores = rng.integers(0, levels, size=(n_queries, n_candidates)).astype(np.float64)
    relevance = np.where(
        rng.random((n_queries, n_candidates)) < 0.2,
        rng.integers(1, 4, size=(n_queries, n_candidates)),
        0,
    )
    relevance[0] = 0  # one query without any relevant candidate
    ids = [f"d{v}" for v in rng.permutation(10 * n_candidates)[:n_candidates]]
    qids = [f"q{i}" for i in range(n_queries)]
    return scores, relevance, ids, qids


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240819)
