"""Significance tests, confidence intervals and comparison tables on per-query values.

- :func:`randomization_test`: paired randomization (sign-flip) test of the mean difference.
- :func:`bootstrap_ci`: bootstrap confidence interval of a mean (``scipy.stats.bootstrap``).
- :func:`adjust_p_values` / :func:`holm`: corrections for multiple comparisons.
- :func:`seed_summary` / :func:`aggregate_seeds`: mean and t-interval over training seeds.
- :func:`compare` / :func:`compare_table`: a paper table in the form of ranx's ``compare``.

Per-query arrays may hold NaN for queries that were not scored (no relevant candidate); a
paired test drops those queries, and both systems must have NaN at the same queries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
import scipy.stats

from hybridlib.metrics.measures import higher_is_better

_SUPERSCRIPTS = dict(zip("abcdefghijklmnoprstuvwxyz", "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"))


def _paired(a, b, what: str = "a and b") -> tuple[np.ndarray, np.ndarray]:
    """Per-query arrays of two systems with the unscored (NaN) queries dropped.

    ``a`` and ``b`` are arrays in one query order, or both ``pandas.Series`` indexed by query
    id, which are aligned by id (the same set of ids is required, each once).
    """
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        if not (isinstance(a, pd.Series) and isinstance(b, pd.Series)):
            raise TypeError(
                f"{what}: give both as pandas Series indexed by query id, or both as arrays "
                "in one query order, not one of each"
            )
        for series, name in ((a, what.split(" and ")[0]), (b, what.split(" and ")[-1])):
            if series.index.has_duplicates:
                repeated = series.index[series.index.duplicated()][0]
                raise ValueError(f"{what}: {name} has query id {repeated!r} more than once")
        only_a = a.index.difference(b.index)
        only_b = b.index.difference(a.index)
        if len(only_a) or len(only_b):
            example = only_a[0] if len(only_a) else only_b[0]
            raise ValueError(
                f"{what} are scored on different queries: {len(only_a)} only in the first, "
                f"{len(only_b)} only in the second (e.g. query id {example!r})"
            )
        b = b.reindex(a.index)
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(
            f"{what} must have one value per query each, but have {a.size} and {b.size}"
        )
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        raise ValueError(
            f"{what} are NaN (unscored) at different queries ({int((nan_a != nan_b).sum())} "
            f"differ); they must be evaluated on the same queries"
        )
    keep = ~nan_a
    return a[keep], b[keep]


@dataclass(frozen=True)
class RandomizationResult:
    """``statistic`` = mean(a - b) over ``n`` paired queries; two-sided ``p_value``."""

    statistic: float
    p_value: float
    n: int
    exact: bool
    n_resamples: int


def randomization_test(
    a,
    b,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    block: int = 1_000,
) -> RandomizationResult:
    """Paired randomization (sign-flip) test of ``mean(a - b) = 0``, two-sided.

    Under the null hypothesis each per-query difference ``d_i = a_i - b_i`` is equally likely
    to have either sign. With ``T = sum_i d_i`` and ``T*`` its value under random signs:

    - exact when ``2**n <= n_resamples``: ``p = #{signs : |T*| >= |T|} / 2**n``;
    - otherwise Monte Carlo with ``B = n_resamples`` draws from ``default_rng(seed)``:
      ``p = (1 + #{b : |T*_b| >= |T|}) / (1 + B)`` (never 0; valid for a random test).

    Equality is judged with a relative tolerance of 1e-10 (summation order). Identical
    systems give ``p = 1``. Memory: ``block * n`` floats per step.
    """
    a, b = _paired(a, b)
    d = a - b  # (n,)
    n = d.size
    if n == 0:
        raise ValueError("randomization_test needs at least one scored query, but got 0")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, but got {n_resamples}")
    observed = abs(d.sum())
    tol = 1e-10 * float(np.abs(d).sum())
    exact = n < 63 and 2**n <= n_resamples
    if exact:
        patterns = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1  # (2**n, n)
        signs = 1.0 - 2.0 * patterns
        extreme = int((np.abs(signs @ d) >= observed - tol).sum())
        p = extreme / 2**n
        return RandomizationResult(float(d.mean()), float(p), n, True, 2**n)
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, n))  # (size, n)
        extreme += int((np.abs(signs @ d) >= observed - tol).sum())
    p = (1 + extreme) / (1 + n_resamples)
    return RandomizationResult(float(d.mean()), float(p), n, False, n_resamples)


@dataclass(frozen=True)
class ConfidenceInterval:
    """``mean`` of the values and its confidence interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    confidence: float
    n: int


def bootstrap_ci(
    values,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    method: Literal["BCa", "percentile", "basic"] = "BCa",
    seed: int = 0,
) -> ConfidenceInterval:
    """Bootstrap confidence interval of the mean of per-query values (NaN dropped).

    ``scipy.stats.bootstrap`` (BCa by default) with ``rng=default_rng(seed)``. For a paired
    difference between systems pass ``a - b``. Constant values give ``low = high = mean``
    (BCa is undefined there).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError(f"bootstrap_ci needs at least 2 scored values, but got {x.size}")
    mean = float(x.mean())
    if np.ptp(x) == 0:
        return ConfidenceInterval(mean, mean, mean, confidence, int(x.size))
    result = scipy.stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method=method,
        batch=max(1, 5_000_000 // x.size),
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return ConfidenceInterval(mean, float(ci.low), float(ci.high), confidence, int(x.size))


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down), in the input order.

    With ``p_(1) <= ... <= p_(m)``: ``adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))``;
    reject ``H_(i)`` at level alpha iff ``adj_(i) <= alpha``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ValueError(
            f"p-values must lie in [0, 1], but got {p[(p < 0) | (p > 1) | np.isnan(p)][0]}"
        )
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]  # (m,) multipliers m, m-1, ..., 1
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted
    return out


Correction = Literal["holm", "bonferroni", "bh", "none"]


def adjust_p_values(p_values, method: Correction = "holm") -> np.ndarray:
    """Adjust a family of p-values: ``"holm"``, ``"bonferroni"``, ``"bh"`` (Benjamini-Hochberg,
    ``scipy.stats.false_discovery_control``) or ``"none"``."""
    p = np.asarray(p_values, dtype=np.float64)
    if method == "holm":
        return holm(p)
    if method == "bonferroni":
        return np.minimum(1.0, p * p.size)
    if method == "bh":
        return scipy.stats.false_discovery_control(p, method="bh") if p.size else p
    if method == "none":
        return p.copy()
    raise ValueError(f"unknown correction {method!r}; use 'holm', 'bonferroni', 'bh' or 'none'")


@dataclass(frozen=True)
class SeedSummary:
    """Mean over seeds with its t-interval; ``std`` uses ddof=1; bounds NaN when ``n < 2``."""

    mean: float
    std: float
    low: float
    high: float
    n: int
    confidence: float


def seed_summary(values: Sequence[float], *, confidence: float = 0.95) -> SeedSummary:
    """Mean over seeds and its t-interval: ``mean +- t_{(1+c)/2, n-1} * std / sqrt(n)``."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0 or np.isnan(x).any():
        raise ValueError(f"seed_summary needs finite values, but got {x.tolist()}")
    mean = float(x.mean())
    if x.size < 2:
        return SeedSummary(mean, float("nan"), float("nan"), float("nan"), 1, confidence)
    std = float(x.std(ddof=1))
    if std == 0:
        return SeedSummary(mean, 0.0, mean, mean, int(x.size), confidence)
    low, high = scipy.stats.t.interval(
        confidence, df=x.size - 1, loc=mean, scale=std / np.sqrt(x.size)
    )
    return SeedSummary(mean, std, float(low), float(high), int(x.size), confidence)


def aggregate_seeds(
    results: pd.DataFrame,
    *,
    value: str = "value",
    seed: str = "seed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Collapse a tidy results table over its ``seed`` column.

    Groups by every other column except ``value`` and returns them with ``mean``, ``std``,
    ``ci_low``, ``ci_high`` and ``n_seeds`` (from :func:`seed_summary`).
    """
    for column in (value, seed):
        if column not in results.columns:
            raise ValueError(f"results have no column {column!r}; columns: {list(results.columns)}")
    keys = [c for c in results.columns if c not in (value, seed)]
    rows = []
    for group, frame in results.groupby(keys, dropna=False, sort=True) if keys else [((), results)]:
        s = seed_summary(frame[value].to_numpy(), confidence=confidence)
        group = group if isinstance(group, tuple) else (group,)
        rows.append((*group, s.mean, s.std, s.low, s.high, s.n))
    return pd.DataFrame(rows, columns=[*keys, "mean", "std", "ci_low", "ci_high", "n_seeds"])


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    means: DataFrame (system x measure) of mean per-query values. tests: one row per tested
    (measure, system, other) with ``p_value``, ``p_adjusted`` (within each measure) and
    ``better`` (significantly better than ``other`` at ``alpha``). labels: system -> letter.
    """

    means: pd.DataFrame
    tests: pd.DataFrame
    labels: dict[str, str]
    alpha: float
    lower_is_better: frozenset[str]

    def table(self, digits: int = 3, best: str = "**{}**") -> pd.DataFrame:
        """The paper table: ``#`` (letter) and, per measure, the mean formatted to ``digits``,
        the best system's value as ``best`` (markdown bold), followed by the superscript
        letters of the systems it is significantly better than."""
        table = pd.DataFrame(index=self.means.index)
        table["#"] = [self.labels[s] for s in self.means.index]
        for measure in self.means.columns:
            column = self.means[measure]
            top = column.min() if measure in self.lower_is_better else column.max()
            cells = []
            for system, mean in column.items():
                text = f"{mean:.{digits}f}"
                if mean == top:
                    text = best.format(text)
                wins = self.tests[
                    (self.tests["measure"] == measure)
                    & (self.tests["system"] == system)
                    & self.tests["better"]
                ]["other"]
                text += "".join(
                    _SUPERSCRIPTS[self.labels[o]]
                    for o in sorted(wins, key=lambda other: self.labels[other])
                )
                cells.append(text)
            table[measure] = cells
        return table


def _lower_is_better(measure: str) -> bool:
    """The registry's direction; a measure it does not know (a user's own) is higher-better."""
    try:
        return not higher_is_better(measure)
    except ValueError:
        return False


def compare(
    per_query: Mapping[str, Mapping[str, np.ndarray]],
    *,
    baseline: str | None = None,
    test: Literal["randomization", "t-test"] = "randomization",
    correction: Correction = "holm",
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
    lower_is_better: Collection[str] | None = None,
) -> Comparison:
    """Compare systems on per-query values: ``{system: {measure: (n_queries,) array}}``.

    The values are arrays in one query order for every system, or ``pandas.Series``
    indexed by query id, aligned by id (a system scored on other queries is an error).

    Tests every pair of systems (or, with ``baseline``, every system against it) on each
    measure with ``test`` (paired randomization test, or ``scipy.stats.ttest_rel``), then
    adjusts the p-values of each measure together with ``correction``. A system is marked
    better than another when its adjusted p-value is below ``alpha`` and its mean is better
    (higher; lower for the measures in ``lower_is_better``, by default those the registry
    :data:`hybridlib.metrics.measures.MEASURES` marks so, e.g. the rank distances).
    """
    systems = list(per_query)
    if len(systems) < 2:
        raise ValueError(f"compare needs at least 2 systems, but got {len(systems)}")
    if len(systems) > len(_SUPERSCRIPTS):
        raise ValueError(
            f"compare labels at most {len(_SUPERSCRIPTS)} systems, but got {len(systems)}"
        )
    if baseline is not None and baseline not in per_query:
        raise ValueError(f"baseline {baseline!r} is not among the systems {systems}")
    measures = list(per_query[systems[0]])
    for s in systems:
        if list(per_query[s]) != measures:
            raise ValueError(
                f"system {s!r} has measures {list(per_query[s])}, but {systems[0]!r} has {measures}"
            )
    labels = dict(zip(systems, _SUPERSCRIPTS))
    lower = frozenset(
        lower_is_better
        if lower_is_better is not None
        else [m for m in measures if _lower_is_better(m)]
    )
    means = pd.DataFrame(
        {m: [float(np.nanmean(per_query[s][m])) for s in systems] for m in measures},
        index=pd.Index(systems, name="system"),
    )
    if baseline is None:
        pairs = list(combinations(systems, 2))
    else:
        pairs = [(s, baseline) for s in systems if s != baseline]
    rows = []
    for m in measures:
        p_values = []
        for s, o in pairs:
            a, b = _paired(per_query[s][m], per_query[o][m], what=f"{s!r} and {o!r} on {m!r}")
            if a.size == 0:
                raise ValueError(f"{s!r} and {o!r} have no scored query on {m!r}")
            if test == "randomization":
                p = randomization_test(a, b, n_resamples=n_resamples, seed=seed).p_value
            elif test == "t-test":
                d = a - b
                if np.ptp(d) == 0:  # no variance: the t statistic is 0/0 or +-inf
                    p = 1.0 if d[0] == 0 else 0.0
                else:
                    p = float(scipy.stats.ttest_rel(a, b).pvalue)
            else:
                raise ValueError(f"unknown test {test!r}; use 'randomization' or 't-test'")
            p_values.append(p)
        adjusted = adjust_p_values(np.array(p_values), correction)
        for (s, o), p, q in zip(pairs, p_values, adjusted):
            diff = means.at[s, m] - means.at[o, m]
            if m in lower:
                diff = -diff
            significant = bool(q < alpha)
            # Both directions of a pair are listed, so each system's wins are easy to select.
            rows.append((m, s, o, p, q, significant and diff > 0))
            rows.append((m, o, s, p, q, significant and diff < 0))
    tests = pd.DataFrame(
        rows, columns=["measure", "system", "other", "p_value", "p_adjusted", "better"]
    )
    return Comparison(means=means, tests=tests, labels=labels, alpha=alpha, lower_is_better=lower)


def compare_table(
    per_query: Mapping[str, Mapping[str, np.ndarray]],
    *,
    baseline: str | None = None,
    digits: int = 3,
    **options,
) -> pd.DataFrame:
    """ranx-style table: :func:`compare` (``options`` go there) then :meth:`Comparison.table`."""
    return compare(per_query, baseline=baseline, **options).table(digits=digits)
