"""Every setting cell equals pytrec_eval on the pool-restricted qrels and run (random suites)."""

from __future__ import annotations

import numpy as np
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.data.types import Candidate, Query, RetrievalSuite
from hybridlib.evaluation import evaluate_settings

from .conftest import MatrixScorer

LANGS = ["de", "en", "zh"]


def random_suite(seed: int) -> tuple[RetrievalSuite, np.ndarray]:
    """Partly parallel: each question id exists in a random subset of the languages."""
    rng = np.random.default_rng(seed)
    queries, candidates, qrels = [], [], {}
    for key in range(int(rng.integers(2, 7))):
        present = [lang for lang in LANGS if rng.random() < 0.7] or ["en"]
        answers = [f"{lang}-a{key}" for lang in present]
        for lang in present:
            queries.append(Query(f"{lang}-q{key}", lang, "q", parallel_key=str(key)))
            candidates.append(Candidate(f"{lang}-a{key}", lang, "a"))
            qrels[f"{lang}-q{key}"] = {a: 1 for a in answers}
    for lang in LANGS:  # distractors
        candidates += [Candidate(f"{lang}-x{i}", lang, "x") for i in range(int(rng.integers(0, 4)))]
    scores = rng.random((len(queries), len(candidates)))  # distinct almost surely
    return RetrievalSuite("random", queries, candidates, qrels), scores


def oracle(suite, scores, query_lang, pool_langs):
    """pytrec_eval on queries of ``query_lang`` against candidates of ``pool_langs``."""
    pool = [j for j, c in enumerate(suite.candidates) if c.language in pool_langs]
    pool_ids = {suite.candidates[j].id for j in pool}
    qrels, run = {}, {}
    for i, q in enumerate(suite.queries):
        judged = {d: g for d, g in suite.qrels[q.id].items() if d in pool_ids}
        if q.language != query_lang or not judged:
            continue  # skipped, as in hybridlib
        qrels[q.id] = judged
        run[q.id] = {suite.candidates[j].id: float(scores[i, j]) for j in pool}
    if not qrels:
        return None
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"map", "recall"})
    per = evaluator.evaluate(run)
    return {
        "map": np.mean([v["map"] for v in per.values()]),
        "recall@10": np.mean([v["recall_10"] for v in per.values()]),
        "n": len(per),
    }


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_cells_match_pytrec_eval(seed):
    suite, scores = random_suite(seed)
    results = evaluate_settings(suite, MatrixScorer(scores)).results
    cells = results[results["query_language"] != "all"].set_index(
        ["setting", "query_language", "candidate_language", "metric"]
    )
    expected_cells = set()
    for x in LANGS:
        for setting, y, pool in [("mono", x, {x}), ("multi", "all", set(LANGS))] + [
            ("cross", y, {y}) for y in LANGS if y != x
        ]:
            want = oracle(suite, scores, x, pool)
            if want is None:
                continue  # no scorable query: the cell must be absent
            expected_cells.add((setting, x, y))
            for metric in ("map", "recall@10"):
                got = cells.loc[(setting, x, y, metric)]
                assert abs(got["value"] - want[metric]) < 1e-9, (setting, x, y, metric)
                assert got["n"] == want["n"]
    assert {k[:3] for k in cells.index} == expected_cells
