"""Helpers for the data tests: small hand-made files in the real formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridlib.data import DataError
from hybridlib.data.types import RetrievalSuite


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the internet by accident; download tests pass online=True."""
    monkeypatch.setenv("HYBRIDLIB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _synthetic_roots_are_not_the_pinned_files(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hand-made files carry the pinned names with other content: tests on them skip the
    loaders' SHA-256 check; tests on the real data (``real_data_dir``) keep it."""
    if "real_data_dir" not in request.fixturenames:
        monkeypatch.setenv("HYBRIDLIB_VERIFY_DATA", "0")


def _paragraph(sentences: list[str], qas: list[tuple[str, str, str, int]]) -> dict:
    """A LAReQA paragraph: sentences joined by one space, breaks computed from them.

    ``qas`` holds (id, question, answer text, answer_start).
    """
    breaks, position = [], 0
    for sentence in sentences:
        breaks.append([position, position + len(sentence)])
        position += len(sentence) + 1
    context = " ".join(sentences)
    for _, _, text, start in qas:  # the hand-made answers are real spans of the context
        assert context[start : start + len(text)] == text, (text, start)
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [
            {"id": qid, "question": q, "answers": [{"text": t, "answer_start": s}]}
            for qid, q, t, s in qas
        ],
    }


def _write_lareqa(path: Path, articles: list[tuple[str, list[dict]]]) -> Path:
    """Write a LAReQA (SQuAD v1.1 + sentences) file of ``(title, paragraphs)`` articles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": "1.1",
        "data": [{"title": title, "paragraphs": paragraphs} for title, paragraphs in articles],
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def make_paragraph():
    """The function :func:`_paragraph`."""
    return _paragraph


@pytest.fixture
def write_lareqa():
    """The function :func:`_write_lareqa`."""
    return _write_lareqa


def assert_names(error: DataError, file: Path | str, field: str, value: Any) -> None:
    """The error carries and prints the file, the field and the value."""
    message = str(error)
    assert error.file == str(file) and message.startswith(f"{file}: ")
    assert error.field == field and f" {field} = " in message
    assert error.value == value
    if value is not None:
        assert repr(value)[:40] in message


def texts_by_id(suite: RetrievalSuite) -> dict[str, str]:
    return {c.id: c.text for c in suite.candidates}
