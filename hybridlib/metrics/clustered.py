"""Claim-level statistics for systems trained with several seeds on clustered questions.

One question (a *cluster*: its parallel key) has several language versions and is scored in
several pools (*cells*, e.g. ``"de->en"``), so its rows are not independent; the training
seeds of a system are a second source of variance. The unit of resampling is therefore the
cluster, and then the seed:

- :func:`clustered_bootstrap`: two-level bootstrap (clusters shared by all systems, then each
  system's seeds) of each system's aggregate, macro over cells or micro over units.
- :func:`contrast_test`: a linear contrast of systems (e.g. Hybrid minus the midpoint of two
  others) with its estimate, percentile interval and three one-sided p-values (superiority,
  non-inferiority, inferiority); :func:`claim_test`, one claim "``better`` beats
  ``other``", is the contrast ``better - other``.
- :func:`claims_table`: all claims together, Holm over the whole family, verdicts and the
  minimal detectable effect.

    draws = clustered_bootstrap(units)  # units: system, seed, cluster, cell, value
    tests = [claim_test(draws, "hybrid", "x-x", margin=0.01, name="hybrid >= x-x")]
    table = claims_table(tests)

The input ``units`` is tidy: one row per scored (query, pool) unit of ONE setting and ONE
measure, columns ``system``, ``seed``, ``cluster``, ``cell``, ``value`` (NaN = unscored,
dropped). Every (system, seed) must be scored on the same units (like for like).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from hybridlib.metrics.significance import holm

COLUMNS = ("system", "seed", "cluster", "cell", "value")
_KEYS = ("system", "seed", "cluster", "cell")
_BLOCK = 256  # bootstrap draws per step; memory ~ _BLOCK * (C + K * J) floats
_TOLERANCE = 1e-10  # relative; ties of a bootstrap difference with a test's boundary
SeedLevel = Literal["student", "adjusted", "resample"]
SEED_LEVELS: tuple[SeedLevel, ...] = ("student", "adjusted", "resample")
MIN_SEEDS = 3  # a claim on fewer seeds per system is flagged: its seed level is barely estimated


@dataclass(frozen=True)
class ClusteredDraws:
    """Bootstrap draws of each system's aggregate, from :func:`clustered_bootstrap`.

    estimate: (n_systems,) mean over the system's seeds of its aggregate over all clusters.
    draws: (n_resamples, n_systems) the same statistic in each bootstrap draw; the columns
    follow ``systems``, and row b of every system used the same resample of the clusters.
    """

    systems: tuple[str, ...]
    estimate: np.ndarray
    draws: np.ndarray
    n_clusters: int
    n_seeds: dict[str, int]
    aggregate: str


def _aggregate(weights: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro aggregate of every (system, seed) k under cluster multiplicities.

    weights: (b, C) multiplicities w_c; sums: (C, K, J) S[c, k, j], the sum of the values of
    cluster c in cell j; counts: (C, J) N[c, j], its number of units (the same for every k).
    Returns (b, K): the mean over the cells j with ``sum_c w_c N[c, j] > 0`` of
    ``sum_c w_c S[c, k, j] / sum_c w_c N[c, j]``. With one cell (J = 1) this is the micro mean.
    """
    n_clusters, n_pairs, n_cells = sums.shape
    num = (weights @ sums.reshape(n_clusters, n_pairs * n_cells)).reshape(-1, n_pairs, n_cells)
    den = weights @ counts  # (b, J)
    present = den > 0  # (b, J); every draw holds at least one cluster, so one cell
    ratio = np.divide(
        num, den[:, None, :], out=np.zeros_like(num), where=present[:, None, :]
    )  # (b, K, J)
    return ratio.sum(axis=2) / present.sum(axis=1)[:, None]


def _describe(names: pd.Index, cells: pd.Index, where: np.ndarray) -> str:
    c, j = np.argwhere(where)[0]
    return f"cluster {names[c]!r} cell {cells[j]!r}"


def _check_like_for_like(
    counts: np.ndarray,
    pairs: list[tuple[str, object]],
    clusters: pd.Index,
    cells: pd.Index,
) -> None:
    """counts: (K, C, J) units per (system, seed), cluster and cell; all K must be equal.

    The reference is the most common count table (among equally common ones, the one with
    the most units, then the first); the first (system, seed) that differs from it is named
    with an example of the differing units.
    """
    classes: dict[bytes, list[int]] = {}
    for k in range(counts.shape[0]):
        classes.setdefault(counts[k].tobytes(), []).append(k)
    if len(classes) == 1:
        return
    members = max(classes.values(), key=lambda ks: (len(ks), int(counts[ks[0]].sum())))
    reference = counts[members[0]]
    k = next(k for k in range(counts.shape[0]) if not np.array_equal(counts[k], reference))
    system, seed = pairs[k]
    lacks = np.clip(reference - counts[k], 0, None)
    extra = np.clip(counts[k] - reference, 0, None)
    parts = []
    if lacks.any():
        parts.append(
            f"lacks {int(lacks.sum())} units of the others, "
            f"e.g. {_describe(clusters, cells, lacks > 0)}"
        )
    if extra.any():
        parts.append(
            f"has {int(extra.sum())} units the others lack, "
            f"e.g. {_describe(clusters, cells, extra > 0)}"
        )
    raise ValueError(
        f"system {system!r} seed {seed} " + " and ".join(parts) + "; every (system, seed) must "
        "be scored on the same units (cluster, cell, number of units) to be compared"
    )


def clustered_bootstrap(
    units: pd.DataFrame,
    systems: Sequence[str] | None = None,
    *,
    aggregate: Literal["macro", "micro"] = "macro",
    n_resamples: int = 2000,
    seed: int = 0,
    seed_level: SeedLevel = "student",
) -> ClusteredDraws:
    """Two-level bootstrap of each system's aggregate: clusters, then seeds.

    ``units``: tidy table (columns ``system``, ``seed``, ``cluster``, ``cell``, ``value``);
    NaN values are unscored and dropped. ``systems``: which to keep and in what order
    (default: all, in order of first appearance).

    Aggregate of one (system, seed) under cluster multiplicities w_c, with S[c, j] the sum
    and N[c, j] the number of its units of cluster c in cell j:

    - ``"micro"``: ``sum_{c,j} w_c S[c, j] / sum_{c,j} w_c N[c, j]`` (mean over all units);
    - ``"macro"`` (the paper's way): unweighted mean over the cells j of
      ``sum_c w_c S[c, j] / sum_c w_c N[c, j]``; a cell whose weighted count is 0 in a draw
      is left out of that draw's mean.

    ``estimate`` takes all w_c = 1 and averages over the system's seeds. In each of the
    ``n_resamples`` draws, from ``np.random.default_rng(seed)`` in blocks of 256 draws:

    1. the C clusters are resampled with replacement, ONE resample shared by all systems and
       seeds (the comparison is paired by question): w (C,) multinomial counts summing to C;
    2. each system's n seeds are resampled with replacement, independently per system (seeds
       of different systems are not paired), and their aggregates averaged.

    ``seed_level``, how step 2 draws a system's seed mean from its n >= 2 seed aggregates
    a_1..a_n of the draw (m their mean, s their standard deviation, ddof=1):

    - ``"student"`` (default): ``m + s / sqrt(n) * T``, T a Student t variate with n - 1
      degrees of freedom (one per draw and system, from the same generator). The seed
      mean's pivot ``(m - mu) / (s / sqrt(n))`` is t with n - 1 degrees of freedom; the
      resampling schemes below use its normal limit and undercover with few seeds (a 95%
      interval of a difference of two 3-seed systems whose seed variance dominates covers
      about 89% with ``"adjusted"``, since P(|t_4| < 1.96) = 0.88). The difference of two
      systems then has the Behrens-Fisher fiducial distribution, which is conservative.
      With n = 2, T is Cauchy: honest, and wide;
    - ``"adjusted"``: the adjusted-residual bootstrap (Davison & Hinkley 1997, sec. 3.3):
      each a_s is replaced by ``m + sqrt(n / (n - 1)) * (a_s - m)`` and the n seeds are
      resampled with replacement, giving the seed mean the variance s**2 / n (plain
      resampling gives ``(n - 1) / n * s**2 / n``), but normal quantiles;
    - ``"resample"``: the n seeds resampled with replacement as they are.

    With one seed there is no seed level: only question variance is captured (a claim on
    fewer than :data:`MIN_SEEDS` seeds is flagged by :func:`claims_table`).

    Every (system, seed) must hold the same scored units (same (cluster, cell, count));
    otherwise ValueError names the first one that differs. Cost: O(B * C * K * J) for K
    (system, seed) pairs and J cells (micro: J = 1); memory O(256 * (C + K * J) + C * K * J).
    """
    if aggregate not in ("macro", "micro"):
        raise ValueError(f"aggregate must be 'macro' or 'micro', but got {aggregate!r}")
    if seed_level not in SEED_LEVELS:
        raise ValueError(f"seed_level must be one of {list(SEED_LEVELS)}, but got {seed_level!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, but got {n_resamples}")
    missing = [c for c in COLUMNS if c not in units.columns]
    if missing:
        raise ValueError(
            f"units have no column {missing[0]!r}; need {list(COLUMNS)}, "
            f"but got {list(units.columns)}"
        )
    try:
        values = units["value"].to_numpy(dtype=np.float64)  # (rows,)
    except (TypeError, ValueError) as error:
        raise ValueError(f"units' value column must be numeric, but got {error}") from error
    scored = ~np.isnan(values)
    if not scored.any():
        raise ValueError(f"units hold no scored row (value not NaN), but got {len(units)} rows")
    if not np.isfinite(values[scored]).all():
        raise ValueError(f"values must be finite or NaN, but got {values[np.isinf(values)][0]}")
    # Codes (-1 = missing): system in order of appearance, seed, cluster c and cell j sorted.
    codes = {}
    names = {}
    for column in _KEYS:
        keys = units[column].to_numpy()
        codes[column], names[column] = pd.factorize(
            keys if scored.all() else keys[scored], sort=column != "system"
        )
        if (codes[column] < 0).any():
            raise ValueError(
                f"column {column!r} is missing in {int((codes[column] < 0).sum())} scored rows"
            )
    values = values[scored]
    available = list(names["system"])
    if systems is None:
        chosen = available
    else:
        chosen = [systems] if isinstance(systems, str) else list(systems)
        if not chosen:
            raise ValueError("systems must name at least one system, but got none")
        for s in chosen:
            if s not in available:
                raise ValueError(f"unknown system {s!r}; the units score {available}")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"systems must be distinct, but got {chosen}")
    # position of each available system in chosen (-1: left out)
    position = np.array([chosen.index(s) if s in chosen else -1 for s in available])
    system_codes = position[codes["system"]]  # (rows,)
    keep = system_codes >= 0
    if not keep.all():
        system_codes, values = system_codes[keep], values[keep]
        codes = {column: code[keep] for column, code in codes.items()}
        for column in ("cluster", "cell"):  # only the clusters and cells of the chosen systems
            present, codes[column] = np.unique(codes[column], return_inverse=True)
            names[column] = names[column][present]
    c_codes, clusters = codes["cluster"], pd.Index(names["cluster"])
    j_codes, cells = codes["cell"], pd.Index(names["cell"])
    seed_values = names["seed"]
    # pair k = (system, seed), ordered by system (as chosen) then seed
    combined = system_codes * len(seed_values) + codes["seed"]  # (rows,)
    pair_keys = np.flatnonzero(np.bincount(combined, minlength=len(chosen) * len(seed_values)))
    lookup = np.full(len(chosen) * len(seed_values), -1)
    lookup[pair_keys] = np.arange(pair_keys.size)
    k_codes = lookup[combined]  # (rows,)
    pair_system = pair_keys // len(seed_values)  # (K,) index into chosen
    pairs = [(chosen[s], seed_values[i]) for s, i in zip(pair_system, pair_keys % len(seed_values))]
    n_clusters, n_cells, n_pairs = len(clusters), len(cells), len(pair_keys)

    counts = np.bincount(
        (k_codes * n_clusters + c_codes) * n_cells + j_codes,
        minlength=n_pairs * n_clusters * n_cells,
    ).reshape(n_pairs, n_clusters, n_cells)
    _check_like_for_like(counts, pairs, clusters, cells)
    sums = np.bincount(
        (c_codes * n_pairs + k_codes) * n_cells + j_codes,
        weights=values,
        minlength=n_clusters * n_pairs * n_cells,
    ).reshape(n_clusters, n_pairs, n_cells)  # (C, K, J)
    shared_counts = counts[0].astype(np.float64)  # (C, J)
    if aggregate == "micro":  # one cell holding every unit
        sums = sums.sum(axis=2, keepdims=True)  # (C, K, 1)
        shared_counts = shared_counts.sum(axis=1, keepdims=True)  # (C, 1)

    members = [np.flatnonzero(pair_system == i) for i in range(len(chosen))]  # seeds of system i
    per_pair = _aggregate(np.ones((1, n_clusters)), sums, shared_counts)[0]  # (K,)
    estimate = np.array([per_pair[ks].mean() for ks in members])  # (n_systems,)

    rng = np.random.default_rng(seed)
    draws = np.empty((n_resamples, len(chosen)))
    for start in range(0, n_resamples, _BLOCK):
        size = min(_BLOCK, n_resamples - start)
        picks = rng.integers(0, n_clusters, size=(size, n_clusters))  # (size, C) cluster ids
        offsets = (picks + n_clusters * np.arange(size)[:, None]).ravel()
        weights = np.bincount(offsets, minlength=size * n_clusters).reshape(size, n_clusters)
        pair_draws = _aggregate(weights.astype(np.float64), sums, shared_counts)  # (size, K)
        for i, ks in enumerate(members):
            n = ks.size
            a = pair_draws[:, ks]  # (size, n) aggregate of each seed in each draw
            if n == 1:
                draws[start : start + size, i] = a[:, 0]
            elif seed_level == "student":
                t = rng.standard_t(n - 1, size=size)  # (size,)
                spread = a.std(axis=1, ddof=1) / np.sqrt(n)  # (size,) s / sqrt(n)
                draws[start : start + size, i] = a.mean(axis=1) + spread * t
            else:
                picked = rng.integers(0, n, size=(size, n))  # (size, n) resampled seeds
                if seed_level == "adjusted":
                    m = a.mean(axis=1, keepdims=True)
                    a = m + np.sqrt(n / (n - 1)) * (a - m)
                draws[start : start + size, i] = np.take_along_axis(a, picked, axis=1).mean(axis=1)

    return ClusteredDraws(
        systems=tuple(chosen),
        estimate=estimate,
        draws=draws,
        n_clusters=n_clusters,
        n_seeds={s: int(ks.size) for s, ks in zip(chosen, members)},
        aggregate=aggregate,
    )


@dataclass(frozen=True)
class ClaimTest:
    """One claim "``better`` beats ``other``", from :func:`claim_test` (or, for a linear
    contrast of several systems, :func:`contrast_test`).

    ``difference`` = estimate(better) - estimate(other), sign-flipped when lower is better, so
    > 0 always favours ``better``; [ci_low, ci_high] its two-sided percentile interval; ``se``
    the std (ddof=1) of the B bootstrap differences d*_b. One-sided p-values:

    - ``p_noninferiority``, H0: difference <= -margin: ``(1 + #{d*_b <= -margin}) / (1 + B)``;
    - ``p_superiority``, H0: difference <= 0: ``(1 + #{d*_b <= 0}) / (1 + B)``;
    - ``p_inferiority``, H0: difference >= -margin: ``(1 + #{d*_b >= -margin}) / (1 + B)``.

    ``weights``: the contrast, ``((system, weight), ...)`` (``((better, 1), (other, -1))`` for
    a claim); ``n_seeds``: each system's number of seeds, in the order of ``weights``;
    ``centred``: the sorted ``d*_b - median(d*)`` (B,), the spread the tests read, from which
    :func:`claims_table` takes the smallest detectable effect.
    """

    name: str
    better: str
    other: str
    higher_is_better: bool
    difference: float
    ci_low: float
    ci_high: float
    margin: float
    se: float
    p_noninferiority: float
    p_superiority: float
    p_inferiority: float
    n_clusters: int
    n_seeds: tuple[int, ...]
    weights: tuple[tuple[str, float], ...] = ()
    centred: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def detectable_effect(self, level: float, power: float) -> float:
        """The smallest true difference that the one-sided superiority test at ``level``
        detects with probability ``power``, read off the draws' own spread:
        ``-(Q(level) + Q(1 - power))``, Q the quantiles of :attr:`centred` (the test rejects
        when fewer than ``level`` of the draws fall at or below 0, i.e. when the difference
        exceeds ``-Q(level)``). For normal draws it is ``(z_{1 - level} + z_power) * se``;
        with heavy tails (a Student-t seed level on 3 seeds) it is larger, as the test's
        reach is. A ``level`` below ``1 / B`` reads the smallest draw (an underestimate).
        NaN without draws."""
        if not self.centred:
            return float("nan")
        low, power_point = np.quantile(np.asarray(self.centred), [level, 1 - power])
        return float(-(low + power_point))


def _side(terms: list[tuple[str, float]]) -> str:
    """``[("x-x", 0.5), ("x-y", 0.5)]`` -> ``"0.5 x-x + 0.5 x-y"``; a weight of 1 is not shown."""
    return " + ".join(system if weight == 1 else f"{weight:g} {system}" for system, weight in terms)


def contrast_test(
    draws: ClusteredDraws,
    weights: Mapping[str, float],
    *,
    margin: float,
    higher_is_better: bool = True,
    name: str = "",
    confidence: float = 0.95,
) -> ClaimTest:
    """Test the claim that the linear contrast ``sum_s weights[s] * system_s`` is > 0 (or not
    below -``margin``): e.g. ``{"hybrid": 1, "x-x": -0.5, "x-y": -0.5}``, Hybrid against the
    midpoint of the two pure samplers.

    The weights must be finite, non-zero and sum to 0 (a contrast: adding a constant to every
    system leaves it unchanged), with at least one positive. d*_b = ``sum_s w_s *
    draw_b(s)`` (times -1 when lower is better), the same resample b of the clusters for every
    system. The interval is the percentile interval: the (1 - c) / 2 and (1 + c) / 2
    quantiles of d* (``np.quantile``, linear), c = ``confidence``. The p-values invert it: H0
    "difference <= t" is rejected at level a iff the one-sided (1 - a) percentile lower
    bound, the a-quantile of d*, lies above t, i.e. iff ``#{d*_b <= t} / B < a``; hence
    ``p = (1 + #{d*_b <= t}) / (1 + B)`` (never 0, as in the randomization test), and
    likewise ``#{d*_b >= t}`` for H0 "difference >= t". A d*_b within a relative 1e-10 of
    t counts for H0 (conservative; identical systems give p_superiority = 1).

    ``better`` / ``other`` of the result name the positive / negative side (``"0.5 x-x +
    0.5 x-y"``). ``margin`` (>= 0, in the measure's units): the non-inferiority margin.
    """
    terms = [(str(system), float(weight)) for system, weight in weights.items()]
    for system, _ in terms:
        if system not in draws.systems:
            raise ValueError(f"unknown system {system!r}; the draws have {list(draws.systems)}")
    if len(terms) < 2:
        raise ValueError(f"a contrast needs at least two systems, but got {weights}")
    w = np.array([weight for _, weight in terms])  # (k,)
    if not (np.isfinite(w).all() and (w != 0).all()):
        raise ValueError(f"weights must be finite and non-zero, but got {weights}")
    if abs(w.sum()) > 1e-12 * np.abs(w).sum():
        raise ValueError(f"weights must sum to 0 (a contrast), but got sum {w.sum():g}")
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, but got {margin}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), but got {confidence}")
    index = [draws.systems.index(system) for system, _ in terms]
    sign = 1.0 if higher_is_better else -1.0
    d = sign * (draws.draws[:, index] @ w)  # (B,)
    n = d.size
    low, high = np.quantile(d, [(1 - confidence) / 2, (1 + confidence) / 2])
    scale = max(float(np.abs(draws.draws[:, index]).max()) * float(np.abs(w).max()), margin)
    tol = _TOLERANCE * scale
    return ClaimTest(
        name=name,
        better=_side([(s, v) for s, v in terms if v > 0]),
        other=_side([(s, -v) for s, v in terms if v < 0]),
        higher_is_better=higher_is_better,
        difference=float(sign * (draws.estimate[index] @ w)),
        ci_low=float(low),
        ci_high=float(high),
        margin=float(margin),
        se=float(d.std(ddof=1)) if n > 1 else float("nan"),
        p_noninferiority=(1 + int((d <= -margin + tol).sum())) / (1 + n),
        p_superiority=(1 + int((d <= tol).sum())) / (1 + n),
        p_inferiority=(1 + int((d >= -margin - tol).sum())) / (1 + n),
        n_clusters=draws.n_clusters,
        n_seeds=tuple(draws.n_seeds[system] for system, _ in terms),
        weights=tuple(terms),
        centred=tuple(np.sort(d - np.median(d)).tolist()),
    )


def claim_test(
    draws: ClusteredDraws,
    better: str,
    other: str,
    *,
    margin: float,
    higher_is_better: bool = True,
    name: str = "",
    confidence: float = 0.95,
) -> ClaimTest:
    """Test the claim that ``better`` beats (or is not worse than) ``other``: the contrast
    ``better - other`` of :func:`contrast_test` (its interval and p-values).

    ``margin`` (>= 0, in the measure's units): the non-inferiority margin. Verdicts over a
    family of claims: :func:`claims_table`.
    """
    if better == other:
        raise ValueError(f"better and other must be different systems, but both are {better!r}")
    return contrast_test(
        draws,
        {better: 1.0, other: -1.0},
        margin=margin,
        higher_is_better=higher_is_better,
        name=name,
        confidence=confidence,
    )


_TESTS = ("superiority", "noninferiority", "inferiority")
TABLE_COLUMNS = (
    "name",
    "better",
    "other",
    "difference",
    "ci_low",
    "ci_high",
    "se",
    "margin",
    *(f"p_{t}" for t in _TESTS),
    *(f"p_{t}_adjusted" for t in _TESTS),
    "verdict",
    "mde",
    "n_clusters",
    "n_seeds",
    "few_seeds",
)


def claims_table(
    tests: Sequence[ClaimTest], *, alpha: float = 0.05, power: float = 0.8
) -> pd.DataFrame:
    """One row per claim: estimates, raw and Holm-adjusted p-values, verdict and mde.

    The family is ALL the tests of ALL the claims (m = 3 per claim: superiority,
    non-inferiority, inferiority), adjusted together with :func:`holm` into the
    ``p_*_adjusted`` columns. ``verdict``, checked in this order at ``alpha``:
    "superior" (adjusted p_superiority < alpha), "non-inferior" (adjusted p_noninferiority),
    "inferior" (adjusted p_inferiority), else "inconclusive".

    ``mde``, the minimal detectable effect: the smallest true difference that the one-sided
    superiority test at Holm's strictest level alpha/m would detect with probability
    ``power`` (:meth:`ClaimTest.detectable_effect`, read off the bootstrap draws' spread;
    for normal draws ``(z_{1 - alpha/m} + z_power) * se``, e.g. alpha = 0.05, m = 3, power =
    0.8: 2.97 * se, about twice a 95% interval's half-width; with a Student-t seed level on
    3 seeds the draws' tails make it about 3.8 half-widths, where the normal formula said
    2.4). An inconclusive claim whose ``mde`` exceeds the effect of interest was
    underpowered.

    ``few_seeds``: True when a system of the claim has fewer than :data:`MIN_SEEDS` seeds.
    Its seed level is then barely estimated (two seeds: one degree of freedom; one seed:
    none, the interval holds question variance only), so its verdict is flagged, not
    trusted: the book shows it marked.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), but got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), but got {power}")
    tests = list(tests)
    raw = np.array(
        [[t.p_superiority, t.p_noninferiority, t.p_inferiority] for t in tests], dtype=np.float64
    ).reshape(-1, 3)  # (n_claims, 3)
    adjusted = holm(raw.ravel()).reshape(-1, 3)
    m = raw.size
    rows = []
    for t, p, q in zip(tests, raw, adjusted):
        if q[0] < alpha:
            verdict = "superior"
        elif q[1] < alpha:
            verdict = "non-inferior"
        elif q[2] < alpha:
            verdict = "inferior"
        else:
            verdict = "inconclusive"
        rows.append(
            (
                t.name,
                t.better,
                t.other,
                t.difference,
                t.ci_low,
                t.ci_high,
                t.se,
                t.margin,
                *p.tolist(),
                *q.tolist(),
                verdict,
                t.detectable_effect(alpha / m, power),
                t.n_clusters,
                t.n_seeds,
                min(t.n_seeds) < MIN_SEEDS,
            )
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
