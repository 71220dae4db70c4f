"""Every kind of bad input gives one DataError naming the file, the field and the value."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from hybridlib.data import (
    DataError,
    load_beir,
    load_lareqa,
    load_multi30k,
    load_tatoeba,
    load_tydiqa,
    load_xm3600,
)


def assert_names(error: DataError, file: Path | str, field: str, value: Any) -> None:
    """The error carries and prints the file, the field and the value."""
    message = str(error)
    assert error.file == str(file) and message.startswith(f"{file}: ")
    assert error.field == field and f" {field} = " in message
    assert error.value == value
    if value is not None:
        assert repr(value)[:40] in message


@pytest.fixture
def xquad_en(tmp_path: Path, make_paragraph, write_lareqa):
    """Write xquad-r/en.json after ``edit(document)``; return (root, path, document)."""

    def write(edit=lambda document: None) -> tuple[Path, Path]:
        document = {
            "data": [
                {
                    "title": "Letters",
                    "paragraphs": [
                        make_paragraph(
                            ["Alpha is first.", "Beta is second.", "Gamma is third."],
                            [("q1", "Which is second?", "Beta", 16)],
                        )
                    ],
                }
            ]
        }
        edit(document)
        path = tmp_path / "xquad-r" / "en.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
        return tmp_path, path

    return write


def _load_en(root: Path):
    return load_lareqa("xquad-r", languages=["en"], root=root)


def _paragraph(document: dict) -> dict:
    return document["data"][0]["paragraphs"][0]


def test_valid_small_file_loads(xquad_en) -> None:
    root, _ = xquad_en()
    assert _load_en(root).qrels == {"xquad-r/en/q1": {"xquad-r/en/0/0/1": 1}}


def test_malformed_json(xquad_en) -> None:
    root, path = xquad_en()
    path.write_text('{"data": [{"title": "Letters", "paragraphs": [}]}', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        _load_en(root)
    # the value is the text 20 characters either side of the error (index 46)
    assert_names(caught.value, path, "JSON at line 1, column 47", 'rs", "paragraphs": [}]}')
    assert "is malformed (Expecting value)" in str(caught.value)


def test_empty_file(xquad_en) -> None:
    root, path = xquad_en()
    path.write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty") as caught:
        _load_en(root)
    assert_names(caught.value, path, "file size", 0)


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        (lambda d: _paragraph(d).pop("sentence_breaks"), "data[0].paragraphs[0].sentence_breaks"),
        (lambda d: _paragraph(d)["qas"][0].pop("answers"), "data[0].paragraphs[0].qas[0].answers"),
        (lambda d: d["data"][0].pop("title"), "data[0].title"),
        (lambda d: d.pop("data"), "data"),
    ],
)
def test_missing_field(xquad_en, remove, field: str) -> None:
    root, path = xquad_en(remove)
    with pytest.raises(DataError, match="= <missing> is missing") as caught:
        _load_en(root)
    assert_names(caught.value, path, field, None)


def test_wrong_type(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = "16"

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="is not an integer") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", "16")


def test_answer_start_outside_its_paragraph(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = 9999

    root, path = xquad_en(edit)
    with pytest.raises(DataError) as caught:
        _load_en(root)
    field = "data[0].paragraphs[0].qas[0].answers[0].answer_start"
    assert_names(caught.value, path, field, 9999)
    assert str(caught.value) == (f"{path}: {field} = 9999 is outside its paragraph (length 47)")


def test_answer_start_between_sentence_breaks(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = 15  # the space

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="falls between sentence breaks") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", 15)


def test_sentence_break_that_does_not_match_its_text(xquad_en) -> None:
    def edit(document: dict) -> None:  # the breaks of sentences 1 and 2 swapped in meaning
        _paragraph(document)["sentences"][1:] = ["Gamma is third.", "Beta is second."]

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="does not match sentences\\[1\\]") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].sentence_breaks[1]", [16, 31])


@pytest.mark.parametrize(
    ("breaks", "value"),
    [([[0, 15], [16, 31], [32, 99]], [32, 99]), ([[0, 15], [10, 31], [32, 47]], [10, 31])],
)
def test_sentence_break_outside_or_overlapping(xquad_en, breaks, value) -> None:
    root, path = xquad_en(lambda d: _paragraph(d).update(sentence_breaks=breaks))
    with pytest.raises(DataError, match="is not an ordered span inside its paragraph") as caught:
        _load_en(root)
    field = f"data[0].paragraphs[0].sentence_breaks[{breaks.index(value)}]"
    assert_names(caught.value, path, field, value)


def test_a_near_miss_break_is_a_recorded_quirk(xquad_en) -> None:
    """Like xquad-r/tr.json: the sentence has one character where the context has another."""

    def edit(document: dict) -> None:
        _paragraph(document)["sentences"][1] = "Beta is secönd."

    root, _ = xquad_en(edit)
    suite = _load_en(root)
    assert suite.metadata["break_mismatches"] == [
        "en.json: data[0].paragraphs[0].sentence_breaks[1]"
    ]
    assert suite.candidates[1].text == "Beta is secönd."  # the sentence text is used


def test_repeated_question_id(xquad_en) -> None:
    def edit(document: dict) -> None:
        qas = _paragraph(document)["qas"]
        qas.append(dict(qas[0]))

    root, path = xquad_en(edit)
    with pytest.raises(
        DataError, match=r"repeats the id of data\[0\]\.paragraphs\[0\]\.qas\[0\]"
    ) as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[1].id", "q1")


@pytest.mark.parametrize(
    ("code", "problem"),
    [("xx", "is not a known language code"), ("fr", "is not a language of xquad-r")],
)
def test_unknown_language_code_lareqa(xquad_en, code: str, problem: str) -> None:
    root, _ = xquad_en()
    with pytest.raises(DataError, match=problem) as caught:
        load_lareqa("xquad-r", languages=["en", code], root=root)
    assert_names(caught.value, root / "xquad-r", "languages", code)


def test_unknown_language_code_tatoeba(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a Tatoeba language") as caught:
        load_tatoeba("klingon", root=tmp_path)
    assert_names(caught.value, tmp_path / "tatoeba", "language", "klingon")


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


def test_unknown_language_code_multi30k_and_tydiqa(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a language of test_2017_flickr") as caught:
        load_multi30k("test_2017_flickr", languages=["cs"], root=tmp_path)
    assert_names(caught.value, tmp_path / "multi30k", "languages", "cs")
    with pytest.raises(DataError, match="has no TyDi QA GoldP train file") as caught:
        load_tydiqa("train", languages=["ar"], root=tmp_path)
    assert_names(caught.value, tmp_path / "tydiqa-goldp", "languages", "ar")


def _beir_folder(root: Path, qrels: str) -> Path:
    folder = root / "mini"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "T", "text": "x"}\n{"_id": "d2", "title": "", "text": "y"}\n'
    )
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x?"}\n')
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


def test_qrels_line_with_the_wrong_number_of_columns(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1 d2 1\n")
    with pytest.raises(DataError, match="has 1 tab-separated columns, not 3") as caught:
        load_beir(folder)
    assert_names(caught.value, folder / "qrels" / "test.tsv", "line 3", "q1 d2 1")


def test_qrels_bad_score_and_unknown_ids(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "q1\td1\thigh\n")
    qrels = folder / "qrels" / "test.tsv"
    with pytest.raises(DataError, match="is not an integer") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "line 1 score", "high")
    qrels.write_text("q1\td9\t1\n")
    with pytest.raises(DataError, match="is not in corpus.jsonl") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "corpus-id", "d9")
    qrels.write_text("q7\td1\t1\n")
    with pytest.raises(DataError, match="is not in queries.jsonl") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "query-id", "q7")


def test_malformed_jsonl_line_and_missing_field(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "q1\td1\t1\n")
    corpus = folder / "corpus.jsonl"
    corpus.write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": "y"\n')
    with pytest.raises(DataError, match="is malformed JSON") as caught:
        load_beir(folder)
    assert_names(caught.value, corpus, "line 2, column 26", '": "d2", "text": "y"')
    corpus.write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "body": "y"}\n')
    with pytest.raises(DataError, match="is missing") as caught:
        load_beir(folder)
    assert_names(caught.value, corpus, "line 2.text", None)


def test_bitext_with_different_line_counts(tmp_path: Path) -> None:
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    (folder / "tatoeba.deu-eng.deu").write_text("Hallo.\nDanke.\n", encoding="utf-8")
    (folder / "tatoeba.deu-eng.eng").write_text("Hello.\n", encoding="utf-8")
    with pytest.raises(DataError, match="line-aligned files must have the same") as caught:
        load_tatoeba("de", root=tmp_path)
    assert_names(caught.value, folder / "tatoeba.deu-eng.eng", "line count", 1)


def test_blank_line_and_broken_gzip(tmp_path: Path) -> None:
    folder = tmp_path / "multi30k"
    folder.mkdir()
    for lang, text in [("en", "A dog.\n\n"), ("de", "Ein Hund.\nZwei.\n")]:
        (folder / f"val.{lang}.gz").write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError, match="is blank") as caught:
        load_multi30k("val", ["en", "de"], root=tmp_path)
    assert_names(caught.value, folder / "val.en.gz", "line 2", "")
    (folder / "val.en.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot be read") as caught:
        load_multi30k("val", ["en", "de"], root=tmp_path)
    assert_names(caught.value, folder / "val.en.gz", "gzip stream", "val.en.gz")
    (folder / "val.en.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="the file is empty") as caught:
        load_multi30k("val", ["en", "de"], root=tmp_path)
    assert_names(caught.value, folder / "val.en.gz", "decompressed size", 0)


def test_tydiqa_answer_outside_its_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "tydiqa-goldp" / "english_tydiqa_dev.json"
    path.parent.mkdir()
    qa = {"id": "e1", "question": "Q?", "answers": [{"text": "W", "answer_start": 40}]}
    document = {"data": [{"title": "T", "paragraphs": [{"context": "Wound care.", "qas": [qa]}]}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataError, match=r"is outside its paragraph \(length 11\)") as caught:
        load_tydiqa("dev", ["en"], root=tmp_path)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", 40)


def test_missing_files_offline_say_what_and_how(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_lareqa("xquad-r", languages=["de"], root=tmp_path)
    message = str(caught.value)
    assert "xquad-r/de.json, xquad-r/en.json" in message
    assert "HYBRIDLIB_DATA_DIR" in message and "offline" in message
    assert_names(caught.value, tmp_path, "missing files", 2)
