"""LAReQA evaluation settings: Mono, Cross and Multi (Roy et al., EMNLP 2020).

Given a suite and a scorer (dense embeddings or BM25), every query is ranked against a pool:

* **mono**: query language X, pool = candidates of language X (one cell per language);
* **cross**: query language X, pool = candidates of language Y != X (one cell per ordered
  pair: 110 for XQuAD-R's 11 languages, 42 for MLQA-R's 7);
* **multi**: query language X, pool = the candidates of all languages (one cell per query
  language; ``candidate_language = "all"``).

Relevance is restricted to the pool. A query with no relevant candidate in its pool is
**skipped**, not scored 0 (MLQA-R is only partly parallel: a question id exists in 2 to 4 of
its 7 languages); ``n`` is the number of queries scored in a cell. A cell where no query has
a relevant candidate is left out. In Multi, ``rank_distance`` (the paper's language bias: the
highest minus the lowest rank of a query's relevant candidates in the pooled ranking) is
computed for queries with at least two relevant candidates in the pool.

Pools are the candidates of the suite as given: an article subset (e.g. a fold)
shrinks every pool, which raises mAP and lowers rank distance relative to the full suite;
compare ``rank_distance_norm`` (normalised by its expectation under a random ranking) across
pool sizes, and compare mAP only between runs on the same articles.

Aggregates (``query_language = candidate_language = "all"``) are unweighted macro means over
the cells of a setting, as in the paper: Mono over languages, Cross over ordered pairs, Multi
over query languages (for rank distance: "averaged over queries, then over query
languages"). Their ``n`` is the number of (query, pool) evaluations in those cells.

Scores come from full ``(n_queries, n_candidates)`` matrices per cell (see
:mod:`hybridlib.evaluation.search`); ranks and measures from :mod:`hybridlib.metrics`
through :func:`hybridlib.metrics.measures.evaluate_scores`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import sparse

from hybridlib.data.types import Query, RetrievalSuite
from hybridlib.evaluation.search import score_matrix
from hybridlib.metrics.measures import evaluate_scores
from hybridlib.metrics.ranking import tie_break_keys
from hybridlib.suites import ALL, LAREQA_MEASURES, MULTI_EXTRA_MEASURES, SETTINGS

# scores per block of queries in one cell (float32: 200 MB; relevance adds as much again)
MAX_BLOCK_ELEMENTS = 50_000_000
RESULT_COLUMNS = [
    "suite",
    "setting",
    "query_language",
    "candidate_language",
    "metric",
    "value",
    "n",
]
PER_QUERY_COLUMNS = [
    "suite",
    "setting",
    "query_language",
    "candidate_language",
    "query_id",
    "cluster",
    "metric",
    "value",
]


class Scorer(Protocol):
    """Scores of some queries against some candidates, by row / column index in a suite."""

    def scores(self, query_rows: np.ndarray, candidate_cols: np.ndarray) -> np.ndarray:
        """``(len(query_rows), len(candidate_cols))`` float scores, higher is better."""
        ...


class DenseScorer:
    """Inner products of L2-normalised embeddings (the cosine)."""

    def __init__(self, query_embeddings: np.ndarray, candidate_embeddings: np.ndarray) -> None:
        self.queries = np.asarray(query_embeddings, dtype=np.float32)  # (n_queries, dim)
        self.candidates = np.asarray(candidate_embeddings, dtype=np.float32)  # (n_cands, dim)

    def scores(self, query_rows: np.ndarray, candidate_cols: np.ndarray) -> np.ndarray:
        return score_matrix(self.queries[query_rows], self.candidates[candidate_cols])


@dataclass
class SettingsResult:
    """Tidy results of one or more suites / settings (see the module docstring)."""

    results: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RESULT_COLUMNS))
    per_query: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PER_QUERY_COLUMNS))

    def matrix(self, metric: str = "map", suite: str | None = None) -> pd.DataFrame:
        """Query language x candidate language table: Mono on the diagonal, Cross off it."""
        return language_matrix(self.results, metric=metric, suite=suite)

    @staticmethod
    def concat(parts: Iterable[SettingsResult]) -> SettingsResult:
        parts = list(parts)
        if not parts:
            return SettingsResult()
        return SettingsResult(
            results=pd.concat([p.results for p in parts], ignore_index=True),
            per_query=pd.concat([p.per_query for p in parts], ignore_index=True),
        )


def language_matrix(
    results: pd.DataFrame, metric: str = "map", suite: str | None = None
) -> pd.DataFrame:
    """The language x language matrix (rows: query language, columns: candidate language)."""
    rows = results[
        results["setting"].isin(["mono", "cross"])
        & (results["metric"] == metric)
        & (results["query_language"] != ALL)
        & (results["candidate_language"] != ALL)
    ]
    if suite is not None:
        rows = rows[rows["suite"] == suite]
    if rows["suite"].nunique() > 1:
        raise ValueError(
            f"results hold {rows['suite'].nunique()} suites; pass suite= one of "
            f"{sorted(rows['suite'].unique())}"
        )
    return rows.pivot(index="query_language", columns="candidate_language", values="value")


def _own_column(query: Query, column: dict[str, int], suite: RetrievalSuite) -> int:
    """The column of the candidate that is ``query`` itself (same id and same text), or -1."""
    j = column.get(query.id, -1)
    return j if j >= 0 and suite.candidates[j].text == query.text else -1


@dataclass(frozen=True)
class RelevanceIndex:
    """A suite's relevant entries as arrays, built once and restricted per cell.

    rows, cols, grades: ``(n_entries,)`` query row, candidate column and grade (> 0) of
    every judged relevant pair whose candidate is in the suite. tie_keys: ``(n_candidates,)``
    trec_eval tie-break keys of all candidates (:func:`~hybridlib.metrics.ranking.tie_break_keys`);
    restricted to a pool they keep their order, which is all the tie rule compares.
    """

    rows: np.ndarray
    cols: np.ndarray
    grades: np.ndarray
    n_queries: int
    n_candidates: int
    tie_keys: np.ndarray
    own_column: np.ndarray  # (n_queries,) the column of the query's own text (same id), or -1

    @classmethod
    def of(cls, suite: RetrievalSuite) -> RelevanceIndex:
        column = {c.id: j for j, c in enumerate(suite.candidates)}
        rows, cols, grades = [], [], []
        for i, query in enumerate(suite.queries):
            for candidate_id, grade in suite.qrels.get(query.id, {}).items():
                j = column.get(candidate_id)
                if j is not None and grade > 0:
                    rows.append(i)
                    cols.append(j)
                    grades.append(grade)
        return cls(
            rows=np.asarray(rows, dtype=np.int64),
            cols=np.asarray(cols, dtype=np.int64),
            grades=np.asarray(grades, dtype=np.int32),
            n_queries=len(suite.queries),
            n_candidates=len(suite.candidates),
            tie_keys=tie_break_keys([c.id for c in suite.candidates]),
            own_column=np.array(
                [_own_column(q, column, suite) for q in suite.queries], dtype=np.int64
            ),  # fmt: skip
        )

    def restrict(self, query_rows: np.ndarray, candidate_cols: np.ndarray) -> sparse.csr_matrix:
        """Grades restricted to a pool: ``(len(query_rows), len(candidate_cols))`` int32 CSR
        (absent = not relevant). A query has a handful of relevant candidates in a pool of
        thousands, so a dense matrix (and the scan for its non-zeros) would cost more than
        the ranking itself."""
        query_position = np.full(self.n_queries, -1, dtype=np.int64)
        query_position[query_rows] = np.arange(len(query_rows))
        pool_position = np.full(self.n_candidates, -1, dtype=np.int64)
        pool_position[candidate_cols] = np.arange(len(candidate_cols))
        i, j = query_position[self.rows], pool_position[self.cols]  # (n_entries,)
        keep = (i >= 0) & (j >= 0)
        return sparse.csr_matrix(
            (self.grades[keep], (i[keep], j[keep])), shape=(len(query_rows), len(candidate_cols))
        )


@dataclass
class _Cell:
    """One cell's scores before any frame is built: its summary rows and, per measure, the
    scored queries' ids, clusters and values (frames are built once per evaluation: a
    language-rich suite has over a thousand cells, and a frame per cell cost more than the
    ranking)."""

    summary: list[tuple]
    labels: tuple[str, str, str, str]  # suite, setting, query language, candidate language
    metrics: list[str]
    query_ids: list[np.ndarray]
    clusters: list[np.ndarray]
    values: list[np.ndarray]


def evaluate_cell(
    suite: RetrievalSuite,
    scorer: Scorer,
    query_rows: np.ndarray,
    candidate_cols: np.ndarray,
    measures: Sequence[str],
    *,
    suite_name: str,
    setting: str,
    query_language: str,
    candidate_language: str,
    index: RelevanceIndex | None = None,
) -> SettingsResult | None:
    """Rank ``query_rows`` against the pool ``candidate_cols``; None if no query is scorable.

    ``index``: the suite's :class:`RelevanceIndex` (built here when not given).
    """
    cell = _score_cell(suite, scorer, query_rows, candidate_cols, measures, suite_name=suite_name,
                       setting=setting, query_language=query_language,
                       candidate_language=candidate_language, index=index)  # fmt: skip
    return None if cell is None else _frames([cell])


def _score_cell(
    suite: RetrievalSuite,
    scorer: Scorer,
    query_rows: np.ndarray,
    candidate_cols: np.ndarray,
    measures: Sequence[str],
    *,
    suite_name: str,
    setting: str,
    query_language: str,
    candidate_language: str,
    index: RelevanceIndex | None = None,
) -> _Cell | None:
    """:func:`evaluate_cell`'s scores, without frames."""
    index = index if index is not None else RelevanceIndex.of(suite)
    relevance = index.restrict(query_rows, candidate_cols)  # (n_queries_x, n_pool) CSR
    # queries with a relevant candidate in the pool; the others are skipped
    scorable = relevance.getnnz(axis=1) > 0  # (n_queries_x,)
    if not scorable.any():
        return None
    query_rows, relevance = query_rows[scorable], relevance[scorable]
    tie_keys = index.tie_keys[candidate_cols]  # (n_pool,)
    # a query that is also a candidate (the same text under the same id, in a multi-way
    # parallel set) is left out of its own pool: it would otherwise be its own first answer
    own = index.own_column[query_rows]  # (n_scored,) candidate column of each query, or -1
    pool_position = np.full(index.n_candidates, -1, dtype=np.int64)
    pool_position[candidate_cols] = np.arange(len(candidate_cols))
    own_in_pool = np.where(own >= 0, pool_position[np.maximum(own, 0)], -1)  # (n_scored,)
    # full score matrices, in blocks of queries so a block holds <= MAX_BLOCK_ELEMENTS scores
    block = max(1, MAX_BLOCK_ELEMENTS // len(candidate_cols))
    chunks = []
    for start in range(0, len(query_rows), block):
        rows = query_rows[start : start + block]
        scores = scorer.scores(rows, candidate_cols)  # (block, n_pool)
        excluded = None
        own_block = own_in_pool[start : start + block]  # (block,)
        if (own_block >= 0).any():
            excluded = np.zeros(scores.shape, dtype=bool)  # (block, n_pool)
            hit = np.flatnonzero(own_block >= 0)
            excluded[hit, own_block[hit]] = True
        chunks.append(
            evaluate_scores(
                scores, relevance[start : start + block], measures, tie_keys=tie_keys,
                excluded=excluded,
            )
        )  # fmt: skip
    values = {
        m: np.concatenate([np.asarray(c[m], dtype=np.float64) for c in chunks]) for m in measures
    }
    query_ids = np.array([suite.queries[r].id for r in query_rows], dtype=object)
    # the unit of a test: a question with all its language versions (its parallel key)
    clusters = np.array([suite.queries[r].parallel_key for r in query_rows], dtype=object)
    cell = _Cell([], (suite_name, setting, query_language, candidate_language), [], [], [], [])
    for metric in measures:
        per = np.asarray(values[metric], dtype=np.float64)  # (n_scored,), NaN = not defined
        defined = ~np.isnan(per)
        if not defined.any():
            continue
        cell.summary.append(
            (suite_name, setting, query_language, candidate_language, metric,
             float(per[defined].mean()), int(defined.sum()))
        )  # fmt: skip
        cell.metrics.append(metric)
        cell.query_ids.append(query_ids[defined])
        cell.clusters.append(clusters[defined])
        cell.values.append(per[defined])
    return cell


def _frames(cells: Sequence[_Cell]) -> SettingsResult:
    """The tidy frames of ``cells`` (summary rows and per-query rows, in cell order)."""
    summary = [row for cell in cells for row in cell.summary]
    counts = [len(v) for cell in cells for v in cell.values]
    labels = [(*cell.labels, metric) for cell in cells for metric in cell.metrics]
    columns: dict[str, object] = {
        name: np.repeat(np.array([label[i] for label in labels], dtype=object), counts)
        for i, name in enumerate(("suite", "setting", "query_language", "candidate_language"))
    }
    flat = [(ids, clusters, values) for cell in cells
            for ids, clusters, values in zip(cell.query_ids, cell.clusters, cell.values)]  # fmt: skip
    columns["query_id"] = (
        np.concatenate([f[0] for f in flat]) if flat else np.array([], dtype=object)
    )
    columns["cluster"] = (
        np.concatenate([f[1] for f in flat]) if flat else np.array([], dtype=object)
    )
    columns["metric"] = np.repeat(np.array([label[4] for label in labels], dtype=object), counts)
    columns["value"] = (
        np.concatenate([f[2] for f in flat]) if flat else np.array([], dtype=np.float64)
    )
    return SettingsResult(
        results=pd.DataFrame(summary, columns=RESULT_COLUMNS),
        per_query=pd.DataFrame(columns)[PER_QUERY_COLUMNS],
    )


def macro_average(results: pd.DataFrame) -> pd.DataFrame:
    """One ``all``/``all`` row per (suite, setting, metric): the unweighted mean over cells."""
    cells = results[results["query_language"] != ALL]
    rows = cells.groupby(["suite", "setting", "metric"], sort=False).agg(
        value=("value", "mean"), n=("n", "sum")
    )
    rows = rows.reset_index().assign(query_language=ALL, candidate_language=ALL)
    return rows[RESULT_COLUMNS]


def evaluate_settings(
    suite: RetrievalSuite,
    scorer: Scorer,
    *,
    settings: Sequence[str] = SETTINGS,
    measures: Sequence[str] = LAREQA_MEASURES,
    multi_measures: Sequence[str] = MULTI_EXTRA_MEASURES,
    languages: Sequence[str] | None = None,
    suite_name: str | None = None,
    aggregate: bool = True,
    cross_pivot: str | None = None,
) -> SettingsResult:
    """Evaluate ``suite`` in the LAReQA settings; rows of ``scorer`` follow the suite's order.

    ``languages`` restricts query and pool languages (default: every language of the suite).
    ``multi_measures`` are added in the Multi setting only (rank distance).
    ``aggregate`` adds the macro-average rows (:func:`macro_average`). ``cross_pivot``: the
    Cross cells are ``x -> pivot`` only (a many-language set against English), not every
    ordered pair.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"settings must be among {SETTINGS}, but got {unknown}")
    suite_name = suite_name or suite.name
    query_language = np.array([q.language for q in suite.queries])
    candidate_language = np.array([c.language for c in suite.candidates])
    langs = sorted(languages) if languages is not None else suite.languages
    rows_of = {x: np.flatnonzero(query_language == x) for x in langs}
    cols_of = {y: np.flatnonzero(candidate_language == y) for y in langs}
    all_cols = np.flatnonzero(np.isin(candidate_language, langs))

    cells: list[tuple[str, str, str, np.ndarray, Sequence[str]]] = []
    for x in langs:
        if "mono" in settings:
            cells.append(("mono", x, x, cols_of[x], measures))
        if "cross" in settings:
            cells += [("cross", x, y, cols_of[y], measures) for y in langs
                      if y != x and cross_pivot in (None, y)]  # fmt: skip
        if "multi" in settings:
            cells.append(("multi", x, ALL, all_cols, (*measures, *multi_measures)))

    index = RelevanceIndex.of(suite)
    parts = []
    for setting, x, y, cols, cell_measures in cells:
        if len(rows_of[x]) == 0 or len(cols) == 0:
            continue
        part = _score_cell(
            suite, scorer, rows_of[x], cols, cell_measures,
            suite_name=suite_name, setting=setting, query_language=x, candidate_language=y,
            index=index,
        )  # fmt: skip
        if part is not None:
            parts.append(part)
    combined = _frames(parts) if parts else SettingsResult()
    if aggregate and not combined.results.empty:
        combined.results = pd.concat(
            [combined.results, macro_average(combined.results)], ignore_index=True
        )
    return combined
