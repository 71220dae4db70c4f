"""BM25 on XLM-R pieces: the obvious match wins in every script; scores equal the formula."""

from __future__ import annotations

import math
from collections import Counter

import bm25s
import numpy as np
import pytest

from hybridlib.evaluation import BM25Scorer, bm25_scores, evaluate_settings, xlmr_pieces

DOCS = [
    "The cat sleeps on the red sofa.",
    "Stock markets fell sharply on Monday.",
    "Der Hund spielt im Garten mit dem Ball.",
    "北京是中华人民共和国的首都。",
    "القاهرة هي عاصمة مصر.",
    "Москва — столица России.",
]
QUERIES = [
    "where does the cat sleep",
    "Hund Garten Ball",
    "中国的首都北京",
    "عاصمة مصر",
    "столица России",
]
EXPECTED_FIRST = [0, 2, 3, 4, 5]


def lucene_bm25(query: list[str], docs: list[list[str]], k1: float, b: float) -> np.ndarray:
    """The formula of the module docstring (Lucene's: no ``k1 + 1`` factor), term by term."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    out = np.zeros(n)
    for j, doc in enumerate(docs):
        tf = Counter(doc)
        for term in query:
            if tf[term] == 0:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            out[j] += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(doc) / avgdl))
    return out


def test_pieces_are_lowercased_and_punctuation_free():
    (pieces,) = xlmr_pieces(["Der Hund, der Ball!"])
    assert pieces == ["▁der", "▁hund", "▁der", "▁ball"]
    assert xlmr_pieces(["..."]) == [[]]


def test_obvious_match_ranks_first_in_every_script():
    scores = bm25_scores(xlmr_pieces(QUERIES), xlmr_pieces(DOCS))
    assert scores.shape == (len(QUERIES), len(DOCS))
    assert scores.argmax(axis=1).tolist() == EXPECTED_FIRST


@pytest.mark.parametrize(("k1", "b"), [(0.9, 0.4), (1.5, 0.75), (1.2, 0.0)])
def test_scores_equal_the_formula(k1, b):
    docs, queries = xlmr_pieces(DOCS), xlmr_pieces(QUERIES + ["the the cat"])
    scores = bm25_scores(queries, docs, k1=k1, b=b)
    expected = np.array([lucene_bm25(q, docs, k1, b) for q in queries])
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_agrees_with_bm25s_retrieve():
    docs, queries = xlmr_pieces(DOCS), xlmr_pieces(QUERIES)
    retriever = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    retriever.index(docs, show_progress=False)
    indices, top = retriever.retrieve(queries, k=3, show_progress=False)
    ours = bm25_scores(queries, docs, k1=0.9, b=0.4)
    np.testing.assert_allclose(np.take_along_axis(ours, indices, axis=1), top, rtol=1e-6)
    assert indices[:, 0].tolist() == EXPECTED_FIRST


def test_query_without_known_terms_scores_zero():
    scores = bm25_scores([["▁zebra"], []], xlmr_pieces(DOCS))
    assert not scores.any()
    with pytest.raises(ValueError, match="at least one document"):
        bm25_scores([["▁cat"]], [])


def test_mono_setting_indexes_each_language(two_language_suite):
    scorer = BM25Scorer(two_language_suite)
    result = evaluate_settings(two_language_suite, scorer, settings=("mono",))
    maps = result.results.set_index(["query_language", "metric"])["value"]
    # q1-en "where is the cat" -> "the cat is on the mat"; q2-en "what colour is the sky" ->
    # "the sky is blue"; q3-de "wie alt ist der hund" -> "der hund ist drei jahre alt"
    assert maps[("en", "map")] == pytest.approx(1.0)
    assert maps[("de", "map")] == pytest.approx(1.0)
    # the de pool is indexed alone: its scores equal an index over the de texts only
    de_docs = xlmr_pieces([c.text for c in two_language_suite.candidates[3:]])
    expected = bm25_scores(xlmr_pieces(["wie alt ist der hund"]), de_docs)
    np.testing.assert_allclose(scorer.scores(np.array([2]), np.array([3, 4, 5])), expected)
    with pytest.raises(ValueError, match="k1 >= 0 and 0 <= b <= 1"):
        BM25Scorer(two_language_suite, b=1.5)


def test_bm25_reads_every_piece_whatever_an_encoder_did_before_in_the_process() -> None:
    """An encoder's call left its length's truncation set on the shared XLM-R tokenizer, and a
    BM25 run later in the same process read only each text's first pieces (SciFact nDCG@10
    0.67 -> 0.005 after the tiny encoder had run)."""
    from hybridlib.evaluation.bm25 import xlmr_pieces
    from hybridlib.models import load_encoder
    from hybridlib.models.tokenizer import xlmr_tokenizer

    text = " ".join(f"word{i}" for i in range(60))
    expected = [p for p in xlmr_tokenizer()(text.lower(), add_special_tokens=False).tokens()
                if any(ch.isalnum() for ch in p)]  # fmt: skip
    load_encoder("tiny", max_length=8).tokenize([text], "query")
    assert xlmr_pieces([text]) == [expected] and len(expected) > 60
