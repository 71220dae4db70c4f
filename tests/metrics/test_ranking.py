"""The one ranking function: trec_eval's tie rule, both code paths, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval
import scipy.sparse as sp

from hybridlib.metrics import rank_order, ranking, relevant_ranks, tie_break_keys


def test_tie_rule_is_trec_evals_descending_id():
    # One relevant document "b" tied with others; where trec_eval ranks it tells the rule.
    cases = {
        ("a", "b", "c"): 2,  # order c, b, a
        ("a", "b"): 1,  # b before a
        ("b", "c"): 2,  # c before b
        ("b", "B"): 1,  # "b" (0x62) > "B" (0x42)
        ("b", "é"): 2,  # "é" sorts after every ASCII letter (code point / UTF-8 byte order)
        ("b", "b0"): 2,  # a longer id with the same prefix is larger
    }
    for ids, expected_rank in cases.items():
        run = {"q": {d: 1.0 for d in ids}}
        trec = pytrec_eval.RelevanceEvaluator({"q": {"b": 1}}, {"recip_rank"}).evaluate(run)
        assert trec["q"]["recip_rank"] == pytest.approx(1 / expected_rank)
        ranked = relevant_ranks(
            np.ones((1, len(ids))), np.array([[d == "b" for d in ids]], dtype=int), list(ids)
        )
        assert ranked.ranks[0, 0] == expected_rank, ids


def test_tie_break_keys_descending_strings():
    # descending: "c" (key 0), "b" (1), "a" (2); "10" < "9" as strings
    assert tie_break_keys(["a", "c", "b"]).tolist() == [2, 0, 1]
    assert tie_break_keys(["9", "10"]).tolist() == [0, 1]


def test_hand_ranks_with_ties():
    # scores a=.9 b=.5 c=.5 d=.5 e=.1; ties b, c, d ordered d, c, b by id descending:
    # ranking a(1) d(2) c(3) b(4) e(5).
    scores = np.array([[0.9, 0.5, 0.5, 0.5, 0.1]])
    everything = np.ones((1, 5), dtype=int)
    ranked = relevant_ranks(scores, everything, ["a", "b", "c", "d", "e"])
    assert ranked.ranks.tolist() == [[1, 2, 3, 4, 5]]
    assert rank_order(scores, ["a", "b", "c", "d", "e"]).tolist() == [[0, 3, 2, 1, 4]]
    # Without ids the earlier column wins a tie: a(1) b(2) c(3) d(4) e(5).
    assert rank_order(scores).tolist() == [[0, 1, 2, 3, 4]]
    assert rank_order(scores, k=2).tolist() == [[0, 1]]


def _ranks_by_full_sort(scores, relevance, keys):
    """Oracle from the full ranking: 1-based position of each relevant candidate, sorted."""
    order = rank_order(scores, tie_keys=keys)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return [sorted(position[i, relevance[i] > 0].tolist()) for i in range(scores.shape[0])]


def test_counting_agrees_with_full_sort(rng):
    scores = rng.integers(0, 6, size=(40, 150)).astype(np.float32)  # many ties
    relevance = (rng.random((40, 150)) < 0.1).astype(int)
    relevance[3, :100] = 1  # > 64 relevant: this query takes the full-sort path
    keys = tie_break_keys([f"id{v}" for v in rng.permutation(150)])
    ranked = relevant_ranks(scores, relevance, tie_keys=keys)
    expected = _ranks_by_full_sort(scores, relevance, keys)
    for i in range(40):
        n = ranked.n_relevant[i]
        assert ranked.ranks[i, :n].tolist() == expected[i]
        assert np.isinf(ranked.ranks[i, n:]).all()
    # a tiny memory block (one query at a time) changes nothing
    small = relevant_ranks(scores, relevance, tie_keys=keys, block_elements=1)
    np.testing.assert_array_equal(small.ranks, ranked.ranks)


def test_per_query_tie_keys_equal_shared_keys(rng):
    scores = rng.integers(0, 3, size=(5, 12)).astype(float)
    relevance = (rng.random((5, 12)) < 0.3).astype(int)
    keys = tie_break_keys([f"x{v}" for v in rng.permutation(12)])
    shared = relevant_ranks(scores, relevance, tie_keys=keys)
    per_query = relevant_ranks(scores, relevance, tie_keys=np.tile(keys, (5, 1)))
    np.testing.assert_array_equal(shared.ranks, per_query.ranks)


def test_sparse_relevance_equals_dense(rng):
    scores = rng.random((20, 30))
    relevance = np.where(rng.random((20, 30)) < 0.2, rng.integers(1, 3, (20, 30)), 0)
    dense = relevant_ranks(scores, relevance)
    sparse = relevant_ranks(scores, sp.csr_matrix(relevance))
    np.testing.assert_array_equal(dense.ranks, sparse.ranks)
    np.testing.assert_array_equal(dense.grades, sparse.grades)


def test_grades_follow_their_ranks():
    # relevant d (grade 2) at rank 2 and b (grade 1) at rank 4, see test_hand_ranks_with_ties
    ranked = relevant_ranks(
        np.array([[0.9, 0.5, 0.5, 0.5, 0.1]]), np.array([[0, 1, 0, 2, 0]]), list("abcde")
    )
    assert ranked.ranks.tolist() == [[2, 4]]
    assert ranked.grades.tolist() == [[2, 1]]
    assert ranked.n_relevant.tolist() == [2]
    assert ranked.pool_size.tolist() == [5]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scores=np.zeros(3), relevance=np.zeros(3)), "2-D array"),
        (dict(scores=np.zeros((2, 3)), relevance=np.zeros((2, 4))), "relevance has shape"),
        (dict(scores=np.array([[0.1, np.nan]]), relevance=np.ones((1, 2))), "1 NaN"),
        (dict(scores=np.zeros((1, 2)), relevance=np.array([[1, -1]])), "must be >= 0"),
        (dict(scores=np.zeros((1, 2)), relevance=np.array([[1.0, 0.5]])), "integers"),
        (dict(scores=np.zeros((1, 2)), relevance=np.ones((1, 2)), candidate_ids=["a"]), "1 ids"),
        (
            dict(scores=np.zeros((1, 2)), relevance=np.ones((1, 2)), candidate_ids=["a", "a"]),
            "'a' occurs 2",
        ),
        (
            dict(scores=np.zeros((1, 2)), relevance=np.ones((1, 2)), tie_keys=np.arange(3)),
            "tie_keys must",
        ),
        (
            dict(
                scores=np.zeros((1, 2)),
                relevance=np.ones((1, 2)),
                candidate_ids=["a", "b"],
                tie_keys=np.arange(2),
            ),
            "not both",
        ),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    scores, relevance = kwargs.pop("scores"), kwargs.pop("relevance")
    with pytest.raises(ValueError, match=message):
        relevant_ranks(scores, relevance, **kwargs)


def test_sort_threshold_is_what_the_counting_test_exercises():
    # test_counting_agrees_with_full_sort gives a query 100 relevant candidates
    assert ranking._SORT_ABOVE_N_RELEVANT < 100


def test_rank_order_in_blocks_equals_one_sort(rng):
    scores = rng.integers(0, 4, size=(9, 20)).astype(float)
    ids = [f"u{v}" for v in rng.permutation(20)]
    whole = rank_order(scores, ids)
    np.testing.assert_array_equal(rank_order(scores, ids, block_elements=1), whole)
    np.testing.assert_array_equal(rank_order(scores, ids, k=3, block_elements=40), whole[:, :3])
    with pytest.raises(ValueError, match="k must be >= 1, but got 0"):
        rank_order(scores, ids, k=0)


@pytest.mark.parametrize("seed", range(20))
def test_an_excluded_candidate_ranks_as_if_it_were_not_in_the_pool(seed: int) -> None:
    """The oracle: the same query against its pool with the excluded column removed."""
    from hybridlib.metrics.measures import evaluate_scores

    measures = ["map", "recall@3", "ndcg@5", "mrr", "rank_distance", "rank_distance_norm"]

    rng = np.random.default_rng(seed)
    n_q, n_c = 5, 12
    scores = rng.integers(0, 4, size=(n_q, n_c)).astype(float)  # many ties
    relevance = (rng.random((n_q, n_c)) < 0.3).astype(int)
    ids = [f"c{j:02d}" for j in range(n_c)]
    excluded = np.zeros((n_q, n_c), dtype=bool)
    for i in range(n_q):
        free = np.flatnonzero(relevance[i] == 0)
        if free.size:
            excluded[i, rng.choice(free)] = True
    ours = evaluate_scores(scores, relevance, measures, ids, excluded=excluded)
    for i in range(n_q):
        keep = ~excluded[i]
        alone = evaluate_scores(scores[i : i + 1, keep], relevance[i : i + 1, keep], measures,
                                [c for c, k in zip(ids, keep) if k])  # fmt: skip
        for name, values in alone.items():
            np.testing.assert_equal(ours[name][i], values[0], err_msg=f"{name}, query {i}")


def test_a_relevant_candidate_cannot_be_excluded() -> None:
    with pytest.raises(ValueError, match="relevant candidate cannot be excluded"):
        relevant_ranks(np.ones((1, 2)), np.array([[1, 0]]), excluded=np.array([[True, False]]))
