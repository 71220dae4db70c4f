"""Clustered two-level bootstrap, claim tests, claims table: hand values, properties, coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.metrics.clustered import (
    COLUMNS,
    TABLE_COLUMNS,
    ClusteredDraws,
    claim_test,
    claims_table,
    clustered_bootstrap,
    contrast_test,
)
from hybridlib.metrics.significance import holm

# Hand table: 2 clusters x 2 cells, per (cluster, cell) the values of its units.
#   q1: de->en [1.0, 0.0]   en->en [1.0]
#   q2: de->en [0.0]        en->en [0.5]
# micro = (1 + 0 + 1 + 0 + 0.5) / 5 = 0.5
# macro = mean(de->en: 1/3, en->en: 1.5/2) = (1/3 + 3/4) / 2 = 13/24
# Resampled clusters (w_q1, w_q2) in {(2, 0), (1, 1), (0, 2)} w.p. 1/4, 1/2, 1/4:
#   (2, 0): only q1 -> micro 2/3, macro (1/2 + 1) / 2 = 3/4
#   (1, 1): as the full table -> micro 1/2, macro 13/24
#   (0, 2): only q2 -> micro 0.5/2 = 1/4, macro (0 + 0.5) / 2 = 1/4
HAND = {("q1", "de->en"): [1.0, 0.0], ("q1", "en->en"): [1.0], ("q2", "de->en"): [0.0],
        ("q2", "en->en"): [0.5]}  # fmt: skip
HAND_VALUES = {
    "macro": {"estimate": 13 / 24, "draws": [3 / 4, 13 / 24, 1 / 4]},
    "micro": {"estimate": 1 / 2, "draws": [2 / 3, 1 / 2, 1 / 4]},
}


def frame(cells: dict, system: str = "a", seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Tidy units of one (system, seed) from ``{(cluster, cell): [values]}``."""
    rows = [
        (system, seed, cluster, cell, v + shift)
        for (cluster, cell), values in cells.items()
        for v in values
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def random_cells(rng: np.random.Generator, n_clusters: int, n_cells: int) -> dict:
    """Every cluster in every cell with 1-2 units of uniform values."""
    return {
        (f"q{c}", f"l{j}->en"): list(rng.random(rng.integers(1, 3)))
        for c in range(n_clusters)
        for j in range(n_cells)
    }


def same_units(cells: dict, rng: np.random.Generator, shift: float = 0.0) -> dict:
    """The same units as ``cells`` with fresh uniform values plus ``shift``."""
    return {key: list(rng.random(len(values)) + shift) for key, values in cells.items()}


# ---- hand-computed values -------------------------------------------------------------------


@pytest.mark.parametrize("aggregate", ["macro", "micro"])
def test_hand_estimate_and_the_three_possible_draws(aggregate):
    expected = HAND_VALUES[aggregate]
    draws = clustered_bootstrap(frame(HAND), aggregate=aggregate, n_resamples=4000, seed=3)
    assert draws.systems == ("a",) and draws.n_clusters == 2 and draws.n_seeds == {"a": 1}
    assert draws.aggregate == aggregate and draws.draws.shape == (4000, 1)
    assert draws.estimate[0] == pytest.approx(expected["estimate"], abs=1e-15)
    values = draws.draws[:, 0]
    frequency = [np.isclose(values, v, rtol=0, atol=1e-12).mean() for v in expected["draws"]]
    assert sum(frequency) == 1.0  # no other value ever occurs
    # 1/4, 1/2, 1/4; Monte Carlo std <= sqrt(.25 / 4000) = 0.008
    assert frequency == pytest.approx([0.25, 0.5, 0.25], abs=0.03)


def test_macro_and_micro_differ_on_the_hand_table():
    macro = clustered_bootstrap(frame(HAND), n_resamples=10)
    micro = clustered_bootstrap(frame(HAND), aggregate="micro", n_resamples=10)
    assert macro.aggregate == "macro"  # the default
    assert macro.estimate[0] - micro.estimate[0] == pytest.approx(13 / 24 - 1 / 2)


@pytest.mark.parametrize("aggregate", ["macro", "micro"])
@pytest.mark.parametrize("correction", [False, True])
def test_hand_two_seeds_resampled(aggregate, correction):
    # Seed 1 = seed 0 + 0.1 on every unit, so its aggregate is always 0.1 higher: with x the
    # cluster part of a draw, a = (x, x + 0.1), m = x + 0.05, residuals -+0.05.
    # Plain: the mean of 2 resampled seeds is x + {0, 0.05, 0.1}.
    # Corrected: residuals times sqrt(2 / 1): x + 0.05 + {-0.05, 0, 0.05} * sqrt(2).
    units = pd.concat([frame(HAND, seed=0), frame(HAND, seed=1, shift=0.1)])
    draws = clustered_bootstrap(
        units,
        aggregate=aggregate,
        n_resamples=3000,
        seed_level="adjusted" if correction else "resample",
    )
    assert draws.n_seeds == {"a": 2}
    assert draws.estimate[0] == pytest.approx(HAND_VALUES[aggregate]["estimate"] + 0.05)
    steps = 0.05 + np.sqrt(2) * np.array([-0.05, 0, 0.05]) if correction else [0, 0.05, 0.1]
    expected = np.add.outer(HAND_VALUES[aggregate]["draws"], steps).ravel()  # 9 values
    found = np.isclose(draws.draws[:, 0][:, None], expected[None, :], rtol=0, atol=1e-12)
    assert found.any(axis=1).all()
    assert found.any(axis=0).all()  # all 9 combinations occur in 3000 draws (p >= 1/16 each)


def test_a_cell_absent_from_a_draw_is_left_out_of_the_macro_mean():
    # q1 only in cell a (0.2), q2 only in cell b (0.8). Draw (2, 0) has no unit in b: its
    # macro is 0.2 (not (0.2 + 0) / 2); (1, 1): 0.5; (0, 2): 0.8.
    units = frame({("q1", "a"): [0.2], ("q2", "b"): [0.8]})
    draws = clustered_bootstrap(units, n_resamples=500).draws[:, 0]
    assert np.isclose(draws[:, None], [0.2, 0.5, 0.8], rtol=0, atol=1e-12).any(axis=1).all()
    assert np.isclose(draws, 0.2).any() and np.isclose(draws, 0.8).any()


# ---- claims ------------------------------------------------------------------------------


def test_constant_shift_gives_the_shift_a_zero_width_interval_and_superior():
    rng = np.random.default_rng(1)
    cells = random_cells(rng, 30, 3)
    units = pd.concat([frame(cells, "x-x"), frame(cells, "hybrid", shift=0.02)])
    draws = clustered_bootstrap(units, n_resamples=1000)
    test = claim_test(draws, "hybrid", "x-x", margin=0.01, name="shift")
    assert test.difference == pytest.approx(0.02, abs=1e-12)
    assert test.ci_low == pytest.approx(0.02, abs=1e-12)
    assert test.ci_high == pytest.approx(0.02, abs=1e-12)
    assert test.se == pytest.approx(0.0, abs=1e-12)
    assert test.p_superiority == test.p_noninferiority == pytest.approx(1 / 1001)
    assert test.p_inferiority == 1.0
    assert test.n_clusters == 30 and test.n_seeds == (1, 1)
    row = claims_table([test]).iloc[0]
    assert row["verdict"] == "superior" and row["name"] == "shift"


@st.composite
def shifted_pairs(draw):
    """Random units of 'base' (n_b seeds with identical values), 'shifted' = base + delta."""
    n_clusters = draw(st.integers(1, 5))
    n_cells = draw(st.integers(1, 3))
    cells = {}
    for c in range(n_clusters):
        counts = draw(st.lists(st.integers(0, 2), min_size=n_cells, max_size=n_cells))
        counts[draw(st.integers(0, n_cells - 1))] += 1  # every cluster has a unit
        for j, n in enumerate(counts):
            if n:
                cells[(f"q{c}", f"c{j}")] = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    delta = draw(st.floats(0.001, 0.5))
    n_base, n_shifted = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    units = pd.concat(
        [frame(cells, "base", s) for s in range(n_base)]
        + [frame(cells, "shifted", s, shift=delta) for s in range(n_shifted)]
    )
    return units, delta, draw(st.sampled_from(["macro", "micro"]))


@settings(max_examples=60, deadline=None)
@given(shifted_pairs())
def test_property_shift_is_recovered_exactly_in_every_draw(case):
    units, delta, aggregate = case
    draws = clustered_bootstrap(units, aggregate=aggregate, n_resamples=200)
    up = claim_test(draws, "shifted", "base", margin=0.0)
    assert up.difference == pytest.approx(delta, abs=1e-12)
    assert up.ci_low == pytest.approx(delta, abs=1e-12)
    assert up.ci_high == pytest.approx(delta, abs=1e-12)
    assert up.p_superiority == pytest.approx(1 / 201)
    # lower is better: the same difference, sign flipped, so 'base' is now the better one
    down = claim_test(draws, "base", "shifted", margin=0.0, higher_is_better=False)
    assert down.difference == pytest.approx(delta, abs=1e-12)
    assert down.p_superiority == pytest.approx(1 / 201)


@pytest.mark.parametrize("margin, verdict", [(0.01, "non-inferior"), (0.0, "inconclusive")])
def test_identical_systems(margin, verdict):
    rng = np.random.default_rng(2)
    cells = random_cells(rng, 25, 2)
    units = pd.concat([frame(cells, "a"), frame(cells, "b")])
    draws = clustered_bootstrap(units, n_resamples=500)
    test = claim_test(draws, "a", "b", margin=margin)
    assert test.difference == 0.0 and test.ci_low == 0.0 and test.ci_high == 0.0
    assert test.p_superiority == 1.0
    assert test.p_inferiority == 1.0
    assert test.p_noninferiority == (pytest.approx(1 / 501) if margin > 0 else 1.0)
    assert claims_table([test]).iloc[0]["verdict"] == verdict


def test_lower_is_better_flips_the_sign():
    rng = np.random.default_rng(3)
    cells = random_cells(rng, 40, 2)
    # rank distance: 'hybrid' is lower (better) by 5 on average, with noise
    units = pd.concat(
        [
            frame(same_units(cells, rng, shift=100.0), "x-x"),
            frame(same_units(cells, rng, shift=95.0), "hybrid"),
        ]
    )
    draws = clustered_bootstrap(units, n_resamples=1000)
    higher = claim_test(draws, "hybrid", "x-x", margin=1.0)
    lower = claim_test(draws, "hybrid", "x-x", margin=1.0, higher_is_better=False)
    assert lower.difference == pytest.approx(-higher.difference)
    assert lower.difference > 4
    assert lower.ci_low == pytest.approx(-higher.ci_high) and lower.ci_high == pytest.approx(
        -higher.ci_low
    )
    assert lower.se == pytest.approx(higher.se)
    assert claims_table([lower]).iloc[0]["verdict"] == "superior"
    assert claims_table([higher]).iloc[0]["verdict"] == "inferior"


def test_interval_is_the_percentile_interval_and_p_values_count_draws():
    rng = np.random.default_rng(4)
    cells = random_cells(rng, 20, 2)
    units = pd.concat(
        [frame(same_units(cells, rng), "a", s) for s in range(3)]
        + [frame(same_units(cells, rng, shift=0.03), "b", s) for s in range(2)]
    )
    draws = clustered_bootstrap(units, n_resamples=999, seed=5)
    test = claim_test(draws, "b", "a", margin=0.05, confidence=0.9)
    d = draws.draws[:, 1] - draws.draws[:, 0]
    assert test.difference == pytest.approx(draws.estimate[1] - draws.estimate[0])
    assert (test.ci_low, test.ci_high) == pytest.approx(tuple(np.quantile(d, [0.05, 0.95])))
    assert test.se == pytest.approx(d.std(ddof=1))
    assert test.p_superiority == pytest.approx((1 + (d <= 0).sum()) / 1000)
    assert test.p_noninferiority == pytest.approx((1 + (d <= -0.05).sum()) / 1000)
    assert test.p_inferiority == pytest.approx((1 + (d >= -0.05).sum()) / 1000)
    assert test.n_seeds == (2, 3)


def test_claims_table_holm_over_the_whole_family_and_mde():
    rng = np.random.default_rng(6)
    cells = random_cells(rng, 30, 3)
    units = pd.concat(
        [frame(same_units(cells, rng, shift=s), name) for name, s in
         [("x-x", 0.0), ("hybrid", 0.15), ("x-y", 0.005), ("worse", -0.2)]]
    )  # fmt: skip
    draws = clustered_bootstrap(units, n_resamples=2000)
    tests = [
        claim_test(draws, "hybrid", "x-x", margin=0.02, name="hybrid beats x-x"),
        claim_test(draws, "x-y", "x-x", margin=0.2, name="x-y as good as x-x"),
        claim_test(draws, "x-y", "x-x", margin=0.0, name="x-y beats x-x"),
        claim_test(draws, "worse", "x-x", margin=0.02, name="worse as good as x-x"),
    ]
    table = claims_table(tests, alpha=0.05, power=0.8)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["name"].tolist() == [t.name for t in tests]
    raw = table[["p_superiority", "p_noninferiority", "p_inferiority"]].to_numpy()
    adjusted = table[
        ["p_superiority_adjusted", "p_noninferiority_adjusted", "p_inferiority_adjusted"]
    ].to_numpy()
    np.testing.assert_array_equal(raw[:, 0], [t.p_superiority for t in tests])
    # one family of 4 claims x 3 tests = 12, not 4 families of 3
    np.testing.assert_allclose(adjusted.ravel(), holm(raw.ravel()))
    assert not np.allclose(adjusted[0], holm(raw[0]))
    assert table["verdict"].tolist() == ["superior", "non-inferior", "inconclusive", "inferior"]
    # the smallest detectable effect, read off each claim's own draws (by hand) ...
    index = {s: draws.systems.index(s) for s in ("x-x", "hybrid", "x-y", "worse")}
    expected = []
    for better in ("hybrid", "x-y", "x-y", "worse"):
        d = draws.draws[:, index[better]] - draws.draws[:, index["x-x"]]
        c = d - np.median(d)
        expected.append(-(np.quantile(c, 0.05 / 12) + np.quantile(c, 0.2)))
    np.testing.assert_allclose(table["mde"], expected)
    # ... which, for these near-normal draws, is the normal formula's (z_{1-a/m} + z_power) se
    z = scipy.stats.norm.ppf(1 - 0.05 / 12) + scipy.stats.norm.ppf(0.8)
    np.testing.assert_allclose(table["mde"], z * np.array([t.se for t in tests]), rtol=0.15)
    assert table["n_clusters"].tolist() == [30] * 4
    assert table["n_seeds"].tolist() == [(1, 1)] * 4
    assert claims_table([]).columns.tolist() == list(TABLE_COLUMNS)


def test_the_detectable_effect_follows_the_draws_tails_not_a_normal_se():
    """With 3 seeds and a Student-t seed level the draws have heavy tails: the normal formula
    (z_{1-a/m} + z_power) * se understated what the percentile test can detect."""
    from hybridlib.metrics.clustered import ClaimTest

    rng = np.random.default_rng(0)
    heavy = 0.01 * rng.standard_t(2, 200_000)
    normal = 0.01 * rng.standard_normal(200_000)

    def claim(d):
        return ClaimTest("c", "a", "b", True, 0.0, 0.0, 0.0, 0.0, float(d.std(ddof=1)),
                         0.5, 0.5, 0.5, 10, (3, 3), centred=tuple(np.sort(d - np.median(d))))  # fmt: skip

    level, power = 0.05 / 36, 0.8
    exact_t = scipy.stats.t.ppf(1 - level, 2) + scipy.stats.t.ppf(power, 2)
    assert claim(heavy).detectable_effect(level, power) == pytest.approx(0.01 * exact_t, rel=0.05)
    exact_z = scipy.stats.norm.ppf(1 - level) + scipy.stats.norm.ppf(power)
    assert claim(normal).detectable_effect(level, power) == pytest.approx(0.01 * exact_z, rel=0.03)
    assert np.isnan(
        ClaimTest("c", "a", "b", True, *[0.0] * 5, 0.5, 0.5, 0.5, 1, (1,)).detectable_effect(
            level, power
        )
    )


def test_verdict_follows_the_adjusted_not_the_raw_p_values():
    # raw p_superiority 0.02 < 0.05, but Holm over the family of 3 needs it below 0.05 / 3
    rng = np.random.default_rng(7)
    cells = random_cells(rng, 40, 2)
    b = same_units(cells, rng)
    a = {key: [v + 0.003 + 0.02 * rng.standard_normal() for v in b[key]] for key in b}
    draws = clustered_bootstrap(pd.concat([frame(a, "a"), frame(b, "b")]), n_resamples=4000, seed=1)
    test = claim_test(draws, "a", "b", margin=0.0)
    assert 1 / 3 * 0.05 < test.p_superiority < 0.05, test.p_superiority  # data chosen so
    assert claims_table([test]).iloc[0]["verdict"] == "inconclusive"
    assert claims_table([test], alpha=0.2).iloc[0]["verdict"] == "superior"


# ---- like for like, input errors ------------------------------------------------------------


def test_mismatched_units_name_the_system_seed_and_an_example():
    rng = np.random.default_rng(8)
    cells = random_cells(rng, 5, 2)
    fewer = {k: v for k, v in cells.items() if k != ("q3", "l1->en")}
    units = pd.concat(
        [frame(cells, "x-y", s) for s in (0, 1, 2)]
        + [frame(cells, "x-x", 0), frame(fewer, "x-x", 1)]
    )
    n = len(cells[("q3", "l1->en")])
    message = rf"system 'x-x' seed 1 lacks {n} units of the others, e.g. cluster 'q3' cell 'l1->en'"
    with pytest.raises(ValueError, match=message):
        clustered_bootstrap(units)
    # the other systems alone are like for like
    assert clustered_bootstrap(units, ["x-y"], n_resamples=5).n_seeds == {"x-y": 3}
    # an extra unit (the majority of (system, seed) is the reference)
    more = {**cells, ("q9", "de->en"): [0.5]}
    extra = pd.concat([frame(cells, "a", 0), frame(cells, "a", 1), frame(more, "b")])
    with pytest.raises(
        ValueError, match="system 'b' seed 0 has 1 units the others lack, e.g. cluster 'q9' cell"
    ):
        clustered_bootstrap(extra)
    # two against one each: the fuller table is the reference, the other one lacks units
    unscored = pd.concat([frame(cells, "a"), frame(cells, "b")], ignore_index=True)
    unscored.loc[len(unscored) - 1, "value"] = np.nan  # the last unit of 'b' is unscored
    with pytest.raises(ValueError, match="system 'b' seed 0 lacks 1 units of the others"):
        clustered_bootstrap(unscored)
    # the same (cluster, cell) but a different number of units
    doubled = {**cells, ("q0", "l0->en"): cells[("q0", "l0->en")] * 2}
    with pytest.raises(ValueError, match="system 'b' seed 0 has .* cluster 'q0' cell 'l0->en'"):
        clustered_bootstrap(pd.concat([frame(cells, "a"), frame(cells, "c"), frame(doubled, "b")]))


def test_input_errors_are_named():
    units = frame(HAND)
    with pytest.raises(ValueError, match="no column 'cluster'"):
        clustered_bootstrap(units.drop(columns="cluster"))
    with pytest.raises(ValueError, match="no scored row .* but got 0 rows"):
        clustered_bootstrap(units.iloc[:0])
    with pytest.raises(ValueError, match="no scored row .* but got 5 rows"):
        clustered_bootstrap(units.assign(value=np.nan))
    with pytest.raises(ValueError, match=r"unknown system 'bm25'; the units score \['a'\]"):
        clustered_bootstrap(units, ["bm25"])
    with pytest.raises(ValueError, match="n_resamples must be >= 1, but got 0"):
        clustered_bootstrap(units, n_resamples=0)
    with pytest.raises(ValueError, match="aggregate must be 'macro' or 'micro', but got 'mean'"):
        clustered_bootstrap(units, aggregate="mean")
    with pytest.raises(ValueError, match="column 'cell' is missing in 1 scored rows"):
        clustered_bootstrap(units.assign(cell=[None, "a", "a", "b", "b"]))
    with pytest.raises(ValueError, match="must be finite or NaN, but got inf"):
        clustered_bootstrap(units.assign(value=[np.inf, 0, 0, 0, 0]))
    draws = clustered_bootstrap(pd.concat([units, frame(HAND, "b")]), n_resamples=5)
    with pytest.raises(ValueError, match="unknown system 'c'; the draws have"):
        claim_test(draws, "c", "a", margin=0.0)
    with pytest.raises(ValueError, match="different systems, but both are 'a'"):
        claim_test(draws, "a", "a", margin=0.0)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0, but got -0.1"):
        claim_test(draws, "a", "b", margin=-0.1)
    with pytest.raises(ValueError, match="confidence must lie in"):
        claim_test(draws, "a", "b", margin=0.0, confidence=95)
    with pytest.raises(ValueError, match="alpha must lie in"):
        claims_table([], alpha=0.0)
    with pytest.raises(ValueError, match="power must lie in"):
        claims_table([], power=1.0)


def test_systems_select_and_order_the_columns():
    units = pd.concat([frame(HAND, "a"), frame(HAND, "b", shift=0.1), frame(HAND, "c")])
    assert clustered_bootstrap(units, n_resamples=3).systems == ("a", "b", "c")
    picked = clustered_bootstrap(units, ["b", "a"], n_resamples=3)
    assert picked.systems == ("b", "a")
    assert picked.estimate == pytest.approx([13 / 24 + 0.1, 13 / 24])
    assert clustered_bootstrap(units, "b", n_resamples=3).systems == ("b",)


# ---- determinism and resampling -------------------------------------------------------------


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(9)
    cells = random_cells(rng, 12, 3)
    units = pd.concat([frame(same_units(cells, rng), s, k) for s in ("a", "b") for k in range(2)])
    first = clustered_bootstrap(units, n_resamples=700, seed=1)  # 3 blocks of draws
    again = clustered_bootstrap(units, n_resamples=700, seed=1)
    other = clustered_bootstrap(units, n_resamples=700, seed=2)
    np.testing.assert_array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, other.draws)
    np.testing.assert_array_equal(first.estimate, other.estimate)


@st.composite
def shuffled_tables(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cells = random_cells(rng, draw(st.integers(1, 6)), draw(st.integers(1, 3)))
    n_seeds = {"a": draw(st.integers(1, 3)), "b": draw(st.integers(1, 3))}
    units = pd.concat(
        [frame(same_units(cells, rng), s, k) for s, n in n_seeds.items() for k in range(n)]
    )
    order = draw(st.permutations(list(range(len(units)))))
    return units, order, draw(st.sampled_from(["macro", "micro"]))


@settings(max_examples=40, deadline=None)
@given(shuffled_tables())
def test_property_row_order_does_not_matter(case):
    units, order, aggregate = case
    base = clustered_bootstrap(units, ["a", "b"], aggregate=aggregate, n_resamples=50)
    moved = clustered_bootstrap(units.iloc[order], ["a", "b"], aggregate=aggregate, n_resamples=50)
    np.testing.assert_allclose(moved.draws, base.draws, rtol=0, atol=1e-12)
    np.testing.assert_allclose(moved.estimate, base.estimate, rtol=0, atol=1e-12)


def test_clusters_are_resampled_once_for_all_systems():
    # two unrelated systems on 2 clusters: 'a' = 1 on q1, 0 on q2; 'b' = the opposite.
    # A shared resample gives a + b = 1 in every draw; independent ones would not.
    cells = {("q1", "c"): [1.0], ("q2", "c"): [0.0]}
    flipped = {("q1", "c"): [0.0], ("q2", "c"): [1.0]}
    units = pd.concat([frame(cells, "a"), frame(flipped, "b")])
    draws = clustered_bootstrap(units, n_resamples=300)
    np.testing.assert_allclose(draws.draws.sum(axis=1), 1.0)
    assert draws.draws[:, 0].std() > 0.3


def test_seeds_are_resampled_independently_per_system():
    # 'a' and 'b' are the same 3 trained models (same values per seed). Seed k of 'a' has
    # nothing to do with seed k of 'b', so their seeds are not paired: the differences vary
    # around 0 (p_superiority near 1/2), where a shared seed resample would give d* = 0.
    rng = np.random.default_rng(13)
    cells = random_cells(rng, 20, 2)
    per_seed = [same_units(cells, rng, shift=s) for s in (0.0, 0.05, 0.1)]
    units = pd.concat([frame(v, system, k) for system in "ab" for k, v in enumerate(per_seed)])
    draws = clustered_bootstrap(units, n_resamples=2000)
    test = claim_test(draws, "a", "b", margin=0.0)
    assert test.difference == 0.0
    assert test.se > 0.01
    assert 0.4 < test.p_superiority < 0.7


def test_adjusted_seed_level_is_the_adjusted_residual_bootstrap():
    # Every unit of a seed has the same value: cluster resampling changes nothing, so each
    # draw is the mean of n resampled seed values s. Plain: var = var0(s) / n (ddof=0);
    # corrected: m + sqrt(n / (n - 1)) * (plain - m), var = var1(s) / n (ddof=1).
    rng = np.random.default_rng(10)
    cells = random_cells(rng, 6, 2)
    seeds = [0.50, 0.60, 0.80]
    units = pd.concat(
        [frame({k: [v] * len(u) for k, u in cells.items()}, "a", i) for i, v in enumerate(seeds)]
    )
    plain = clustered_bootstrap(units, n_resamples=20_000, seed_level="resample")
    fixed = clustered_bootstrap(units, n_resamples=20_000, seed_level="adjusted")
    m = np.mean(seeds)
    np.testing.assert_allclose(fixed.draws, m + np.sqrt(3 / 2) * (plain.draws - m), atol=1e-12)
    assert plain.draws.var() == pytest.approx(np.var(seeds) / 3, rel=0.05)
    assert fixed.draws.var() == pytest.approx(np.var(seeds, ddof=1) / 3, rel=0.05)
    assert fixed.estimate == pytest.approx([m]) and plain.estimate == pytest.approx([m])


def test_adjusted_seed_level_enlarges_the_spread_and_is_void_with_one_seed():
    rng = np.random.default_rng(11)
    cells = random_cells(rng, 30, 2)
    shifts = 0.05 * rng.standard_normal(3)  # a seed effect
    several = pd.concat(
        [frame(same_units(cells, rng, shift=s), "a", k) for k, s in enumerate(shifts)]
    )
    plain = clustered_bootstrap(several, n_resamples=2000, seed_level="resample")
    fixed = clustered_bootstrap(several, n_resamples=2000, seed_level="adjusted")
    assert fixed.draws.std() > 1.05 * plain.draws.std()
    one = several[several["seed"] == 0]
    np.testing.assert_array_equal(
        clustered_bootstrap(one, n_resamples=500, seed_level="adjusted").draws,
        clustered_bootstrap(one, n_resamples=500, seed_level="resample").draws,
    )


# ---- coverage: why clusters matter ----------------------------------------------------------


def simulated_units(rng: np.random.Generator, true: float, n_clusters: int = 40, n_cells: int = 4):
    """value[s, c, j] = mu_s + u_c + v[s, c] + e[s, c, j]: question difficulty u shared by
    both systems, a system-specific question effect v (std 0.5) shared by the question's cells,
    so the differences within a cluster are correlated (intra-cluster correlation 0.86), and
    unit noise e (std 0.2). The true macro difference is mu_a - mu_b = ``true``."""
    u = rng.normal(0, 1, n_clusters)[:, None]  # (C, 1)
    frames = []
    for system, mu in (("a", true), ("b", 0.0)):
        v = rng.normal(0, 0.5, n_clusters)[:, None]  # (C, 1)
        values = mu + u + v + rng.normal(0, 0.2, (n_clusters, n_cells))  # (C, J)
        frames.append(
            pd.DataFrame(
                {
                    "system": system,
                    "seed": 0,
                    "cluster": np.repeat([f"q{c}" for c in range(n_clusters)], n_cells),
                    "cell": np.tile([f"l{j}" for j in range(n_cells)], n_clusters),
                    "value": values.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_clustered_interval_covers_and_a_row_level_one_undercovers():
    rng = np.random.default_rng(12)
    true = 0.1
    covered = {"clustered": 0, "rows": 0}
    replicates = 100
    for _ in range(replicates):
        units = simulated_units(rng, true)
        # the naive bootstrap resamples rows: every (cluster, cell) is its own cluster
        rows = units.assign(cluster=units["cluster"] + "|" + units["cell"])
        for kind, table in (("clustered", units), ("rows", rows)):
            test = claim_test(clustered_bootstrap(table, n_resamples=400), "a", "b", margin=0.0)
            covered[kind] += test.ci_low <= true <= test.ci_high
    coverage = {kind: n / replicates for kind, n in covered.items()}
    # design effect 1 + 3 * 0.86 = 3.6: the row-level interval is ~1.9 times too narrow, its
    # coverage about P(|Z| < 1.96 / 1.9) = 0.70
    assert 0.85 <= coverage["clustered"] <= 1.0, coverage
    assert coverage["rows"] < 0.85, coverage
    assert coverage["clustered"] - coverage["rows"] > 0.1, coverage


def test_draws_is_a_frozen_record():
    draws = clustered_bootstrap(frame(HAND), n_resamples=2)
    assert isinstance(draws, ClusteredDraws)
    with pytest.raises(AttributeError):
        draws.aggregate = "micro"  # type: ignore[misc]


# ---- the seed level: Student t, and its coverage with few seeds -------------------------------


def test_student_seed_level_by_hand():
    # Every unit of a seed has the same value, so cluster resampling changes nothing: each
    # draw is m + s / sqrt(n) * T with m, s the mean and sd (ddof=1) of the seed values and T
    # the generator's t(n - 1) variate drawn after the block's cluster picks (one block).
    rng = np.random.default_rng(14)
    cells = random_cells(rng, 5, 2)
    seeds = [0.50, 0.60, 0.80, 0.65]
    units = pd.concat(
        [frame({k: [v] * len(u) for k, u in cells.items()}, "a", i) for i, v in enumerate(seeds)]
    )
    draws = clustered_bootstrap(units, n_resamples=200, seed=7)
    oracle = np.random.default_rng(7)
    oracle.integers(0, 5, size=(200, 5))  # the block's cluster picks
    t = oracle.standard_t(3, size=200)
    expected = np.mean(seeds) + np.std(seeds, ddof=1) / 2 * t
    np.testing.assert_allclose(draws.draws[:, 0], expected, rtol=0, atol=1e-12)
    assert draws.estimate[0] == pytest.approx(np.mean(seeds))


def test_student_seed_level_draws_follow_t_and_one_seed_has_no_seed_level():
    rng = np.random.default_rng(15)
    cells = random_cells(rng, 4, 1)
    seeds = [0.2, 0.5, 0.3]
    units = pd.concat(
        [frame({k: [v] * len(u) for k, u in cells.items()}, "a", i) for i, v in enumerate(seeds)]
    )
    draws = clustered_bootstrap(units, n_resamples=4000).draws[:, 0]
    pivot = (draws - np.mean(seeds)) / (np.std(seeds, ddof=1) / np.sqrt(3))
    assert scipy.stats.kstest(pivot, scipy.stats.t(2).cdf).pvalue > 0.01
    # the 97.5% quantile of t(2) is 4.30, far beyond the normal's 1.96
    assert np.quantile(pivot, 0.975) == pytest.approx(scipy.stats.t(2).ppf(0.975), rel=0.15)
    one = units[units["seed"] == 0]
    for level in ("student", "adjusted", "resample"):
        np.testing.assert_array_equal(
            clustered_bootstrap(one, n_resamples=50, seed_level=level).draws[:, 0],
            clustered_bootstrap(one, n_resamples=50, seed_level="resample").draws[:, 0],
        )
    with pytest.raises(ValueError, match="seed_level must be one of"):
        clustered_bootstrap(units, seed_level="t")  # type: ignore[arg-type]


def seeded_units(
    rng: np.random.Generator, n_seeds: int, true: float = 0.0, n_clusters: int = 100
) -> pd.DataFrame:
    """Two systems, ``n_seeds`` each, scored on the same 100 questions x 2 cells; value =
    mu + u_c (shared) + v[system, c] (sd .005) + S[system, seed] (sd .008, the issue's seed
    sd) + e (sd .02). The seed level dominates the variance of a difference: .008 *
    sqrt(2 / n) against about .001 from the questions."""
    u = rng.normal(0, 0.2, n_clusters)
    frames = []
    for system, mu in (("a", true), ("b", 0.0)):
        v = rng.normal(0, 0.005, n_clusters)
        for k in range(n_seeds):
            seed_effect = rng.normal(0, 0.008)
            values = (mu + u + v + seed_effect)[:, None] + rng.normal(0, 0.02, (n_clusters, 2))
            frames.append(pd.DataFrame({
                "system": system, "seed": k, "cluster": np.repeat(np.arange(n_clusters), 2),
                "cell": np.tile([0, 1], n_clusters), "value": values.ravel(),
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def coverage(n_seeds: int, seed_level: str, replicates: int = 400) -> float:
    rng = np.random.default_rng(16)
    covered = 0
    for r in range(replicates):
        draws = clustered_bootstrap(
            seeded_units(rng, n_seeds, true=0.01), n_resamples=500, seed=r, seed_level=seed_level
        )
        test = claim_test(draws, "a", "b", margin=0.0)
        covered += test.ci_low <= 0.01 <= test.ci_high
    return covered / replicates


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_student_seed_level_covers_with_few_seeds(n_seeds):
    # 400 replicates: a coverage of .95 is measured within +-.011 (one standard error).
    # Measured: student .99 (3 seeds) and .975 (5): conservative, the Behrens-Fisher
    # fiducial distribution of a difference of two t's.
    assert coverage(n_seeds, "student") >= 0.93


def test_resampling_seeds_undercovers_with_three_seeds():
    # the adjusted-residual bootstrap has the right variance but normal quantiles: with the
    # seed level dominant the pivot is about t(4), P(|t_4| < 1.96) = .88 (measured .89);
    # plain resampling is narrower still (.82)
    assert coverage(3, "adjusted") < 0.92
    assert coverage(3, "resample") < 0.87


# ---- contrasts --------------------------------------------------------------------------------


def hand_draws(columns: dict[str, list[float]], estimate: dict[str, float]) -> ClusteredDraws:
    systems = tuple(columns)
    return ClusteredDraws(
        systems=systems,
        estimate=np.array([estimate[s] for s in systems]),
        draws=np.array([columns[s] for s in systems]).T,
        n_clusters=10,
        n_seeds={s: 3 for s in systems},
        aggregate="macro",
    )


def test_contrast_test_by_hand():
    # d* = h - (x + y) / 2 = [0.03, 0.01, -0.005, 0.02, 0.0] over B = 5 draws
    draws = hand_draws(
        {
            "h": [0.53, 0.51, 0.495, 0.52, 0.50],
            "x": [0.50, 0.50, 0.50, 0.50, 0.49],
            "y": [0.50, 0.50, 0.50, 0.50, 0.51],
        },
        {"h": 0.52, "x": 0.50, "y": 0.48},
    )
    test = contrast_test(draws, {"h": 1, "x": -0.5, "y": -0.5}, margin=0.01, name="synergy")
    d = np.array([0.03, 0.01, -0.005, 0.02, 0.0])
    assert test.difference == pytest.approx(0.52 - 0.49)
    assert (test.better, test.other) == ("h", "0.5 x + 0.5 y")
    assert test.weights == (("h", 1.0), ("x", -0.5), ("y", -0.5))
    assert test.n_seeds == (3, 3, 3)
    assert (test.ci_low, test.ci_high) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])))
    assert test.se == pytest.approx(d.std(ddof=1))
    assert test.p_superiority == pytest.approx((1 + 2) / 6)  # -0.005 and 0.0 (a tie) <= 0
    assert test.p_noninferiority == pytest.approx(1 / 6)  # none <= -0.01
    assert test.p_inferiority == pytest.approx(6 / 6)  # all >= -0.01
    lower = contrast_test(draws, {"h": 1, "x": -0.5, "y": -0.5}, margin=0.0, higher_is_better=False)
    assert lower.difference == pytest.approx(-0.03)
    # -d = [-0.03, -0.01, 0.005, -0.02, 0.0]: four <= 0 (the tie counts for H0)
    assert lower.p_superiority == pytest.approx((1 + 4) / 6)


def test_claim_test_is_the_two_system_contrast():
    rng = np.random.default_rng(17)
    cells = random_cells(rng, 15, 2)
    units = pd.concat([frame(same_units(cells, rng, s), name, k) for name, s in
                       (("a", 0.05), ("b", 0.0), ("c", 0.02)) for k in range(3)])  # fmt: skip
    draws = clustered_bootstrap(units, n_resamples=300)
    claim = claim_test(draws, "a", "b", margin=0.01, name="n")
    contrast = contrast_test(draws, {"a": 1, "b": -1}, margin=0.01, name="n")
    assert claim == contrast
    with pytest.raises(ValueError, match="sum to 0"):
        contrast_test(draws, {"a": 1, "b": -0.5}, margin=0.0)
    with pytest.raises(ValueError, match="at least two"):
        contrast_test(draws, {"a": 0.0}, margin=0.0)
    with pytest.raises(ValueError, match="non-zero"):
        contrast_test(draws, {"a": 1, "b": -1, "c": 0.0}, margin=0.0)
    with pytest.raises(ValueError, match="unknown system"):
        contrast_test(draws, {"a": 1, "z": -1}, margin=0.0)


def test_midpoint_contrast_recovers_a_known_synergy():
    # Hybrid = the midpoint of x-x and x-y + 0.02 on every unit (x-x = base + 0.06, x-y = base):
    # the contrast is exactly 0.02 whatever the draw's questions, shown above 0; a hybrid at
    # the midpoint has contrast 0, not shown above it.
    rng = np.random.default_rng(18)
    cells = random_cells(rng, 30, 3)
    base = same_units(cells, rng)
    seed_shift = [0.0, 0.004, -0.004]
    parts = []
    for system, shift in (("x-x", 0.06), ("x-y", 0.0), ("hybrid", 0.05), ("mid", 0.03)):
        parts += [frame(base, system, k, shift + seed_shift[k]) for k in range(3)]
    draws = clustered_bootstrap(pd.concat(parts), n_resamples=1000)
    synergy = contrast_test(draws, {"hybrid": 1, "x-x": -0.5, "x-y": -0.5}, margin=0.0)
    assert synergy.difference == pytest.approx(0.02, abs=1e-12)
    assert synergy.p_superiority < 0.01 and synergy.ci_low > 0
    assert synergy.ci_low < 0.02 < synergy.ci_high
    none = contrast_test(draws, {"mid": 1, "x-x": -0.5, "x-y": -0.5}, margin=0.0)
    assert none.difference == pytest.approx(0.0, abs=1e-12)
    assert none.p_superiority > 0.2


def test_claims_table_flags_fewer_than_three_seeds():
    rng = np.random.default_rng(19)
    cells = random_cells(rng, 10, 2)
    units = pd.concat(
        [frame(same_units(cells, rng), "a", k) for k in range(3)]
        + [frame(same_units(cells, rng), "b", k) for k in range(3)]
        + [frame(same_units(cells, rng), "c", k) for k in range(2)]
    )
    draws = clustered_bootstrap(units, n_resamples=100)
    table = claims_table(
        [claim_test(draws, "a", "b", margin=0.01), claim_test(draws, "a", "c", margin=0.01)]
    )
    assert table["few_seeds"].tolist() == [False, True]
    assert table["n_seeds"].tolist() == [(3, 3), (3, 2)]
