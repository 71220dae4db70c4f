"""SciFact-MT (hybridlib.data.scifact_mt): a hand-made BEIR folder with translations, bad
input named, and the real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridlib.data import DataError, load_scifact_mt, load_scifact_mt_pool

from .conftest import assert_names


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _meta(words: int, unknown: int) -> dict[str, Any]:
    return {"route": "eng-spa", "words": words, "unknown_words": unknown}


def _root(tmp_path: Path) -> Path:
    """English: claims q1, q2 (q2 not judged), abstracts d1, d2; es and ca translations."""
    english = tmp_path / "beir" / "scifact"
    _jsonl(english / "queries.jsonl", [{"_id": "q1", "text": "Bats carry viruses."},
                                       {"_id": "q2", "text": "Soap works."}])  # fmt: skip
    _jsonl(english / "corpus.jsonl", [{"_id": "d1", "title": "Bats", "text": "Bats host CoVs."},
                                      {"_id": "d2", "title": "", "text": "Soap kills."}])  # fmt: skip
    (english / "qrels").mkdir()
    (english / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    mt = tmp_path / "beir" / "scifact-mt"
    for lang, claims, docs in (
        ("es", ["Murciélagos llevan virus.", "Jabón funciona."], ["Murciélagos", "Jabón mata."]),
        ("ca", ["Ratpenats porten virus.", "Sabó funciona."], ["Ratpenats", "Sabó mata."]),
    ):
        _jsonl(mt / f"queries.{lang}.jsonl", [
            {"_id": "q1", "text": claims[0], "metadata": _meta(4, 1)},
            {"_id": "q2", "text": claims[1], "metadata": _meta(2, 0)},
        ])  # fmt: skip
        _jsonl(mt / f"corpus.{lang}.jsonl", [
            {"_id": "d1", "title": docs[0], "text": "CoV.", "metadata": _meta(5, 1)},
            {"_id": "d2", "title": "", "text": docs[1], "metadata": _meta(2, 1)},
        ])  # fmt: skip
    return tmp_path


def test_scifact_mt_hand_made(tmp_path: Path) -> None:
    root = _root(tmp_path)
    cross = load_scifact_mt("es", root=root)
    assert cross.name == "beir/scifact-mt/es-en/test"
    assert [(q.id, q.language, q.text) for q in cross.queries] == [
        ("q1", "es", "Murciélagos llevan virus.")
    ]
    assert [(c.id, c.language) for c in cross.candidates] == [("d1", "en"), ("d2", "en")]
    assert cross.candidates[0].text == "Bats Bats host CoVs."
    assert cross.qrels == {"q1": {"d1": 1}}
    assert cross.metadata["unknown_word_share"] == {"q1": 0.25}
    assert cross.metadata["corpus_unknown_word_share"] == {}
    same = load_scifact_mt("ca", "ca", root=root)
    assert same.candidates[1].text == "Sabó mata." and same.candidates[0].language == "ca"
    assert same.metadata["corpus_unknown_word_share"] == {"ca": 2 / 7}
    english = load_scifact_mt("en", root=root)
    assert (
        english.queries[0].text == "Bats carry viruses."
        and english.metadata["unknown_word_share"] == {}
    )


def test_scifact_mt_pool(tmp_path: Path) -> None:
    pool = load_scifact_mt_pool(root=_root(tmp_path))
    assert [q.id for q in pool.queries] == ["en/q1", "es/q1", "ca/q1"]
    assert {q.parallel_key for q in pool.queries} == {"q1"}
    assert [c.id for c in pool.candidates] == ["en/d1", "en/d2", "es/d1", "es/d2", "ca/d1", "ca/d2"]
    assert {c.article for c in pool.candidates if c.id.endswith("/d1")} == {"d1"}
    relevant = {"en/d1": 1, "es/d1": 1, "ca/d1": 1}
    assert pool.qrels == {"en/q1": relevant, "es/q1": relevant, "ca/q1": relevant}
    assert pool.metadata["unknown_word_share"] == {"es/q1": 0.25, "ca/q1": 0.25}
    assert set(pool.metadata["corpus_unknown_word_share"]) == {"es", "ca"}


def test_scifact_mt_languages(tmp_path: Path) -> None:
    root = _root(tmp_path)
    with pytest.raises(DataError, match="has no translated corpus") as caught:
        load_scifact_mt("es", "gl", root=root)
    assert_names(caught.value, root / "beir" / "scifact-mt", "languages", "gl")
    with pytest.raises(DataError, match="has no translated claims") as caught:
        load_scifact_mt("de", root=root)
    assert_names(caught.value, root / "beir" / "scifact-mt", "languages", "de")


@pytest.mark.parametrize(
    ("rows", "field", "value", "problem"),
    [
        ([{"text": "x", "metadata": _meta(1, 0)}], "line 1._id", None, "is missing"),
        ([{"_id": "q9", "text": "x", "metadata": _meta(1, 0)}], "line 1._id", "q9",
         "is not in"),
        ([{"_id": "q1", "text": "x", "metadata": _meta(1, 0)}], "_id", "q2", "is missing"),
        ([{"_id": "q1", "text": "x"}], "line 1.metadata", None, "is missing"),
        ([{"_id": "q1", "text": "x", "metadata": _meta(0, 0)}], "line 1.metadata.words", 0,
         "is not positive"),
        ([{"_id": "q1", "text": "x", "metadata": _meta(2, 3)}],
         "line 1.metadata.unknown_words", 3, "is not in"),
        ([{"_id": "q1", "text": "x", "metadata": {"route": "r", "words": "2",
                                                  "unknown_words": 0}}],
         "line 1.metadata.words", "2", "is not an integer"),
    ],
)  # fmt: skip
def test_scifact_mt_bad_translations(
    tmp_path: Path, rows: list[dict[str, Any]], field: str, value: Any, problem: str
) -> None:
    root = _root(tmp_path)
    path = _jsonl(root / "beir" / "scifact-mt" / "queries.es.jsonl", rows)
    with pytest.raises(DataError, match=problem) as caught:
        load_scifact_mt("es", root=root)
    assert_names(caught.value, path, field, value)


def test_scifact_mt_judged_id_absent_from_english(tmp_path: Path) -> None:
    root = _root(tmp_path)
    qrels = root / "beir" / "scifact" / "qrels" / "test.tsv"
    qrels.write_text("q1\td1\t1\nq7\td1\t1\n")
    with pytest.raises(DataError, match="is not in queries.jsonl") as caught:
        load_scifact_mt("es", root=root)
    assert_names(caught.value, qrels, "query-id", "q7")


def test_scifact_mt_real(real_data_dir: Path) -> None:
    cross = load_scifact_mt("gl", root=real_data_dir)
    assert len(cross.queries) == 300 and len(cross.candidates) == 5183
    assert sum(map(len, cross.qrels.values())) == 339
    shares = cross.metadata["unknown_word_share"]
    assert len(shares) == 300 and all(0 <= s <= 1 for s in shares.values())
    same = load_scifact_mt("es", "es", root=real_data_dir)
    assert 0.13 < same.metadata["corpus_unknown_word_share"]["es"] < 0.14
    pool = load_scifact_mt_pool(root=real_data_dir)
    assert len(pool.queries) == 900 and len(pool.candidates) == 3 * 5183
    assert sum(map(len, pool.qrels.values())) == 3 * 3 * 339
    train = load_scifact_mt("it", split="train", root=real_data_dir)  # 300 + 809 = 1,109
    assert len(train.queries) == 809 and not {q.id for q in train.queries} & set(shares)


def test_a_languages_untranslated_share_is_the_mean_over_judged_claims(tmp_path: Path) -> None:
    """q1 (judged): 1 of 4 words unknown; q2 (not judged in the split) is left out."""
    from hybridlib.data.scifact_mt import unknown_word_shares

    assert unknown_word_shares(["en", "es", "ca"], root=_root(tmp_path)) == {
        "en": 0.0, "es": 0.25, "ca": 0.25,
    }  # fmt: skip
