"""The SQuAD v1.1 walk shared by the LAReQA and TyDi QA loaders: order, paths, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.data import DataError
from hybridlib.data.squad import answer_start, squad_paragraphs, squad_questions

DOCUMENT = {
    "data": [
        {"title": "A", "paragraphs": [{"context": "one two", "qas": []}]},
        {
            "title": "B",
            "paragraphs": [
                {
                    "context": "three four",
                    "qas": [
                        {"id": "q1", "question": "Which?", "answers": [{"answer_start": 6}]},
                        {"id": "q2", "question": "What?", "answers": [{"answer_start": 10}]},
                    ],
                }
            ],
        },
    ]
}
PATH = Path("doc.json")


def test_paragraphs_and_questions_in_file_order_with_their_paths() -> None:
    paragraphs = list(squad_paragraphs(PATH, DOCUMENT))
    assert [(p.article, p.index, p.title, p.context, p.where) for p in paragraphs] == [
        (0, 0, "A", "one two", "data[0].paragraphs[0]"),
        (1, 0, "B", "three four", "data[1].paragraphs[0]"),
    ]
    questions = list(squad_questions(PATH, paragraphs[1]))
    assert [(q.id, q.question, q.where) for q in questions] == [
        ("q1", "Which?", "data[1].paragraphs[0].qas[0]"),
        ("q2", "What?", "data[1].paragraphs[0].qas[1]"),
    ]
    assert answer_start(PATH, questions[0], 0, paragraphs[1].context) == 6


def test_an_answer_outside_its_paragraph_and_a_missing_field_are_named() -> None:
    paragraph = list(squad_paragraphs(PATH, DOCUMENT))[1]
    outside = list(squad_questions(PATH, paragraph))[1]  # starts at 10 of a 10-character context
    with pytest.raises(
        DataError,
        match=r"qas\[1\]\.answers\[0\]\.answer_start.*outside its paragraph \(length 10\)",
    ):
        answer_start(PATH, outside, 0, paragraph.context)
    broken = {"data": [{"title": "A", "paragraphs": [{"qas": []}]}]}
    with pytest.raises(DataError, match=r"doc\.json.*data\[0\]\.paragraphs\[0\]\.context.*missing"):
        list(squad_paragraphs(PATH, broken))
