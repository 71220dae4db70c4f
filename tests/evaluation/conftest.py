"""Small hand-made suites and scorers for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.data.types import Candidate, Query, RetrievalSuite


class MatrixScorer:
    """A scorer with fixed scores: ``scores[query_row, candidate_col]`` (for hand computation)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.matrix = np.asarray(scores, dtype=np.float64)
        self.calls = 0

    def scores(self, query_rows: np.ndarray, candidate_cols: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.matrix[np.ix_(query_rows, candidate_cols)]


@pytest.fixture
def two_language_suite() -> RetrievalSuite:
    """en/de, partly parallel: q1 has an answer in both languages, q2 only in en, q3 only in de.

    Candidate order: e1 e2 e3 d1 d3 d4. qrels: q1-en -> {e1, d1}; q2-en -> {e2}; q3-de -> {d3}.
    """
    queries = [
        Query("q1-en", "en", "where is the cat", parallel_key="1", article="A"),
        Query("q2-en", "en", "what colour is the sky", parallel_key="2", article="B"),
        Query("q3-de", "de", "wie alt ist der hund", parallel_key="3", article="C"),
    ]
    candidates = [
        Candidate("e1", "en", "the cat is on the mat", article="A"),
        Candidate("e2", "en", "the sky is blue", article="B"),
        Candidate("e3", "en", "nothing here", article="B"),
        Candidate("d1", "de", "die katze ist auf der matte", article="A"),
        Candidate("d3", "de", "der hund ist drei jahre alt", article="C"),
        Candidate("d4", "de", "nichts hier", article="C"),
    ]
    qrels = {"q1-en": {"e1": 1, "d1": 1}, "q2-en": {"e2": 1}, "q3-de": {"d3": 1}}
    return RetrievalSuite("toy", queries, candidates, qrels)


@pytest.fixture
def two_language_scores() -> np.ndarray:
    """(3 queries, 6 candidates), all scores of a row distinct."""
    return np.array(
        [
            #  e1    e2    e3    d1    d3    d4
            [0.90, 0.50, 0.70, 0.60, 0.80, 0.10],  # q1-en
            [0.40, 0.30, 0.20, 0.95, 0.10, 0.05],  # q2-en
            [0.20, 0.90, 0.10, 0.70, 0.60, 0.30],  # q3-de
        ]
    )
