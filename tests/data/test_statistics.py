"""dataset_statistics: hand-computed values, a custom tokenizer, and the real table."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from hybridlib.data import dataset_statistics, load_lareqa
from hybridlib.data.statistics import COLUMNS
from hybridlib.data.types import Candidate, Query, RetrievalSuite


def _suite() -> RetrievalSuite:
    queries = [
        Query("q1", "en", "how are you", "k1"),
        Query("q2", "en", "why", "k2"),
        Query("q3", "zh", "你好吗", "k1"),
    ]
    candidates = [
        Candidate("c1", "en", "fine thanks"),
        Candidate("c2", "zh", "很好 谢谢"),
        Candidate("c3", "zh", "好"),
        Candidate("c4", "de", "gut danke sehr"),
    ]
    return RetrievalSuite("toy", queries, candidates, {"q1": {"c2": 1}})


def test_hand_computed_statistics() -> None:
    table = dataset_statistics(_suite())
    assert list(table.columns) == COLUMNS
    expected = pd.DataFrame(
        [
            ("toy", "de", 0, 1, math.nan, 3.0),
            ("toy", "en", 2, 1, 2.0, 2.0),  # (3 + 1) / 2 words; 2 words
            ("toy", "zh", 1, 2, 1.0, 1.5),  # whitespace words: (2 + 1) / 2
        ],
        columns=COLUMNS,
    )
    pd.testing.assert_frame_equal(table, expected)


def test_custom_tokenizer_and_several_suites() -> None:
    characters = dataset_statistics(
        [_suite(), _suite()], tokenize=lambda text: list(text.replace(" ", ""))
    )
    assert len(characters) == 6
    zh = characters[characters.language == "zh"].iloc[0]
    assert zh.mean_query_tokens == 3.0 and zh.mean_candidate_tokens == 2.5  # (4 + 1) / 2


def test_real_table(real_data_dir: Path) -> None:
    table = dataset_statistics(load_lareqa("xquad-r", root=real_data_dir))
    assert list(table.language) == [
        "ar",
        "de",
        "el",
        "en",
        "es",
        "hi",
        "ru",
        "th",
        "tr",
        "vi",
        "zh",
    ]
    assert set(table.n_queries) == {1190} and table.n_candidates.sum() == 13014
    en = table[table.language == "en"].iloc[0]
    assert 5 < en.mean_query_tokens < 20 and en.mean_query_tokens < en.mean_candidate_tokens
