"""Measures: hand-computed values (ties included), pytrec_eval and sklearn oracles, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import average_precision_score, ndcg_score

from hybridlib.metrics import (
    MEASURES,
    Measure,
    evaluate_run,
    evaluate_scores,
    higher_is_better,
    mean_scores,
    measure_digits,
    measure_label,
    parse_measure,
    rank_distance,
    rank_order,
)

from .conftest import as_trec, random_tied_case, trec_eval

ALL = [
    "map",
    "map@5",
    "recall@1",
    "recall@5",
    "recall@10",
    "ndcg",
    "ndcg@3",
    "ndcg@10",
    "mrr",
    "precision@5",
    "success@1",
    "success@5",
]


# Query 0: scores a=.9 b=.5 c=.5 d=.5 e=.1, relevant b (grade 1) and d (grade 2).
# Ties b, c, d are ordered d, c, b (id descending): a(1) d(2) c(3) b(4) e(5),
# so the relevant ranks are d -> 2 (grade 2), b -> 4 (grade 1); R = 2.
# Query 1: nothing relevant -> NaN. Query 2: relevant a and b ranked 1 and 2 -> perfect.
HAND_SCORES = np.array(
    [[0.9, 0.5, 0.5, 0.5, 0.1], [0.9, 0.5, 0.5, 0.5, 0.1], [0.9, 0.8, 0.5, 0.5, 0.1]]
)
HAND_RELEVANCE = np.array([[0, 1, 0, 2, 0], [0, 0, 0, 0, 0], [1, 1, 0, 0, 0]])
HAND_IDS = ["a", "b", "c", "d", "e"]
L3, L5 = math.log2(3), math.log2(5)
HAND_EXPECTED = {
    "map": 0.5 * (1 / 2 + 2 / 4),  # (1/R) * sum m / r_m = (1/2)(1/2 + 2/4) = 0.5
    "map@3": 0.5 * (1 / 2),  # only r=2 within 3, still / R
    "recall@1": 0.0,
    "recall@2": 0.5,  # d found, b not
    "recall@4": 1.0,
    "success@1": 0.0,
    "success@2": 1.0,
    "mrr": 0.5,  # first relevant at rank 2
    "mrr@1": 0.0,  # beyond the cut-off
    "precision@4": 2 / 4,
    "ndcg@3": (2 / L3) / (2 / 1 + 1 / L3),  # DCG: grade 2 at rank 2; IDCG: grades 2, 1 at 1, 2
    "ndcg": (2 / L3 + 1 / L5) / (2 / 1 + 1 / L3),  # DCG adds grade 1 at rank 4
}
# Query 2, both relevant at ranks 1 and 2: everything 1 except recall@1 (1 of 2 found) and
# precision@4 (2 of 4 retrieved are relevant).
PERFECT_EXPECTED = {name: 1.0 for name in HAND_EXPECTED} | {"recall@1": 0.5, "precision@4": 0.5}


def test_hand_computed_values_with_ties():
    values = evaluate_scores(HAND_SCORES, HAND_RELEVANCE, list(HAND_EXPECTED), HAND_IDS)
    for name, expected in HAND_EXPECTED.items():
        assert values[name][0] == pytest.approx(expected, abs=1e-12), name
        assert np.isnan(values[name][1]), name  # no relevant candidate: excluded, never 0
        assert values[name][2] == pytest.approx(PERFECT_EXPECTED[name], abs=1e-12), name


def test_hand_values_without_ids_use_column_order():
    # Without ids b (column 1) wins the tie: a(1) b(2) c(3) d(4): b (grade 1) at 2, d (grade 2)
    # at 4.
    values = evaluate_scores(HAND_SCORES[:1], HAND_RELEVANCE[:1], ["map", "ndcg@3"])
    assert values["map"][0] == pytest.approx(0.5 * (1 / 2 + 2 / 4))
    assert values["ndcg@3"][0] == pytest.approx((1 / L3) / (2 + 1 / L3))


def test_mean_scores_skip_and_count_unscored_queries():
    means = mean_scores(evaluate_scores(HAND_SCORES, HAND_RELEVANCE, ["map"], HAND_IDS))
    assert means["map"].mean == pytest.approx((0.5 + 1.0) / 2)
    assert (means["map"].n, means["map"].n_excluded) == (2, 1)


def test_agrees_with_pytrec_eval_on_tied_random_runs(rng):
    for levels in (3, 10, 1000):  # heavy ties ... few ties
        scores, relevance, ids, qids = random_tied_case(rng, 25, 60, levels)
        ours = evaluate_scores(scores, relevance, ALL, ids)
        oracle = trec_eval(*as_trec(scores, relevance, ids, qids), ALL)
        for name in ALL:
            assert np.isnan(ours[name][0])
            expected = np.array([oracle[name][q] for q in qids[1:]])
            np.testing.assert_allclose(ours[name][1:], expected, rtol=0, atol=1e-9, err_msg=name)


def test_agrees_with_pytrec_eval_with_many_relevant(rng):
    # 100 of 150 candidates relevant: the query is ranked by the full-sort path.
    scores = rng.integers(0, 4, size=(3, 150)).astype(float)
    relevance = np.zeros((3, 150), dtype=int)
    relevance[0, rng.permutation(150)[:100]] = 1
    relevance[1, :2] = 2
    relevance[2, 10:90] = rng.integers(1, 3, size=80)
    ids = [f"c{v:04d}" for v in rng.permutation(150)]
    qids = ["x", "y", "z"]
    ours = evaluate_scores(scores, relevance, ALL, ids)
    oracle = trec_eval(*as_trec(scores, relevance, ids, qids), ALL)
    for name in ALL:
        np.testing.assert_allclose(ours[name], [oracle[name][q] for q in qids], atol=1e-9)


def test_evaluate_run_agrees_with_pytrec_eval_on_partial_runs(rng):
    # Runs retrieve a subset of documents (different per query); some relevant are never
    # retrieved and still count in R; one query has no relevant document (NaN).
    scores, relevance, ids, qids = random_tied_case(rng, 20, 50, 5)
    qrels, full_run = as_trec(scores, relevance, ids, qids)
    run = {q: {d: s for d, s in docs.items() if rng.random() < 0.7} for q, docs in full_run.items()}
    ours = evaluate_run(qrels, run, ALL)
    oracle = trec_eval(qrels, run, ALL)
    assert math.isnan(ours["map"]["q0"])
    for name in ALL:
        for q in qids[1:]:
            assert ours[name][q] == pytest.approx(oracle[name][q], abs=1e-9), (name, q)


def test_evaluate_run_equals_evaluate_scores_on_full_pools(rng):
    scores, relevance, ids, qids = random_tied_case(rng, 15, 40, 4)
    dense = evaluate_scores(scores, relevance, ALL, ids)
    from_dicts = evaluate_run(*as_trec(scores, relevance, ids, qids), ALL)
    for name in ALL:
        np.testing.assert_array_equal(dense[name], [from_dicts[name][q] for q in qids])


def test_evaluate_run_refuses_nan_scores():
    with pytest.raises(ValueError, match=r"run\['q'\] has NaN"):
        evaluate_run({"q": {"a": 1}}, {"q": {"a": float("nan")}}, ["map"])


def test_agrees_with_sklearn_on_tie_free_runs(rng):
    scores = rng.standard_normal((40, 200))
    assert all(np.unique(row).size == row.size for row in scores)  # no ties
    relevance = (rng.random((40, 200)) < 0.05).astype(int)
    relevance[:, 0] = 1  # every query has a relevant candidate
    graded = relevance * rng.integers(1, 4, size=relevance.shape)
    ours = evaluate_scores(scores, relevance, ["map"])
    ours_ndcg = evaluate_scores(scores, graded, ["ndcg@10"])
    for i in range(40):
        ap = average_precision_score(relevance[i], scores[i])
        assert ours["map"][i] == pytest.approx(ap, abs=1e-9)
        nd = ndcg_score(graded[i : i + 1], scores[i : i + 1], k=10)
        assert ours_ndcg["ndcg@10"][i] == pytest.approx(nd, abs=1e-9)


# ---- properties ---------------------------------------------------------------------------


@st.composite
def tied_cases(draw):
    n_q = draw(st.integers(1, 4))
    n_c = draw(st.integers(2, 12))
    scores = draw(hnp.arrays(np.int64, (n_q, n_c), elements=st.integers(-20, 20))).astype(float)
    relevance = draw(hnp.arrays(np.int64, (n_q, n_c), elements=st.integers(0, 2)))
    perm = draw(st.permutations(list(range(n_c))))
    ids = [f"d{p}" for p in perm]
    return scores, relevance, ids


@settings(max_examples=150, deadline=None)
@given(tied_cases())
def test_ap_in_unit_interval_and_one_iff_relevant_first(case):
    scores, relevance, ids = case
    ap = evaluate_scores(scores, relevance, ["map"], ids)["map"]
    order = rank_order(scores, ids)
    for i in range(scores.shape[0]):
        n_rel = int((relevance[i] > 0).sum())
        if n_rel == 0:
            assert np.isnan(ap[i])
            continue
        assert 0.0 < ap[i] <= 1.0
        all_first = bool((relevance[i, order[i, :n_rel]] > 0).all())
        assert (ap[i] == pytest.approx(1.0)) == all_first


@settings(max_examples=100, deadline=None)
@given(tied_cases())
def test_invariant_to_strictly_increasing_transforms(case):
    scores, relevance, ids = case
    base = evaluate_scores(scores, relevance, ALL, ids)
    for transformed in (3 * scores + 7, scores**3 + scores, scores.astype(np.float32)):
        other = evaluate_scores(transformed, relevance, ALL, ids)
        for name in ALL:
            np.testing.assert_array_equal(other[name], base[name])


@settings(max_examples=100, deadline=None)
@given(tied_cases(), st.randoms(use_true_random=False))
def test_invariant_to_permuting_candidates_with_their_ids(case, random):
    scores, relevance, ids = case
    perm = list(range(len(ids)))
    random.shuffle(perm)
    base = evaluate_scores(scores, relevance, ALL, ids)
    moved = evaluate_scores(scores[:, perm], relevance[:, perm], ALL, [ids[p] for p in perm])
    for name in ALL:
        np.testing.assert_allclose(moved[name], base[name], rtol=0, atol=1e-15)


# ---- names --------------------------------------------------------------------------------


def test_parse_measure_names():
    assert parse_measure("map") == Measure("map", None)
    assert parse_measure("nDCG@10") == Measure("ndcg", 10)
    assert str(parse_measure("recall@100")) == "recall@100"
    for bad, message in [
        ("recall", "needs a cut-off"),
        ("success", "needs a cut-off"),
        ("ndcg@0", "must be >= 1"),
        ("bpref", "unknown measure 'bpref'"),
        ("map@x", "unknown measure"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_measure(bad)


def test_unknown_measure_lists_known_ones():
    with pytest.raises(ValueError, match="known measures: map, map@k, ndcg"):
        evaluate_scores(np.zeros((1, 2)), np.ones((1, 2)), ["P@10"])


def test_every_registered_measure_is_checked_against_an_oracle():
    """A measure added to the registry without a pytrec_eval check (the rank distances: their
    own module's tests) fails here."""
    oracle_checked = {parse_measure(m).name for m in ALL} | {"rank_distance", "rank_distance_norm"}
    assert set(MEASURES) == oracle_checked


def test_registry_direction_labels_and_digits():
    assert higher_is_better("map") and higher_is_better("ndcg@10")
    assert not higher_is_better("rank_distance") and not higher_is_better("rank_distance_norm")
    assert measure_label("map") == "mAP"
    assert measure_label("recall@10") == "Recall@10"
    assert measure_label("nDCG@10") == "nDCG@10"
    assert measure_label("rank_distance") == "rank distance (lower is better)"
    assert measure_label("latency_ms") == "latency_ms"  # not a measure: shown as it is
    assert (measure_digits("map"), measure_digits("rank_distance")) == (3, 1)
    assert measure_digits("rank_distance_norm") == 3
    with pytest.raises(ValueError, match="takes no cut-off"):
        parse_measure("rank_distance@10")


def test_rank_distance_from_the_registry_equals_the_language_bias_module(rng):
    """Relevant at ranks 1 and 4 of 5 by hand: d = 3, E_random = (2-1)(5+1)/(2+1) = 2; and on
    random pools the registry's values are rank_distance's."""
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    relevance = np.array([[1, 0, 0, 1, 0]])
    values = evaluate_scores(scores, relevance, ["rank_distance", "rank_distance_norm", "map"])
    assert values["rank_distance"].tolist() == [3.0]
    assert values["rank_distance_norm"].tolist() == [1.5]
    assert values["map"].tolist() == [pytest.approx((1 / 1 + 2 / 4) / 2)]
    scores = rng.normal(size=(20, 30))
    relevance = (rng.random((20, 30)) < 0.2).astype(int)
    ids = [f"c{j:02d}" for j in range(30)]
    values = evaluate_scores(scores, relevance, ["rank_distance", "rank_distance_norm"], ids)
    reference = rank_distance(scores, relevance, candidate_ids=ids)
    np.testing.assert_array_equal(values["rank_distance"], reference.per_query)
    np.testing.assert_array_equal(values["rank_distance_norm"], reference.normalised_per_query)


def test_evaluate_run_accepts_non_string_ids_and_refuses_bad_grades():
    # docids compared as strings: 10 (int) in qrels matches "10" in the run; "9" > "10"
    qrels = {"q": {10: 1}}
    run = {"q": {"10": 0.5, "9": 0.5}}
    assert evaluate_run(qrels, run, ["mrr"])["mrr"]["q"] == 0.5
    for grade in (-1, 0.5):
        with pytest.raises(ValueError, match=r"qrels\['q'\]\['a'\] = .*integers >= 0"):
            evaluate_run({"q": {"a": grade}}, {"q": {"a": 1.0}}, ["map"])
