"""Retrieval measures from the ranks of the relevant candidates, per query.

All measures follow trec_eval's definitions and share :mod:`hybridlib.metrics.ranking`'s
ranks and tie rule. For a query with relevant candidates at ranks ``r_1 < ... < r_R``
(``R`` = all relevant candidates of the query, grades ``g`` > 0):

- ``map`` (average precision): ``AP = (1/R) * sum_m m / r_m``; ``map@k`` keeps the terms
  with ``r_m <= k`` (still divided by ``R``, as trec_eval's ``map_cut_k``).
- ``recall@k``: ``#{m : r_m <= k} / R`` (fraction of the relevant found).
- ``success@k``: 1 if ``r_1 <= k`` else 0 (any relevant found).
- ``precision@k``: ``#{m : r_m <= k} / k``.
- ``mrr`` / ``mrr@k``: ``1 / r_1`` (0 when ``r_1 > k``).
- ``ndcg`` / ``ndcg@k``: ``DCG / IDCG`` with linear gain, ``DCG = sum_{r_m <= k} g_m /
  log2(r_m + 1)`` and ``IDCG = sum_{t <= min(k, R)} g*_t / log2(t + 1)``, ``g*`` the grades
  sorted descending (trec_eval's ideal).
- ``rank_distance`` / ``rank_distance_norm``: ``r_R - r_1`` and its ratio to a random
  ranking's expectation (:mod:`hybridlib.metrics.language_bias`; lower is better).

:data:`MEASURES` is the one registry of them: name, cut-off, direction, display name and
digits, and the function from ranks. Everything that reads, computes, orders or shows a
measure asks it (:func:`measure_spec`).

A query without a relevant candidate in its pool (``R = 0``) is not scored: its value is NaN
for every measure, and means skip it (:func:`mean_scores` reports how many were skipped).
It is never scored 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hybridlib.metrics.language_bias import rank_distance_from_ranks
from hybridlib.metrics.ranking import (
    RelevantRanks,
    _ranks_from_entries,
    relevant_ranks,
    tie_break_keys,
)

_NAME = re.compile(r"^([a-z_]+)(?:@(\d+))?$")


@dataclass(frozen=True)
class _RankView:
    """The arrays every measure reads, computed once per call of :func:`measures_from_ranks`."""

    ranked: RelevantRanks
    ranks: np.ndarray  # (n_queries, width), ascending, inf = padding / not ranked
    grades: np.ndarray  # (n_queries, width)
    n_relevant: np.ndarray  # (n_queries,) float64
    position: np.ndarray  # (1, width): m = 1..width
    first: np.ndarray  # (n_queries,) rank of the first relevant candidate, inf if none

    def within(self, k: float) -> np.ndarray:
        """``(n_queries, width)``: the relevant candidates ranked at or above ``k``."""
        return np.isfinite(self.ranks) & (self.ranks <= k)


def _average_precision(v: _RankView, k: float) -> np.ndarray:
    return np.where(v.within(k), v.position / v.ranks, 0.0).sum(axis=1) / v.n_relevant


def _recall(v: _RankView, k: float) -> np.ndarray:
    return v.within(k).sum(axis=1) / v.n_relevant


def _precision(v: _RankView, k: float) -> np.ndarray:
    return v.within(k).sum(axis=1) / k


def _success(v: _RankView, k: float) -> np.ndarray:
    return (np.isfinite(v.first) & (v.first <= k)).astype(np.float64)


def _reciprocal_rank(v: _RankView, k: float) -> np.ndarray:
    return np.where(v.first <= k, 1.0 / v.first, 0.0)


def _ndcg(v: _RankView, k: float) -> np.ndarray:
    dcg = np.where(v.within(k), v.grades / np.log2(v.ranks + 1.0), 0.0).sum(axis=1)
    ideal = -np.sort(-v.grades, axis=1)  # (n_queries, width) grades descending
    gains = np.where(v.position <= k, ideal / np.log2(v.position + 1.0), 0.0)
    return dcg / gains.sum(axis=1)


def _rank_distance(v: _RankView, k: float) -> np.ndarray:
    return rank_distance_from_ranks(v.ranked).per_query


def _rank_distance_norm(v: _RankView, k: float) -> np.ndarray:
    return rank_distance_from_ranks(v.ranked).normalised_per_query


@dataclass(frozen=True)
class MeasureSpec:
    """One measure: its name, whether it takes a cut-off ``@k`` (``"need"``, ``"may"`` or
    ``"none"``), its direction, how it reads in the book (``label``, ``digits``) and
    ``compute(view, k) -> (n_queries,) float64`` (``k = inf`` without a cut-off)."""

    name: str
    cutoff: Literal["need", "may", "none"]
    higher_is_better: bool
    label: str
    digits: int
    compute: Callable[[_RankView, float], np.ndarray]


MEASURES: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec("map", "may", True, "mAP", 3, _average_precision),
        MeasureSpec("ndcg", "may", True, "nDCG", 3, _ndcg),
        MeasureSpec("mrr", "may", True, "MRR", 3, _reciprocal_rank),
        MeasureSpec("recall", "need", True, "Recall", 3, _recall),
        MeasureSpec("success", "need", True, "Success", 3, _success),
        MeasureSpec("precision", "need", True, "Precision", 3, _precision),
        MeasureSpec("rank_distance", "none", False, "rank distance", 1, _rank_distance),
        MeasureSpec(
            "rank_distance_norm", "none", False, "normalised rank distance", 3, _rank_distance_norm
        ),
    )
}


@dataclass(frozen=True)
class Measure:
    """A parsed measure name: ``"ndcg@10"`` -> ``Measure("ndcg", 10)``; ``k=None`` = no cut-off."""

    name: str
    k: int | None = None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"


def parse_measure(name: str | Measure) -> Measure:
    """Parse ``"map"``, ``"recall@10"``, ``"success@1"``, ``"ndcg@10"``, ``"mrr@10"``...

    Raises ``ValueError`` naming the known measures for an unknown name or a bad cut-off.
    """
    if isinstance(name, Measure):
        return name
    match = _NAME.match(str(name).strip().lower())
    forms = {"need": "{m}@k", "may": "{m}, {m}@k", "none": "{m}"}
    known = ", ".join(forms[spec.cutoff].format(m=m) for m, spec in MEASURES.items())
    if match is None or match.group(1) not in MEASURES:
        raise ValueError(f"unknown measure {name!r}; known measures: {known}")
    base, k = match.group(1), match.group(2)
    if k is None and MEASURES[base].cutoff == "need":
        raise ValueError(f"measure {name!r} needs a cut-off, e.g. '{base}@10'")
    if k is not None and MEASURES[base].cutoff == "none":
        raise ValueError(f"measure {name!r} takes no cut-off; write {base!r}")
    if k is not None and int(k) < 1:
        raise ValueError(f"measure {name!r}: the cut-off k must be >= 1, but got {k}")
    return Measure(base, None if k is None else int(k))


def measures_from_ranks(
    ranked: RelevantRanks, measures: Iterable[str | Measure]
) -> dict[str, np.ndarray]:
    """Per-query values ``(n_queries,)`` float64 of each measure, keyed by its name as given.

    NaN for queries without a relevant candidate.
    """
    parsed = [(str(m), parse_measure(m)) for m in measures]
    r = ranked.ranks  # (n_queries, width), ascending, inf = padding / not ranked
    view = _RankView(
        ranked=ranked,
        ranks=r,
        grades=ranked.grades,
        n_relevant=ranked.n_relevant.astype(np.float64),
        position=np.arange(1, r.shape[1] + 1, dtype=np.float64)[None, :],
        first=r[:, 0] if r.shape[1] else np.full(r.shape[0], np.inf),
    )
    no_relevant = ranked.n_relevant == 0
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, m in parsed:
            value = MEASURES[m.name].compute(view, np.inf if m.k is None else float(m.k))
            out[key] = np.where(no_relevant, np.nan, value)
    return out


def evaluate_scores(
    scores: np.ndarray,
    relevance,
    measures: Iterable[str | Measure],
    candidate_ids: Sequence[str] | None = None,
    *,
    tie_keys: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-query measures for a full score matrix.

    scores: ``(n_queries, n_candidates)`` float; relevance: ``(n_queries, n_candidates)`` int
    grades (0 = not relevant; dense or ``scipy.sparse``). ``candidate_ids`` (or ``tie_keys``)
    set trec_eval's tie rule; ``excluded`` (bool, as ``scores``) leaves candidates out of a
    query's pool (:func:`~hybridlib.metrics.ranking.relevant_ranks`). Returns
    ``{measure name: (n_queries,) float64}``, NaN for a query without a relevant candidate.
    Means: :func:`mean_scores`.
    """
    ranked = relevant_ranks(scores, relevance, candidate_ids, tie_keys=tie_keys, excluded=excluded)
    return measures_from_ranks(ranked, measures)


@dataclass(frozen=True)
class MeanScore:
    """Mean over the scored queries; ``n`` scored, ``n_excluded`` without a relevant candidate."""

    mean: float
    n: int
    n_excluded: int


def mean_scores(per_query: Mapping[str, np.ndarray]) -> dict[str, MeanScore]:
    """Mean of each measure over the queries that have a relevant candidate (NaN skipped)."""
    out = {}
    for name, values in per_query.items():
        values = np.asarray(values, dtype=np.float64)
        scored = ~np.isnan(values)
        n = int(scored.sum())
        mean = float(values[scored].mean()) if n else float("nan")
        out[name] = MeanScore(mean=mean, n=n, n_excluded=int(values.size - n))
    return out


def evaluate_run(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    measures: Iterable[str | Measure],
) -> dict[str, dict[str, float]]:
    """Measures for a run in the pytrec_eval / ranx shape, as trec_eval computes them.

    qrels ``{qid: {docid: grade}}``, run ``{qid: {docid: score}}``. Every query of the run is
    evaluated; one without a relevant document in ``qrels`` gets NaN (not 0). Relevant
    documents missing from a query's run count in ``R`` and are never found. Queries only in
    ``qrels`` are not evaluated (trec_eval's default). Ties: trec_eval's rule (docid
    descending). Returns ``{measure name: {qid: value}}``.
    """
    measures = list(measures)
    for m in measures:
        parse_measure(m)
    qids = list(run)
    judged_of: dict[str, dict[str, int]] = {}
    for qid in qids:
        judged_of[qid] = {}
        for d, grade in qrels.get(qid, {}).items():
            if grade < 0 or int(grade) != grade:
                raise ValueError(f"qrels[{qid!r}][{d!r}] = {grade!r}; grades must be integers >= 0")
            judged_of[qid][str(d)] = int(grade)
    # One global tie-break order over all document ids; restricted to any query's documents
    # it is that query's descending-id order.
    all_ids: dict[str, None] = {}
    rows_docs: list[list[str]] = []
    for qid in qids:
        docs = [str(d) for d in run[qid]]
        retrieved = set(docs)
        missing = [d for d, g in judged_of[qid].items() if g > 0 and d not in retrieved]
        rows_docs.append(docs + missing)  # missing relevant documents: score NaN, rank inf
        all_ids.update(dict.fromkeys(docs + missing))
    id_list = list(all_ids)
    key_of = dict(zip(id_list, tie_break_keys(id_list).tolist()))

    width = max((len(d) for d in rows_docs), default=0)
    scores = np.full((len(qids), width), np.nan)  # (n_queries, width); NaN = not ranked
    keys = np.zeros((len(qids), width), dtype=np.int64)  # (n_queries, width)
    rows, cols, grades = [], [], []
    for i, (qid, docs) in enumerate(zip(qids, rows_docs)):
        doc_scores = run[qid]
        n_ranked = len(doc_scores)
        values = np.fromiter(doc_scores.values(), dtype=np.float64, count=n_ranked)
        if np.isnan(values).any():
            raise ValueError(f"run[{qid!r}] has NaN scores; give every document a finite score")
        scores[i, :n_ranked] = values
        keys[i, : len(docs)] = [key_of[d] for d in docs]
        judged = judged_of[qid]
        for j, d in enumerate(docs):
            grade = judged.get(d, 0)
            if grade > 0:
                rows.append(i)
                cols.append(j)
                grades.append(float(grade))
    pool_size = np.array([len(run[q]) for q in qids], dtype=np.int64)
    ranked = _ranks_from_entries(
        scores,
        keys,
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(grades, dtype=np.float64),
        pool_size=pool_size,
    )
    per_query = measures_from_ranks(ranked, measures)
    return {name: dict(zip(qids, values.tolist())) for name, values in per_query.items()}


def measure_spec(name: str | Measure) -> MeasureSpec:
    """The registry's entry for ``name`` (``"recall@10"`` -> recall's); ValueError if unknown."""
    return MEASURES[parse_measure(name).name]


def higher_is_better(name: str | Measure) -> bool:
    """Whether a larger value of ``name`` is better (False for the rank distances)."""
    return measure_spec(name).higher_is_better


def measure_label(name: str | Measure) -> str:
    """How ``name`` reads in the book: ``mAP``, ``Recall@10``, ``nDCG@10``, ``rank distance
    (lower is better)``; a name the registry does not know, as it is."""
    try:
        measure = parse_measure(name)
    except ValueError:
        return str(name)
    spec = MEASURES[measure.name]
    label = spec.label if measure.k is None else f"{spec.label}@{measure.k}"
    return label if spec.higher_is_better else f"{label} (lower is better)"


def measure_digits(name: str | Measure) -> int:
    """Decimal places of ``name`` in the book's tables (3 for rates, 1 for rank distance)."""
    return measure_spec(name).digits


__all__ = [
    "MEASURES",
    "Measure",
    "MeasureSpec",
    "MeanScore",
    "evaluate_run",
    "evaluate_scores",
    "higher_is_better",
    "mean_scores",
    "measure_digits",
    "measure_label",
    "measure_spec",
    "measures_from_ranks",
    "parse_measure",
]
