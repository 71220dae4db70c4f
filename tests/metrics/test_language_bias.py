"""Rank distance (language bias): hand examples, the random-ranking expectation, aggregation."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hybridlib.metrics import (
    evaluate_scores,
    expected_random_rank_distance,
    rank_distance,
    relevant_ranks,
)


def test_hand_example_with_ties_and_languages():
    # Pool of 6: ids a..f. Scores per query (ties broken by id descending):
    # q0 (en): .9 .8 .7 .6 .5 .4, relevant a, d  -> ranks 1, 4 -> d = 3
    # q1 (en): all scores tied, relevant b, e   -> order f(1) e(2) d(3) c(4) b(5) a(6):
    #          ranks 2 and 5 -> d = 3
    # q2 (de): .1 .2 .3 .4 .5 .6, relevant a, b, f -> f=1, b=5, a=6 -> d = 5
    # q3 (de): relevant only c -> fewer than 2 relevant -> NaN, excluded
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            [0.5] * 6,
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        ]
    )
    relevance = np.array(
        [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [1, 1, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0]]
    )
    result = rank_distance(scores, relevance, ["en", "en", "de", "de"], list("abcdef"))
    np.testing.assert_array_equal(result.per_query[:3], [3, 3, 5])
    assert np.isnan(result.per_query[3])
    assert (result.n, result.n_excluded) == (3, 1)
    assert result.per_language == {"de": 5.0, "en": 3.0}
    assert result.mean == pytest.approx((5 + 3) / 2)  # mean of language means, not of queries
    # E_random = (R-1)(N+1)/(R+1): R=2, N=6 -> 1*7/3; R=3 -> 2*7/4 = 3.5
    np.testing.assert_allclose(result.normalised_per_query[:3], [3 / (7 / 3), 3 / (7 / 3), 5 / 3.5])
    assert result.normalised_per_language["en"] == pytest.approx(9 / 7)
    assert result.normalised_mean == pytest.approx((9 / 7 + 10 / 7) / 2)


def test_without_languages_one_group():
    scores = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    relevance = np.array([[1, 1, 0, 0], [1, 0, 0, 1]])  # ranks 1,2 -> 1; ranks 4,1 -> 3
    result = rank_distance(scores, relevance)
    assert result.per_language == {"all": 2.0}
    assert result.mean == 2.0


@pytest.mark.parametrize("pool, n_relevant", [(6, 2), (7, 3), (9, 4), (8, 8)])
def test_expected_random_distance_by_enumeration(pool, n_relevant):
    # Average max - min over every placement of the relevant set among the ranks 1..N.
    spreads = [max(c) - min(c) for c in combinations(range(1, pool + 1), n_relevant)]
    assert expected_random_rank_distance(n_relevant, pool) == pytest.approx(np.mean(spreads))


def test_normalised_distance_is_about_one_for_random_scores():
    rng = np.random.default_rng(7)
    scores = rng.random((3000, 200))
    relevance = np.zeros((3000, 200), dtype=int)
    relevance[:, :5] = 1
    result = rank_distance(scores, relevance)
    # mean of 3000 ratios with std ~0.3 each: within 0.03 of 1 by a wide margin
    assert result.normalised_mean == pytest.approx(1.0, abs=0.03)


def test_rank_distance_uses_the_same_ranks_as_the_measures():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 3, size=(10, 30)).astype(float)
    relevance = np.zeros((10, 30), dtype=int)
    relevance[:, [2, 11, 17]] = 1
    ids = [f"p{v}" for v in rng.permutation(30)]
    ranked = relevant_ranks(scores, relevance, ids)
    result = rank_distance(scores, relevance, candidate_ids=ids)
    np.testing.assert_array_equal(result.per_query, ranked.ranks[:, 2] - ranked.ranks[:, 0])
    # success@k = 1 and recall@k = 1 exactly when the whole set lies within the top k
    top = ranked.ranks[:, 2]
    rec = evaluate_scores(scores, relevance, ["recall@10"], ids)["recall@10"]
    np.testing.assert_array_equal(rec == 1.0, top <= 10)


def test_language_list_must_match_queries():
    with pytest.raises(ValueError, match="query_languages has 1 entries, but there are 2"):
        rank_distance(np.zeros((2, 3)), np.ones((2, 3)), ["en"])


# ---------------------------------------------------------------------------------------------
# the share of variance between the languages' means


def test_language_variance_share_by_hand():
    from hybridlib.metrics.language_bias import language_variance_share

    # en: (0, 0), (2, 0), mean (1, 0); de: (0, 2), (2, 2), mean (1, 2); grand mean (1, 1).
    # between: 2 * 1 + 2 * 1 = 4; total: each row is 1 + 1 = 2 from the mean, 4 rows: 8
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert language_variance_share(x, ["en", "en", "de", "de"]) == pytest.approx(0.5)
    # the same rows split so that both languages have mean (1, 1): nothing between
    assert language_variance_share(x, ["en", "de", "de", "en"]) == pytest.approx(0.0)
    # each language one point: everything between
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    assert language_variance_share(y, ["en", "en", "de"]) == pytest.approx(1.0)


def test_language_variance_share_equals_the_anova_of_each_dimension_summed():
    """An independent computation: per dimension, the between-group sum of squares of a
    one-way analysis of variance (scipy's f_oneway gives F; here from its definition with
    pandas' groupby), summed over dimensions, over the total sum of squares."""
    from hybridlib.metrics.language_bias import language_variance_share

    rng = np.random.default_rng(0)
    languages = rng.choice(["ar", "de", "en", "zh"], size=200)
    shift = {"ar": 0.5, "de": -0.2, "en": 0.0, "zh": 1.0}
    x = rng.standard_normal((200, 5)) + np.array([shift[lang] for lang in languages])[:, None]
    import pandas as pd

    frame = pd.DataFrame(x).assign(language=languages)
    means = frame.groupby("language").transform("mean").to_numpy()
    between = ((means - x.mean(axis=0)) ** 2).sum()
    total = ((x - x.mean(axis=0)) ** 2).sum()
    assert language_variance_share(x, list(languages)) == pytest.approx(between / total)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, 3), elements=st.floats(-5, 5)),
            st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n),
        )
    ),
    st.floats(0.1, 10),
    st.floats(-3, 3),
)
def test_language_variance_share_is_a_share_unchanged_by_scale_and_shift(data, scale, shift):
    from hybridlib.metrics.language_bias import language_variance_share

    x, languages = data
    share = language_variance_share(x, languages)
    assert -1e-12 <= share <= 1 + 1e-12
    if ((x - x.mean(axis=0)) ** 2).sum() > 1e-6:
        assert language_variance_share(scale * x + shift, languages) == pytest.approx(
            share, abs=1e-9
        )


def test_language_variance_share_refuses_rows_without_a_language():
    from hybridlib.metrics.language_bias import language_variance_share

    with pytest.raises(ValueError, match="one language per row"):
        language_variance_share(np.zeros((3, 2)), ["en", "de"])
