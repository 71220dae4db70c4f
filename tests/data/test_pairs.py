"""Training-pair files (hybridlib.data.pairs): read back as written, bad lines named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hybridlib.data import DataError, pairs_sha256, read_pairs_file
from hybridlib.data.types import TrainingPair

PAIRS = [
    TrainingPair("wo?", "dort.", "de", "k1", "a1"),
    TrainingPair("where?", "there.", "en", "k1", "a1", context="ctx"),
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_file_reads_back_the_pairs_it_was_written_from(tmp_path: Path) -> None:
    lines = [json.dumps(dataclasses.asdict(p), ensure_ascii=False) for p in PAIRS]
    path = write(tmp_path / "pairs.jsonl", [lines[0], "", lines[1]])  # blank lines are skipped
    assert read_pairs_file(path) == PAIRS


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1 = '{not json' is not valid JSON"),
        ('["q", "p"]', "line 1 = ['q', 'p'] must be an object with the fields"),
        (
            '{"query": "q", "passage": "p", "lang": "en"}',
            "has unknown fields ['lang'] / lacks fields ['language', 'parallel_key', 'article']",
        ),
    ],
)
def test_a_bad_line_is_named_with_file_line_and_value(
    tmp_path: Path, line: str, message: str
) -> None:
    path = write(tmp_path / "pairs.jsonl", [line])
    with pytest.raises(DataError) as caught:
        read_pairs_file(path)
    assert str(caught.value).startswith(f"{path}: line 1 = ")
    assert message in str(caught.value)


def test_the_hash_follows_content_and_order() -> None:
    assert pairs_sha256(PAIRS) == pairs_sha256(list(PAIRS))
    assert pairs_sha256(PAIRS) != pairs_sha256(PAIRS[::-1])
    changed = [PAIRS[0], dataclasses.replace(PAIRS[1], passage="there!")]
    assert pairs_sha256(PAIRS) != pairs_sha256(changed)
