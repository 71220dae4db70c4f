"""LAReQA settings on a hand-made 2-language suite, values computed by hand (see conftest).
Every setting cell equals pytrec_eval on the pool-restricted qrels and run (random suites)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.data.types import Candidate, Query, RetrievalSuite
from hybridlib.evaluation import RESULT_COLUMNS, DenseScorer, evaluate_settings

from .conftest import MatrixScorer


def value(results: pd.DataFrame, setting: str, x: str, y: str, metric: str) -> tuple[float, int]:
    row = results[
        (results["setting"] == setting)
        & (results["query_language"] == x)
        & (results["candidate_language"] == y)
        & (results["metric"] == metric)
    ]
    assert len(row) == 1, f"expected one row for {setting} {x}->{y} {metric}, got {len(row)}"
    return float(row["value"].iloc[0]), int(row["n"].iloc[0])


@pytest.fixture
def result(two_language_suite, two_language_scores):
    return evaluate_settings(two_language_suite, MatrixScorer(two_language_scores))


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


def test_mono_by_hand(result):
    # en pool e1 .9 e2 .5 e3 .7: q1-en finds e1 at 1 (AP 1); q2-en finds e2 at rank 2 (AP 1/2)
    assert value(result.results, "mono", "en", "en", "map") == pytest.approx((0.75, 2))
    assert value(result.results, "mono", "en", "en", "recall@1") == pytest.approx((0.5, 2))
    assert value(result.results, "mono", "en", "en", "recall@10") == pytest.approx((1.0, 2))
    # de pool d1 .7 d3 .6 d4 .3: q3-de finds d3 at rank 2
    assert value(result.results, "mono", "de", "de", "map") == pytest.approx((0.5, 1))
    # macro: mean of the two languages, n = evaluations
    assert value(result.results, "mono", "all", "all", "map") == pytest.approx((0.625, 3))


def test_cross_skips_queries_and_pairs_without_relevant(result):
    # en -> de: q1-en pool d1 .6 d3 .8 d4 .1 -> d1 at rank 2; q2-en has no de answer: skipped
    assert value(result.results, "cross", "en", "de", "map") == pytest.approx((0.5, 1))
    # de -> en: q3-de has no en answer, so the whole pair is skipped (no row), not scored 0
    de_en = result.results[
        (result.results["setting"] == "cross") & (result.results["query_language"] == "de")
    ]
    assert de_en.empty
    assert value(result.results, "cross", "all", "all", "map") == pytest.approx((0.5, 1))
    skipped = result.per_query[result.per_query["query_id"] == "q2-en"]
    assert set(skipped["setting"]) == {"mono", "multi"}


def test_multi_and_rank_distance_by_hand(result):
    # q1-en over all: e1 .9 (1) d3 .8 (2) e3 .7 (3) d1 .6 (4) -> AP (1/1 + 2/4)/2 = .75
    # q2-en over all: d1 .95 (1) e1 .4 (2) e2 .3 (3) -> AP 1/3
    assert value(result.results, "multi", "en", "all", "map") == pytest.approx(
        ((0.75 + 1 / 3) / 2, 2)
    )
    assert value(result.results, "multi", "en", "all", "recall@1") == pytest.approx((0.25, 2))
    # q3-de over all: e2 .9 d1 .7 d3 .6 -> rank 3
    assert value(result.results, "multi", "de", "all", "map") == pytest.approx((1 / 3, 1))
    assert value(result.results, "multi", "all", "all", "map") == pytest.approx(
        (((0.75 + 1 / 3) / 2 + 1 / 3) / 2, 3)
    )
    # rank distance only for q1-en (2 relevant): 4 - 1 = 3; normalised by (R-1)(N+1)/(R+1) = 7/3
    assert value(result.results, "multi", "en", "all", "rank_distance") == pytest.approx((3.0, 1))
    assert value(result.results, "multi", "en", "all", "rank_distance_norm") == pytest.approx(
        (9 / 7, 1)
    )
    assert result.results[result.results["metric"] == "rank_distance"]["setting"].eq("multi").all()


def test_per_query_values_average_to_the_cells(result):
    cells = result.results[result.results["query_language"] != "all"]
    means = result.per_query.groupby(
        ["suite", "setting", "query_language", "candidate_language", "metric"]
    )["value"].agg(["mean", "size"])
    for row in cells.itertuples():
        mean, size = means.loc[
            (row.suite, row.setting, row.query_language, row.candidate_language, row.metric)
        ]
        assert mean == pytest.approx(row.value)
        assert size == row.n


def test_tidy_schema_and_matrix(result):
    assert list(result.results.columns) == RESULT_COLUMNS
    assert result.results["n"].dtype.kind == "i"
    assert result.results["value"].dtype.kind == "f"
    assert not result.results.duplicated(RESULT_COLUMNS[:5]).any()
    assert list(result.per_query.columns) == [
        "suite", "setting", "query_language", "candidate_language", "query_id", "cluster", "metric",
        "value",
    ]  # fmt: skip
    # the unit of a test: a query's cluster is its parallel key
    clusters = dict(zip(result.per_query["query_id"], result.per_query["cluster"]))
    assert clusters["q1-en"] == "1" and clusters["q3-de"] == "3"
    matrix = result.matrix("map")
    assert matrix.loc["en", "en"] == pytest.approx(0.75)
    assert matrix.loc["en", "de"] == pytest.approx(0.5)
    assert matrix.loc["de", "de"] == pytest.approx(0.5)
    assert np.isnan(matrix.loc["de", "en"])  # skipped pair


def test_dense_scorer_matches_matrix(two_language_suite):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 8)).astype(np.float32)
    c = rng.normal(size=(6, 8)).astype(np.float32)
    dense = evaluate_settings(two_language_suite, DenseScorer(q, c))
    fixed = evaluate_settings(two_language_suite, MatrixScorer(q @ c.T))
    pd.testing.assert_frame_equal(dense.results, fixed.results)


def test_unknown_setting_is_an_error(two_language_suite, two_language_scores):
    with pytest.raises(ValueError, match="settings must be among"):
        evaluate_settings(
            two_language_suite, MatrixScorer(two_language_scores), settings=("mono", "pooled")
        )


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


def test_a_query_that_is_also_a_candidate_is_left_out_of_its_own_pool() -> None:
    """In a multi-way parallel set (captions, TICO-19) every text is a query and a candidate
    under one id: in Mono and Multi it was its own first answer. Oracle: the same suite with
    the query's own text removed from its pool, query by query."""
    texts = {("en", "1"): "a dog", ("en", "1b"): "a brown dog", ("de", "1"): "ein hund",
             ("en", "2"): "a cat", ("de", "2"): "eine katze"}  # fmt: skip
    image = {"1": "1", "1b": "1", "2": "2"}
    items = [(f"{lang}/{key}", lang, text, image[key]) for (lang, key), text in texts.items()]
    queries = [Query(i, lang, text, parallel_key=k) for i, lang, text, k in items]
    candidates = [Candidate(i, lang, text, article=k) for i, lang, text, k in items]
    qrels = {q.id: {c.id: 1 for c in candidates if c.article == q.parallel_key and c.id != q.id}
             for q in queries}  # fmt: skip
    rng = np.random.default_rng(0)
    scores = rng.random((len(queries), len(candidates)))
    np.fill_diagonal(scores, 2.0)  # its own text: the best score of every row
    suite = RetrievalSuite("toy", queries, candidates, qrels)
    ours = evaluate_settings(suite, MatrixScorer(scores), settings=("mono", "multi"),
                             aggregate=False).per_query  # fmt: skip
    for i, query in enumerate(queries):
        keep = [j for j in range(len(candidates)) if j != i]
        alone = RetrievalSuite("toy", [query], [candidates[j] for j in keep],
                               {query.id: qrels[query.id]})  # fmt: skip
        oracle = evaluate_settings(alone, MatrixScorer(scores[np.ix_([i], keep)]),
                                   settings=("mono", "multi"), aggregate=False).per_query  # fmt: skip
        mine = ours[ours["query_id"] == query.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, oracle.reset_index(drop=True))
    multi_map = ours[(ours["setting"] == "multi") & (ours["metric"] == "map")]["value"]
    assert (multi_map < 1).any() and (multi_map > 0).all()


def test_the_evaluation_is_its_cells_evaluated_one_by_one(two_language_suite, two_language_scores):
    """evaluate_settings builds its frames once for all cells (a 33-language suite has over a
    thousand); they equal each cell's own frames (evaluate_cell) concatenated in cell order."""
    from hybridlib.evaluation.lareqa import RelevanceIndex, SettingsResult, evaluate_cell

    scorer = MatrixScorer(two_language_scores)
    whole = evaluate_settings(two_language_suite, scorer, aggregate=False)
    index = RelevanceIndex.of(two_language_suite)
    language = np.array([q.language for q in two_language_suite.queries])
    pool = np.array([c.language for c in two_language_suite.candidates])
    parts = []
    for x in ("de", "en"):
        for setting, y, cols in [("mono", x, np.flatnonzero(pool == x)),
                                 *[("cross", y, np.flatnonzero(pool == y)) for y in ("de", "en") if y != x],
                                 ("multi", "all", np.arange(len(pool)))]:  # fmt: skip
            measures = ("map", "recall@1", "recall@10") + (
                ("rank_distance", "rank_distance_norm") if setting == "multi" else ()
            )
            part = evaluate_cell(two_language_suite, scorer, np.flatnonzero(language == x), cols,
                                 measures, suite_name="toy", setting=setting, query_language=x,
                                 candidate_language=y, index=index)  # fmt: skip
            if part is not None:
                parts.append(part)
    one_by_one = SettingsResult.concat(parts)
    pd.testing.assert_frame_equal(whole.results, one_by_one.results)
    pd.testing.assert_frame_equal(whole.per_query, one_by_one.per_query)
