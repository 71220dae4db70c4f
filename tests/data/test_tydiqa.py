"""TyDi QA GoldP (hybridlib.data.tydiqa): hand-made and real files, bad input named."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_tydiqa,
)

from .conftest import assert_names, texts_by_id


def test_tydiqa_hand_made(tmp_path: Path) -> None:
    folder = tmp_path / "tydiqa-goldp"
    folder.mkdir()

    def qa(qid: str) -> dict:
        return {"id": qid, "question": f"{qid}?", "answers": [{"text": "W", "answer_start": 0}]}

    document = {"data": [
        {"title": "A", "paragraphs": [{"context": "Wound care.", "qas": [qa("e1")]}]},
        {"title": "B", "paragraphs": [{"context": "Wheels turn.", "qas": [qa("e2")]}]},
        {"title": "A", "paragraphs": [{"context": "Wound care.", "qas": [qa("e3")]}]},
    ]}  # fmt: skip
    (folder / "english_tydiqa_dev.json").write_text(json.dumps(document))
    (folder / "swahili_tydiqa_dev.json").write_text(json.dumps({"data": [
        {"title": "S", "paragraphs": [{"context": "Wanyama.", "qas": [qa("s1")]}]}
    ]}))  # fmt: skip
    suite = load_tydiqa("dev", ["en", "sw"], root=tmp_path)
    assert [(c.id, c.text, c.article) for c in suite.candidates] == [
        ("tydiqa/dev/en/p0", "Wound care.", "A"),
        ("tydiqa/dev/en/p1", "Wheels turn.", "B"),
        ("tydiqa/dev/sw/p0", "Wanyama.", "S"),
    ]
    assert suite.qrels == {
        "tydiqa/dev/en/e1": {"tydiqa/dev/en/p0": 1},
        "tydiqa/dev/en/e2": {"tydiqa/dev/en/p1": 1},
        "tydiqa/dev/en/e3": {"tydiqa/dev/en/p0": 1},  # the repeated paragraph is one candidate
        "tydiqa/dev/sw/s1": {"tydiqa/dev/sw/p0": 1},
    }
    assert [q.parallel_key for q in suite.queries] == ["e1", "e2", "e3", "s1"]


def test_tydiqa_real(real_data_dir: Path) -> None:
    dev = load_tydiqa("dev", root=real_data_dir)
    assert dict(Counter(q.language for q in dev.queries)) == {
        "ar": 921, "bn": 113, "en": 440, "fi": 782, "id": 565, "ko": 276, "ru": 812,
        "sw": 499, "te": 669,
    }  # fmt: skip
    distinct = {}
    for lang, name in [("en", "english"), ("sw", "swahili")]:
        document = json.loads((real_data_dir / f"tydiqa-goldp/{name}_tydiqa_dev.json").read_text())
        distinct[lang] = len({p["context"] for a in document["data"] for p in a["paragraphs"]})
    counts = Counter(c.language for c in dev.candidates)
    assert (counts["en"], counts["sw"]) == (distinct["en"], distinct["sw"])
    texts = texts_by_id(dev)
    for query in dev.queries[:200]:
        (cid,) = dev.qrels[query.id]
        assert cid.split("/")[2] == query.language and cid in texts
    train = load_tydiqa("train", root=real_data_dir)
    assert dict(Counter(q.language for q in train.queries)) == {"en": 3696, "ko": 1625, "sw": 2755}


def test_tydiqa_answer_outside_its_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "tydiqa-goldp" / "english_tydiqa_dev.json"
    path.parent.mkdir()
    qa = {"id": "e1", "question": "Q?", "answers": [{"text": "W", "answer_start": 40}]}
    document = {"data": [{"title": "T", "paragraphs": [{"context": "Wound care.", "qas": [qa]}]}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataError, match=r"is outside its paragraph \(length 11\)") as caught:
        load_tydiqa("dev", ["en"], root=tmp_path)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", 40)
