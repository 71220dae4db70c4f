"""BM25 baseline through ``bm25s``, with XLM-R sentence pieces as terms for every language.

Analysis: each text is lower-cased (``lowercase=True``), split into the XLM-R tokenizer's
sentence pieces (the tokenizer of the dense encoders, so no language needs its own
analyser: Chinese, Thai and Arabic get the same treatment as English), and pieces without
any letter or digit (punctuation, the bare word-boundary piece ``"▁"``) are dropped. A
word-initial piece (``"▁hund"``) and the same letters inside a word (``"hund"``) are different
terms, as they are different pieces.

Scoring: Lucene's BM25 (``bm25s`` ``method="lucene"``),

    score(q, d) = sum over query terms t of  idf(t) * tf(t,d)
                  / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl)),
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),

where a term repeated in the query counts once per occurrence. (Lucene >= 8 drops the
constant factor ``k1 + 1`` of Robertson's numerator; rankings are unchanged.)
The index (N, df, avgdl) is
built over the pool being searched: in the Mono setting, one language's candidates; on BEIR,
the corpus. Defaults ``k1 = 0.9, b = 0.4`` are Pyserini's (the BM25 the paper compares with on
MIRACL).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from hybridlib.data.types import RetrievalSuite

DEFAULT_K1 = 0.9
DEFAULT_B = 0.4
WORD_BOUNDARY = "\u2581"  # "▁", SentencePiece's word-start marker


@functools.lru_cache(maxsize=1)
def _pieces_tokenizer() -> Any:
    """BM25's own XLM-R tokenizer (``tokenizers.Tokenizer``): never the encoders' shared one,
    whose truncation to an encoder's length stays set after the encoder's last call (a BM25
    after an encoder in one process then read only each text's first pieces)."""
    from tokenizers import Tokenizer

    from hybridlib.models.tokenizer import xlmr_tokenizer_file

    tokenizer = Tokenizer.from_file(str(xlmr_tokenizer_file()))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def xlmr_pieces(texts: Sequence[str], *, lowercase: bool = True) -> list[list[str]]:
    """Terms of each text: XLM-R sentence pieces, lower-cased, punctuation-only pieces dropped."""
    backend = _pieces_tokenizer()
    prepared = [text.lower() if lowercase else text for text in texts]
    encodings = backend.encode_batch(prepared, add_special_tokens=False)
    return [
        [piece for piece in encoding.tokens if any(ch.isalnum() for ch in piece)]
        for encoding in encodings
    ]


def bm25_scores(
    query_terms: Sequence[Sequence[str]],
    document_terms: Sequence[Sequence[str]],
    *,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
) -> np.ndarray:
    """Full BM25 score matrix ``(n_queries, n_documents)`` float32 over an index of the documents.

    A query none of whose terms occurs in the documents scores 0 everywhere.
    """
    import bm25s

    if len(document_terms) == 0:
        raise ValueError("bm25_scores needs at least one document, but got 0")
    retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
    retriever.index([list(terms) for terms in document_terms], show_progress=False)
    scores = np.zeros((len(query_terms), len(document_terms)), dtype=np.float32)
    for i, terms in enumerate(query_terms):
        ids = retriever.get_tokens_ids(list(terms))  # terms absent from the index are dropped
        if ids:
            scores[i] = retriever.get_scores_from_ids(ids)  # (n_documents,)
    return scores


class BM25Scorer:
    """A :class:`hybridlib.evaluation.lareqa.Scorer` for a suite: BM25 over each pool.

    Texts are analysed once; each call indexes the pool it is given, so in the Mono setting
    each language's candidates form their own index (N, df and avgdl of that language).
    """

    def __init__(
        self,
        suite: RetrievalSuite,
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        lowercase: bool = True,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, but got k1={k1}, b={b}")
        self.k1, self.b, self.lowercase = k1, b, lowercase
        self.query_terms = xlmr_pieces([q.text for q in suite.queries], lowercase=lowercase)
        self.candidate_terms = xlmr_pieces([c.text for c in suite.candidates], lowercase=lowercase)

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "k1": self.k1,
            "b": self.b,
            "lowercase": self.lowercase,
            "method": "lucene",
            "terms": "xlmr-pieces",
        }

    def scores(self, query_rows: np.ndarray, candidate_cols: np.ndarray) -> np.ndarray:
        """``(len(query_rows), len(candidate_cols))`` BM25 scores against that pool."""
        return bm25_scores(
            [self.query_terms[r] for r in query_rows],
            [self.candidate_terms[c] for c in candidate_cols],
            k1=self.k1,
            b=self.b,
        )
