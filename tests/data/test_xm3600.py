"""XM3600 captions (hybridlib.data.xm3600): a hand-made file, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_xm3600,
)

from .conftest import assert_names


def test_xm3600_hand_made(tmp_path: Path) -> None:
    path = tmp_path / "captions.jsonl"
    lines = [
        {"image/key": "img1",
         "en": {"caption": ["A red car.", "A car on a road."], "caption/x": ["a"]},
         "de": {"caption": ["Ein rotes Auto."]},
         "iw": {"caption": ["מכונית אדומה."]}},
        {"image/key": "img2", "en": {"caption": ["A cat."]}, "de": {"caption": ["Eine Katze."]}},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    suite = load_xm3600(path)
    assert suite.languages == ["de", "en", "he"]
    assert [q.id for q in suite.queries] == [
        "xm3600/en/img1/0", "xm3600/en/img1/1", "xm3600/de/img1", "xm3600/he/img1",
        "xm3600/en/img2", "xm3600/de/img2",
    ]  # fmt: skip
    assert suite.qrels == {
        "xm3600/en/img1/0": {"xm3600/de/img1": 1, "xm3600/he/img1": 1},
        "xm3600/en/img1/1": {"xm3600/de/img1": 1, "xm3600/he/img1": 1},
        "xm3600/de/img1": {"xm3600/en/img1/0": 1, "xm3600/en/img1/1": 1, "xm3600/he/img1": 1},
        "xm3600/he/img1": {"xm3600/en/img1/0": 1, "xm3600/en/img1/1": 1, "xm3600/de/img1": 1},
        "xm3600/en/img2": {"xm3600/de/img2": 1},
        "xm3600/de/img2": {"xm3600/en/img2": 1},
    }
    assert {q.parallel_key for q in suite.queries} == {"xm3600/img1", "xm3600/img2"}
    two = load_xm3600(path, languages=["de", "en"])
    assert two.languages == ["de", "en"] and len(two.queries) == 5
    assert two.qrels["xm3600/de/img1"] == {"xm3600/en/img1/0": 1, "xm3600/en/img1/1": 1}


def test_unknown_language_code_in_an_xm3600_file(tmp_path: Path) -> None:
    path = tmp_path / "captions.jsonl"
    lines = [
        {"image/key": "a", "en": {"caption": ["A dog."]}, "de": {"caption": ["Ein Hund."]}},
        {"image/key": "b", "en": {"caption": ["A cat."]}, "qq": {"caption": ["Katze."]}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="is not a known language code") as caught:
        load_xm3600(path)
    assert_names(caught.value, path, "line 2 key", "qq")
