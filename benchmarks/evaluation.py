"""Evaluation from embeddings: hybridlib's full XQuAD-R evaluation vs a per-query sklearn loop.

Ours: :func:`hybridlib.evaluation.evaluate_settings` on XQuAD-R (Mono: 11 cells, Cross: 110
ordered language pairs, Multi: 11 cells; MAP, Recall@1, Recall@10, and rank distance in
Multi), from random L2-normalised embeddings of the real shapes (13,090 queries, 13,014
candidates, dim 384; random scores have no ties, so every tie rule agrees).

Reference: what one writes without hybridlib, one (query, pool) evaluation at a time: the
query's scores against its pool (``q @ C_pool.T``), its 0/1 relevance vector from the
qrels, ``sklearn.metrics.average_precision_score`` for AP and a sort for Recall@k. It is
run on a seeded random subset of the evaluations of each setting and **extrapolated
linearly** to the full count (seconds per evaluation of a setting x evaluations of that
setting), since the full loop takes minutes. The subset's numbers must equal ours (within
1e-12) wherever the float32 scores cannot order a relevant candidate differently: both
sides compute float32 inner products, ours a block at a time, the reference one query at a
time, so the sums run in a different order. A unit may differ only if it has a **near
tie**: a relevant candidate ``j`` and another ``k`` whose exact (float64) scores are within
the float32 error bounds, ``|s_j - s_k| <= b_j + b_k`` with ``b = n u |q| . |c|`` (``n`` = 384
terms, ``u = 2^-24``; Higham's bound for a dot product). Any other difference fails the
benchmark. Reported: the largest difference outside near ties, how many units differ and
how many have a near tie (rank distance is not compared).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import Comparison, row

BENCHMARK = "evaluation"
DIM = 384
MEASURES = ("map", "recall@1", "recall@10")
# equal values: AP and Recall from the same ranks agree to the last bits of a float64 sum
EQUAL_WITHIN = 1e-12
FLOAT32_UNIT_ROUNDOFF = 2.0**-24


def random_embeddings(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """``(n, dim)`` float32 rows drawn from a standard normal and L2-normalised."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def hybridlib_evaluation(suite: Any, queries: np.ndarray, candidates: np.ndarray) -> Any:
    """The full Mono / Cross / Multi evaluation (a ``SettingsResult``)."""
    from hybridlib.evaluation import DenseScorer, evaluate_settings

    return evaluate_settings(suite, DenseScorer(queries, candidates))


def evaluation_units(suite: Any) -> pd.DataFrame:
    """Every (setting, query, pool language) evaluation with a relevant candidate in the pool.

    Columns: setting, query_row, candidate_language (``"all"`` for Multi).
    """
    languages = suite.languages
    language_of = {c.id: c.language for c in suite.candidates}
    units = []
    for row_index, query in enumerate(suite.queries):
        relevant_languages = {
            language_of[c] for c, g in suite.qrels.get(query.id, {}).items() if g > 0
        }
        for y in languages:
            if y in relevant_languages:
                units.append(("mono" if y == query.language else "cross", row_index, y))
        if relevant_languages:
            units.append(("multi", row_index, "all"))
    return pd.DataFrame(units, columns=["setting", "query_row", "candidate_language"])


class SklearnReference:
    """Per-query MAP / Recall@1 / Recall@10 by a loop over (query, pool) evaluations.

    The pools (candidate rows per language, and all) and each pool's id -> position map are
    built once here, outside the timed loop.
    """

    def __init__(self, suite: Any, queries: np.ndarray, candidates: np.ndarray) -> None:
        self.suite, self.queries, self.candidates = suite, queries, candidates
        language = np.array([c.language for c in suite.candidates])
        self.pools = {y: np.flatnonzero(language == y) for y in suite.languages}
        self.pools["all"] = np.arange(len(suite.candidates))
        self.position = {
            y: {suite.candidates[j].id: i for i, j in enumerate(cols)}
            for y, cols in self.pools.items()
        }

    def evaluate(self, units: pd.DataFrame) -> pd.DataFrame:
        """One row per unit and measure: setting, query_id, candidate_language, metric, value."""
        from sklearn.metrics import average_precision_score

        out = []
        for setting, query_row, y in units.itertuples(index=False):
            query = self.suite.queries[query_row]
            cols = self.pools[y]
            scores = self.candidates[cols] @ self.queries[query_row]  # (n_pool,)
            relevant = np.zeros(len(cols), dtype=np.int8)  # (n_pool,)
            for candidate_id, grade in self.suite.qrels[query.id].items():
                i = self.position[y].get(candidate_id)
                if i is not None and grade > 0:
                    relevant[i] = 1
            n_relevant = int(relevant.sum())
            ranking = np.argsort(-scores, kind="stable")
            values = {
                "map": float(average_precision_score(relevant, scores)),
                "recall@1": relevant[ranking[:1]].sum() / n_relevant,
                "recall@10": relevant[ranking[:10]].sum() / n_relevant,
            }
            for metric, value in values.items():
                out.append((setting, query.id, y, metric, float(value)))
        return pd.DataFrame(
            out, columns=["setting", "query_id", "candidate_language", "metric", "value"]
        )


def near_ties(
    suite: Any,
    queries: np.ndarray,
    candidates: np.ndarray,
    units: pd.DataFrame,
    pools: dict[str, np.ndarray],
) -> np.ndarray:
    """``(len(units),)`` bool: the unit has a relevant candidate within float32 error of another.

    Exact scores ``s = C q`` in float64 and the error bound of a float32 dot product of
    ``n`` terms, ``b = n u |C| |q|``; near tie: ``|s_j - s_k| <= b_j + b_k`` for a relevant
    ``j`` and any other ``k`` of the pool.
    """
    n_terms = queries.shape[1]
    gamma = n_terms * FLOAT32_UNIT_ROUNDOFF / (1 - n_terms * FLOAT32_UNIT_ROUNDOFF)
    q64, c64 = queries.astype(np.float64), candidates.astype(np.float64)
    out = np.zeros(len(units), dtype=bool)
    for i, (_, query_row, y) in enumerate(units.itertuples(index=False)):
        cols = pools[y]
        scores = c64[cols] @ q64[query_row]  # (n_pool,)
        bound = gamma * (np.abs(c64[cols]) @ np.abs(q64[query_row]))  # (n_pool,)
        relevant_ids = {
            c for c, g in suite.qrels.get(suite.queries[query_row].id, {}).items() if g > 0
        }
        for j in (k for k, col in enumerate(cols) if suite.candidates[col].id in relevant_ids):
            close = np.abs(scores - scores[j]) <= bound + bound[j]  # (n_pool,)
            if close.sum() > 1:  # itself and another
                out[i] = True
                break
    return out


def compare_with_ours(
    ours_per_query: pd.DataFrame, reference: pd.DataFrame, near_tie: pd.DataFrame
) -> dict[str, float]:
    """Reference values vs ours on the same units (``near_tie``: the units' setting,
    query_id, candidate_language and a bool ``near_tie`` column).

    Returns the largest absolute difference outside near ties, the number of units
    (of the subset) whose values differ by more than 1e-12, and how many of those have a
    near tie. Raises when a reference value has no counterpart in ours.
    """
    keys = ["setting", "query_id", "candidate_language", "metric"]
    merged = reference.merge(
        ours_per_query[keys + ["value"]], on=keys, how="left", suffixes=("_ref", "_ours"),
        validate="one_to_one",
    ).merge(near_tie, on=keys[:3], how="left", validate="many_to_one")  # fmt: skip
    missing = int(merged["value_ours"].isna().sum())
    if missing:
        raise AssertionError(f"evaluation: {missing} reference values have no counterpart in ours")
    merged["difference"] = (merged["value_ref"] - merged["value_ours"]).abs()
    differing = merged[merged["difference"] > EQUAL_WITHIN].drop_duplicates(keys[:3])
    clean = merged.loc[~merged["near_tie"].astype(bool), "difference"]
    return {
        "max_abs_difference": float(clean.max()) if len(clean) else 0.0,
        "units_differing": float(len(differing)),
        "units_differing_with_near_tie": float(differing["near_tie"].astype(bool).sum()),
    }


def run(
    *,
    quick: bool,
    repeats: int | None = None,
    per_setting: int | None = None,
    suite: Any = None,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the evaluation benchmark and its details."""
    from hybridlib.data import load_lareqa

    repeats = repeats or (2 if quick else 5)
    per_setting = per_setting or (100 if quick else 500)
    suite = suite if suite is not None else load_lareqa("xquad-r")
    queries = random_embeddings(len(suite.queries), seed=0)  # (13,090, 384)
    candidates = random_embeddings(len(suite.candidates), seed=1)  # (13,014, 384)
    units = evaluation_units(suite)
    counts = units["setting"].value_counts().to_dict()
    rng = np.random.default_rng(0)
    subset = pd.concat(
        [g.iloc[np.sort(rng.choice(len(g), size=min(per_setting, len(g)), replace=False))]
         for _, g in units.groupby("setting", sort=True)],
        ignore_index=True,
    )  # fmt: skip
    log(
        f"evaluation: ours on all {len(units)} evaluations x {repeats}; sklearn on {len(subset)} (extrapolated)"
    )

    sklearn_loop = SklearnReference(suite, queries, candidates)
    near_tie = subset.assign(
        query_id=[suite.queries[r].id for r in subset["query_row"]],
        near_tie=near_ties(suite, queries, candidates, subset, sklearn_loop.pools),
    )[["setting", "query_id", "candidate_language", "near_tie"]]  # fmt: skip
    ours_seconds, reference_seconds, checks = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = hybridlib_evaluation(suite, queries, candidates)
        ours_seconds.append(time.perf_counter() - started)
        total, references = 0.0, []
        for setting, part in subset.groupby("setting", sort=True):
            started = time.perf_counter()
            references.append(sklearn_loop.evaluate(part))
            per_unit = (time.perf_counter() - started) / len(part)
            total += per_unit * counts[setting]
        reference_seconds.append(total)
        checks.append(compare_with_ours(result.per_query, pd.concat(references), near_tie))
    max_difference = max(c["max_abs_difference"] for c in checks)
    differing = max(c["units_differing"] for c in checks)
    explained = min(c["units_differing_with_near_tie"] for c in checks)
    if max_difference > EQUAL_WITHIN or explained < differing:
        raise AssertionError(
            f"evaluation: hybridlib and the sklearn reference differ by up to {max_difference:.3g} "
            f"outside float32 near ties ({differing:.0f} units differ, {explained:.0f} of them "
            "with a near tie)"
        )
    rows = Comparison(
        BENCHMARK, "hybridlib evaluate_settings (full)", "sklearn per-query loop (extrapolated)",
        "seconds", ours_seconds, reference_seconds,
    ).rows()  # fmt: skip
    rows.append(
        row(BENCHMARK, "hybridlib vs sklearn (subset)", "max_abs_difference", [max_difference])
    )
    rows.append(row(BENCHMARK, "hybridlib vs sklearn (subset)", "units_differing_at_near_ties",
                    [differing]))  # fmt: skip
    rows.append(row(BENCHMARK, "hybridlib vs sklearn (subset)", "units_compared", [len(subset)]))
    details = {
        "evaluations": counts,
        "reference_subset_per_setting": per_setting,
        "ours_seconds": ours_seconds,
        "reference_seconds_extrapolated": reference_seconds,
        "max_abs_difference": max_difference,
        "units_differing_at_near_ties": differing,
        "near_tie_units": int(near_tie["near_tie"].sum()),
        "n_results": len(result.results),
    }
    return rows, details
