"""Per-language statistics of retrieval suites, as a tidy table (the book's data table)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from hybridlib.data.types import RetrievalSuite

Tokenizer = Callable[[str], list]

COLUMNS = [
    "suite",
    "language",
    "n_queries",
    "n_candidates",
    "mean_query_tokens",
    "mean_candidate_tokens",
]


def _mean_tokens(texts: list[str], tokenize: Tokenizer) -> float:
    return float(np.mean([len(tokenize(t)) for t in texts])) if texts else float("nan")


def dataset_statistics(
    suites: RetrievalSuite | Iterable[RetrievalSuite],
    tokenize: Tokenizer | None = None,
) -> pd.DataFrame:
    """One row per (suite, language): query and candidate counts and mean lengths in tokens.

    Tokens are whitespace-separated words (``str.split``) unless ``tokenize`` is given; for
    languages written without spaces (zh, ja, th) whitespace words are meaningless, so pass
    a subword tokenizer there (e.g. ``lambda t: encoder.tokenizer.tokenize(t)``). A language
    with no queries (or candidates) has NaN as its mean. Columns: ``suite, language,
    n_queries, n_candidates, mean_query_tokens, mean_candidate_tokens``.
    """
    if isinstance(suites, RetrievalSuite):
        suites = [suites]
    tokenize = tokenize or str.split
    rows = []
    for suite in suites:
        for lang in suite.languages:
            queries = [q.text for q in suite.queries if q.language == lang]
            candidates = [c.text for c in suite.candidates if c.language == lang]
            rows.append(
                {
                    "suite": suite.name,
                    "language": lang,
                    "n_queries": len(queries),
                    "n_candidates": len(candidates),
                    "mean_query_tokens": _mean_tokens(queries, tokenize),
                    "mean_candidate_tokens": _mean_tokens(candidates, tokenize),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
