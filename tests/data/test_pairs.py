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


GOOD = {"query": "q?", "passage": "p.", "language": "en", "parallel_key": "k", "article": "a"}


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        (  # issue 29: a key twice kept the last
            '{"query": "q?", "query": "other?", "passage": "p.", "language": "en", '
            '"parallel_key": "k", "article": "a"}',
            "line 2, key 'query' = 'other?'",
            "is given twice",
        ),
        (  # issue 29: trained the whole run, then a TypeError
            json.dumps({**GOOD, "article": None}),
            "line 2, field 'article' = None",
            "is not a string",
        ),
        (json.dumps({**GOOD, "parallel_key": 7}), "line 2, field 'parallel_key' = 7", "is not"),
        (json.dumps({**GOOD, "context": 3}), "line 2, field 'context' = 3", "is not a string"),
        (json.dumps({**GOOD, "query": " \t"}), "line 2, field 'query' = ' \\t'", "is empty"),
        (
            json.dumps({**GOOD, "passage": "\u200b\ufeff "}),
            "line 2, field 'passage' = '\\u200b\\ufeff '",
            "is empty (only whitespace or zero-width characters)",
        ),
    ],
)
def test_every_field_of_every_line_is_checked_when_reading(
    tmp_path: Path, line: str, field: str, problem: str
) -> None:
    path = write(tmp_path / "pairs.jsonl", [json.dumps(GOOD), line])
    with pytest.raises(DataError) as caught:
        read_pairs_file(path)
    assert str(caught.value).startswith(f"{path}: {field} {problem}")


def test_bytes_that_are_not_utf8_are_named_with_line_and_byte(tmp_path: Path) -> None:
    first = json.dumps(GOOD).encode() + b"\n"
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(first + b'{"query": "caf\xe9"}\n')
    with pytest.raises(DataError) as caught:
        read_pairs_file(path)
    offset = len(first) + len(b'{"query": "caf')
    assert str(caught.value) == f"{path}: line 2, byte {offset} = b'\\xe9\"}}\\n' is not UTF-8"


def test_a_file_without_pairs_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.jsonl", ["", "  "])
    with pytest.raises(DataError, match=r"pairs.jsonl: pairs = 0 were read: the file holds no"):
        read_pairs_file(path)
