"""The SQuAD v1.1 layout that LAReQA (XQuAD-R, MLQA-R) and TyDi QA GoldP share, walked once.

A document is ``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}``; every field is checked on the way
(:func:`hybridlib.data._fields.get`), and an error names the file and the JSON path of the
field (``data[3].paragraphs[0].qas[2].id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridlib.data._fields import check_text, get
from hybridlib.data.errors import DataError


@dataclass(frozen=True)
class SquadParagraph:
    """Paragraph ``index`` of article ``article`` (both counted from 0), with its article's
    ``title``, its ``context``, its JSON path ``where`` and its raw ``fields`` (for the fields a
    format adds, e.g. LAReQA's ``sentences``)."""

    article: int
    index: int
    title: str
    context: str
    where: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class SquadQuestion:
    """A question of a paragraph: its ``id``, its text ``question``, its JSON path ``where`` and
    its raw ``answers`` (a list)."""

    id: str
    question: str
    where: str
    answers: list[Any]


def squad_paragraphs(path: Path, document: Any) -> Iterator[SquadParagraph]:
    """Every paragraph of ``document`` (parsed from ``path``), in file order."""
    for a, article in enumerate(get(path, document, "data", "", list)):
        where_a = f"data[{a}]"
        title = get(path, article, "title", where_a, str)
        for p, paragraph in enumerate(get(path, article, "paragraphs", where_a, list)):
            where = f"{where_a}.paragraphs[{p}]"
            context = get(path, paragraph, "context", where, str)
            yield SquadParagraph(a, p, title, context, where, paragraph)


def squad_questions(path: Path, paragraph: SquadParagraph) -> Iterator[SquadQuestion]:
    """Every question of ``paragraph``, in file order."""
    for k, qa in enumerate(get(path, paragraph.fields, "qas", paragraph.where, list)):
        where_q = f"{paragraph.where}.qas[{k}]"
        qid = get(path, qa, "id", where_q, str)
        question = check_text(path, f"{where_q}.question", get(path, qa, "question", where_q, str))
        answers = get(path, qa, "answers", where_q, list)
        yield SquadQuestion(qid, question, where_q, answers)


def answer_start(path: Path, question: SquadQuestion, n: int, context: str) -> int:
    """The ``answer_start`` of answer ``n`` of ``question``: an integer inside ``context``, or
    :class:`DataError` naming the field."""
    where = f"{question.where}.answers[{n}]"
    start = get(path, question.answers[n], "answer_start", where, int)
    if not 0 <= start < len(context):
        raise DataError(
            path,
            f"{where}.answer_start",
            start,
            f"is outside its paragraph (length {len(context)})",
        )
    return start
