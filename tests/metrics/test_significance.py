"""Randomization test, bootstrap, corrections, seed aggregation, comparison tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from hybridlib.metrics import (
    adjust_p_values,
    aggregate_seeds,
    bootstrap_ci,
    compare,
    compare_table,
    holm,
    randomization_test,
    seed_summary,
)


def test_randomization_hand_example_exact():
    # d = a - b = [1, 2, 3], T = 6. Sign patterns give T* = +-1 +-2 +-3 in
    # {6, 4, 2, 0, 0, -2, -4, -6}; |T*| >= 6 for 2 of 8 -> p = 0.25.
    result = randomization_test([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert result.exact and result.n_resamples == 8
    assert result.p_value == pytest.approx(0.25)
    assert result.statistic == pytest.approx(2.0)


def test_exact_agrees_with_scipy_permutation_test():
    rng = np.random.default_rng(1)
    a, b = rng.random(11), rng.random(11)
    ours = randomization_test(a, b, n_resamples=2**11)
    theirs = scipy.stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=2**11,
    )
    assert ours.exact
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)


def test_identical_systems_give_p_one():
    x = np.random.default_rng(2).random(500)
    assert randomization_test(x, x).p_value == 1.0
    assert randomization_test(x[:5], x[:5]).p_value == 1.0  # exact branch


def test_strongly_different_systems_give_tiny_p():
    rng = np.random.default_rng(3)
    a = rng.random(200)
    result = randomization_test(a + 0.2, a, n_resamples=2000)
    assert not result.exact
    assert result.p_value == pytest.approx(1 / 2001)  # the +1 correction: never 0


def test_monte_carlo_is_seeded_and_close_to_exact():
    rng = np.random.default_rng(4)
    a, b = rng.random(16), rng.random(16) + 0.1
    exact = randomization_test(a, b, n_resamples=2**16).p_value
    first = randomization_test(a, b, n_resamples=5000, seed=11)
    again = randomization_test(a, b, n_resamples=5000, seed=11)
    other = randomization_test(a, b, n_resamples=5000, seed=12)
    assert first == again
    assert first.p_value != other.p_value
    # Monte Carlo standard error sqrt(p(1-p)/5000) <= 0.0071; allow 4 of them
    assert abs(first.p_value - exact) < 0.03


def test_unscored_queries_are_dropped_in_pairs_and_must_match():
    a = np.array([0.5, np.nan, 0.7])
    assert randomization_test(a, a).n == 2
    with pytest.raises(ValueError, match="NaN .* at different queries"):
        randomization_test(a, np.array([0.5, 0.6, 0.7]))
    with pytest.raises(ValueError, match="3 and 2"):
        randomization_test(a, a[:2])


def test_holm_hand_example():
    # p = [.01, .04, .03, .005]; sorted .005, .01, .03, .04 times 4, 3, 2, 1
    # = .02, .03, .06, .04; running max .02, .03, .06, .06; back in input order:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # capped at 1
    assert holm([]).size == 0


def test_other_corrections():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_allclose(adjust_p_values(p, "bh"), scipy.stats.false_discovery_control(p))
    np.testing.assert_array_equal(adjust_p_values(p, "none"), p)
    with pytest.raises(ValueError, match="unknown correction 'fdr'"):
        adjust_p_values(p, "fdr")


def test_bootstrap_ci_contains_the_mean_and_is_seeded():
    x = np.random.default_rng(5).normal(0.6, 0.2, size=400)
    ci = bootstrap_ci(x, n_resamples=2000, seed=1)
    assert ci.low < ci.mean < ci.high
    assert ci.mean == pytest.approx(x.mean())
    assert bootstrap_ci(x, n_resamples=2000, seed=1) == ci
    # close to the t-interval for a mean of 400 normal values (half width ~0.0197)
    t_low, t_high = scipy.stats.t.interval(0.95, 399, loc=x.mean(), scale=scipy.stats.sem(x))
    assert ci.low == pytest.approx(t_low, abs=0.004) and ci.high == pytest.approx(t_high, abs=0.004)
    constant = bootstrap_ci(np.full(10, 0.3))
    assert constant.low == constant.high == constant.mean == pytest.approx(0.3)


def test_seed_summary_hand_example():
    # mean .71, std (ddof=1) .01; t_{0.975, 2} = 4.303 (tables); half width 4.303 * .01 / sqrt(3)
    s = seed_summary([0.70, 0.72, 0.71])
    assert s.mean == pytest.approx(0.71) and s.std == pytest.approx(0.01)
    half = 4.303 * 0.01 / np.sqrt(3)
    assert s.low == pytest.approx(0.71 - half, abs=1e-5)
    assert s.high == pytest.approx(0.71 + half, abs=1e-5)
    one = seed_summary([0.7])
    assert one.n == 1 and np.isnan(one.low)


def test_aggregate_seeds_over_a_tidy_table():
    results = pd.DataFrame(
        {
            "setting": ["mono"] * 3 + ["multi"] * 3,
            "seed": [0, 1, 2] * 2,
            "value": [0.70, 0.72, 0.71, 0.50, 0.50, 0.50],
        }
    )
    out = aggregate_seeds(results)
    assert list(out.columns) == ["setting", "mean", "std", "ci_low", "ci_high", "n_seeds"]
    assert out["mean"].tolist() == pytest.approx([0.71, 0.50])
    assert out["n_seeds"].tolist() == [3, 3]
    assert out.loc[1, "ci_low"] == out.loc[1, "ci_high"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no column 'score'"):
        aggregate_seeds(results, value="score")


def _three_systems():
    rng = np.random.default_rng(6)
    base = rng.random(300)
    noise = 0.01 * rng.standard_normal(300)
    return {
        "x-x": {"map": base, "rank_distance": 100 + 10 * base},
        # better on both
        "hybrid": {"map": base + 0.1 + noise, "rank_distance": 80 + 10 * base + noise},
        "x-y": {"map": base.copy(), "rank_distance": 100 + 10 * base},  # same as x-x
    }


def test_compare_table_marks_best_and_significant_wins():
    table = compare_table(_three_systems(), n_resamples=1000)
    assert table.shape == (3, 3)
    assert list(table.columns) == ["#", "map", "rank_distance"]
    assert table["#"].tolist() == ["a", "b", "c"]
    # hybrid (b) is best on both (lower rank distance is better) and beats a and c
    assert table.loc["hybrid", "map"].startswith("**") and table.loc["hybrid", "map"].endswith("ᵃᶜ")
    assert (
        table.loc["hybrid", "rank_distance"]
        == f"**{_three_systems()['hybrid']['rank_distance'].mean():.3f}**ᵃᶜ"
    )
    # identical systems beat nobody
    assert table.loc["x-x", "map"] == f"{_three_systems()['x-x']['map'].mean():.3f}"
    assert "ᵃ" not in table.loc["x-y", "map"]


def test_compare_against_a_baseline_only():
    result = compare(_three_systems(), baseline="x-x", n_resamples=1000)
    assert set(zip(result.tests["system"], result.tests["other"])) == {
        ("hybrid", "x-x"),
        ("x-x", "hybrid"),
        ("x-y", "x-x"),
        ("x-x", "x-y"),
    }
    wins = result.tests[result.tests["better"]]
    assert set(zip(wins["measure"], wins["system"], wins["other"])) == {
        ("map", "hybrid", "x-x"),
        ("rank_distance", "hybrid", "x-x"),
    }
    # Holm over the 2 tests of each measure: adjusted = 2 * smallest p
    m = result.tests[(result.tests["measure"] == "map") & (result.tests["system"] == "hybrid")]
    assert m["p_adjusted"].iloc[0] == pytest.approx(min(1.0, 2 * m["p_value"].iloc[0]))
    t_test = compare(_three_systems(), baseline="x-x", test="t-test")
    assert t_test.tests["better"].sum() == 2


def test_compare_refuses_bad_input():
    systems = _three_systems()
    with pytest.raises(ValueError, match="baseline 'bm25' is not among"):
        compare(systems, baseline="bm25")
    with pytest.raises(ValueError, match="at least 2 systems"):
        compare({"x": systems["x-x"]})
    with pytest.raises(ValueError, match="has measures"):
        compare({"x": systems["x-x"], "y": {"map": systems["x-x"]["map"]}})


def test_compare_aligns_series_by_query_id_not_by_position():
    """Values keyed by query id in another order give the result of aligned arrays; a
    positional comparison of the shuffled values would pair different queries."""
    systems = _three_systems()
    ids = [f"q{i}" for i in range(len(systems["x-x"]["map"]))]
    order = np.random.default_rng(0).permutation(len(ids))
    keyed = {
        name: {m: pd.Series(v, index=ids) if name == "x-x" else pd.Series(v[order], index=np.asarray(ids)[order])
               for m, v in measures.items()}
        for name, measures in systems.items()
    }  # fmt: skip
    aligned = compare(systems, baseline="x-x", n_resamples=1000)
    by_id = compare(keyed, baseline="x-x", n_resamples=1000)
    pd.testing.assert_frame_equal(by_id.tests, aligned.tests)
    shuffled = {
        name: {m: np.asarray(v) for m, v in measures.items()} for name, measures in keyed.items()
    }
    paired = compare(systems, baseline="x-x", test="t-test").tests["p_value"]
    positional = compare(shuffled, baseline="x-x", test="t-test").tests["p_value"]
    np.testing.assert_allclose(
        compare(keyed, baseline="x-x", test="t-test").tests["p_value"], paired, rtol=1e-9
    )
    assert not np.allclose(positional, paired)  # pairing other queries changes the test


def test_compare_refuses_series_on_other_queries_or_mixed_inputs():
    a = pd.Series([0.1, 0.2, 0.3], index=["q1", "q2", "q3"])
    b = pd.Series([0.1, 0.2, 0.3], index=["q1", "q2", "q4"])
    with pytest.raises(
        ValueError,
        match=r"'s' and 'o' on 'map' are scored on different queries: 1 only in the first, 1 only in the second \(e.g. query id 'q3'\)",
    ):
        compare({"s": {"map": a}, "o": {"map": b}})
    with pytest.raises(TypeError, match="not one of each"):
        compare({"s": {"map": a}, "o": {"map": np.array([0.1, 0.2, 0.3])}})
    twice = pd.Series([0.1, 0.2, 0.3], index=["q1", "q1", "q2"])
    with pytest.raises(ValueError, match="has query id 'q1' more than once"):
        compare({"s": {"map": twice}, "o": {"map": a}})
