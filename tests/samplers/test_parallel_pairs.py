"""ParallelPairs: addressing, grouping, collation, validation."""

from __future__ import annotations

import numpy as np
import pytest

from hybridlib.data.types import TrainingPair
from hybridlib.samplers import ParallelPairs, passage_content_key


@pytest.fixture
def pairs(build_pairs) -> ParallelPairs:
    # en: k0 k1 k2; de: k0 k2 (k1 absent); th: k1
    return ParallelPairs(
        build_pairs(3, ["en", "de"], absent={(1, "de")})
        + build_pairs(2, ["th"], absent={(0, "th")})
    )


def test_groups_by_language_and_key(pairs: ParallelPairs) -> None:
    assert len(pairs) == 6
    assert pairs.languages == ("de", "en", "th")
    assert pairs.parallel_keys == ("k0", "k1", "k2")
    assert pairs.language_sizes == {"de": 2, "en": 3, "th": 1}
    by_key = {k: v.tolist() for k, v in pairs.indices_by_key().items()}
    assert by_key == {"k0": [0, 3], "k1": [1, 5], "k2": [2, 4]}
    assert [pairs.languages[c] for c in pairs.language_codes] == ["en"] * 3 + ["de"] * 2 + ["th"]
    assert [pairs.parallel_keys[c] for c in pairs.key_codes] == ["k0", "k1", "k2", "k0", "k2", "k1"]


def test_item_combines_query_of_one_pair_with_passage_of_another(pairs: ParallelPairs) -> None:
    assert pairs[(5, 1)] == {
        "query": "q|k1|th|0",
        "passage": "p|k1|en|0",
        "query_language": "th",
        "passage_language": "en",
        "parallel_key": "k1",
    }
    assert pairs[3] == pairs[(3, 3)]
    assert pairs[(np.int64(0), np.int64(3))]["passage"] == "p|k0|de|0"


def test_collate_makes_parallel_lists(pairs: ParallelPairs) -> None:
    batch = ParallelPairs.collate([pairs[(0, 3)], pairs[(4, 4)]])
    assert batch == {
        "queries": ["q|k0|en|0", "q|k2|de|0"],
        "passages": ["p|k0|de|0", "p|k2|de|0"],
        "parallel_keys": ["k0", "k2"],
        "query_languages": ["en", "de"],
        "passage_languages": ["de", "de"],
        "passage_keys": [passage_content_key("p|k0|de|0"), passage_content_key("p|k2|de|0")],
    }


def test_passage_keys_are_equal_exactly_for_equal_texts() -> None:
    pairs = ParallelPairs(
        [
            TrainingPair("Who?", "Ada wrote it.", "en", "k0", "a"),
            TrainingPair("When?", "Ada wrote it.", "en", "k1", "a"),  # one answer, two questions
            TrainingPair("Where?", "Ada wrote it. ", "en", "k2", "a"),  # not the same text
            TrainingPair("Wer?", "Ada schrieb es.", "de", "k0", "a"),
        ]
    )
    keys = ParallelPairs.collate([pairs[i] for i in range(4)])["passage_keys"]
    assert keys[0] == keys[1]
    assert len({keys[0], keys[2], keys[3]}) == 3
    # stable across processes and runs (not Python's salted hash): blake2b, 16 bytes
    assert passage_content_key("p|k0|de|0") == "71bd98c9daf482fbd2be90a244e3b000"
    assert passage_content_key("") == "cae66941d9efbd404e4d88758ea67670"


def test_item_of_two_parallel_keys_is_an_error(pairs: ParallelPairs) -> None:
    with pytest.raises(ValueError, match=r"query pair 0 has 'k0', passage pair 1 has 'k1'"):
        pairs[(0, 1)]


def test_bad_indices(pairs: ParallelPairs) -> None:
    with pytest.raises(IndexError, match="passage index 6 is out of range for 6 training pairs"):
        pairs[(0, 6)]
    with pytest.raises(IndexError, match="query index -1 is out of range"):
        pairs[(-1, 0)]
    with pytest.raises(TypeError, match=r"must be \(query_idx, passage_idx\)"):
        pairs[(0, 1, 2)]
    with pytest.raises(TypeError, match="query index must be an int, but got '0'"):
        pairs[("0", 0)]


def test_empty_data_set_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one TrainingPair, but got 0"):
        ParallelPairs([])


def test_pair_without_language_or_key_is_an_error() -> None:
    good = TrainingPair("q", "p", "en", "k0", "a")
    with pytest.raises(ValueError, match="training pair 1: field 'language' must be a non-empty"):
        ParallelPairs([good, TrainingPair("q", "p", "", "k0", "a")])
    with pytest.raises(ValueError, match=r"training pair 0: field 'parallel_key'.*None"):
        ParallelPairs([TrainingPair("q", "p", "en", None, "a")])  # type: ignore[arg-type]
