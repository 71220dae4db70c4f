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

A query without a relevant candidate in its pool (``R = 0``) is not scored: its value is NaN
for every measure, and means skip it (:func:`mean_scores` reports how many were skipped).
It is never scored 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hybridlib.metrics.ranking import (
    RelevantRanks,
    _ranks_from_entries,
    relevant_ranks,
    tie_break_keys,
)

# measure name -> whether the cut-off k is required ("need"), optional ("may") or absent.
_KNOWN = {
    "map": "may",
    "ndcg": "may",
    "mrr": "may",
    "recall": "need",
    "success": "need",
    "precision": "need",
}
_NAME = re.compile(r"^([a-z]+)(?:@(\d+))?$")


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
    known = ", ".join(f"{m}@k" if c == "need" else f"{m}, {m}@k" for m, c in _KNOWN.items())
    if match is None or match.group(1) not in _KNOWN:
        raise ValueError(f"unknown measure {name!r}; known measures: {known}")
    base, k = match.group(1), match.group(2)
    if k is None and _KNOWN[base] == "need":
        raise ValueError(f"measure {name!r} needs a cut-off, e.g. '{base}@10'")
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
    g = ranked.grades  # (n_queries, width)
    n_rel = ranked.n_relevant.astype(np.float64)  # (n_queries,)
    no_relevant = ranked.n_relevant == 0
    position = np.arange(1, r.shape[1] + 1, dtype=np.float64)[None, :]  # m = 1..width
    first = r[:, 0] if r.shape[1] else np.full(r.shape[0], np.inf)  # (n_queries,)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, m in parsed:
            k = np.inf if m.k is None else float(m.k)
            within = np.isfinite(r) & (r <= k)  # (n_queries, width); inf = not ranked
            if m.name == "map":
                value = np.where(within, position / r, 0.0).sum(axis=1) / n_rel
            elif m.name == "recall":
                value = within.sum(axis=1) / n_rel
            elif m.name == "precision":
                value = within.sum(axis=1) / k
            elif m.name == "success":
                value = (np.isfinite(first) & (first <= k)).astype(np.float64)
            elif m.name == "mrr":
                value = np.where(first <= k, 1.0 / first, 0.0)
            elif m.name == "ndcg":
                dcg = np.where(within, g / np.log2(r + 1.0), 0.0).sum(axis=1)
                ideal = -np.sort(-g, axis=1)  # (n_queries, width) grades descending
                ideal_within = position <= k
                idcg = np.where(ideal_within, ideal / np.log2(position + 1.0), 0.0).sum(axis=1)
                value = dcg / idcg
            else:  # pragma: no cover - parse_measure guards this
                raise AssertionError(m)
            out[key] = np.where(no_relevant, np.nan, value)
    return out


def evaluate_scores(
    scores: np.ndarray,
    relevance,
    measures: Iterable[str | Measure],
    candidate_ids: Sequence[str] | None = None,
    *,
    tie_keys: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-query measures for a full score matrix.

    scores: ``(n_queries, n_candidates)`` float; relevance: ``(n_queries, n_candidates)`` int
    grades (0 = not relevant; dense or ``scipy.sparse``). ``candidate_ids`` (or ``tie_keys``)
    set trec_eval's tie rule. Returns ``{measure name: (n_queries,) float64}``, NaN for a
    query without a relevant candidate. Means: :func:`mean_scores`.
    """
    ranked = relevant_ranks(scores, relevance, candidate_ids, tie_keys=tie_keys)
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


__all__ = [
    "Measure",
    "MeanScore",
    "evaluate_run",
    "evaluate_scores",
    "mean_scores",
    "measures_from_ranks",
    "parse_measure",
]
