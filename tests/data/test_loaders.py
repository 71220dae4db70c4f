"""Tatoeba, Multi30K, BEIR, TyDi QA GoldP and XM3600: hand-made files and the real folder."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from hybridlib.data import (
    load_beir,
    load_multi30k,
    load_tatoeba,
    load_tydiqa,
    load_xm3600,
    tatoeba_languages,
)
from hybridlib.data.languages import TATOEBA_CODES
from hybridlib.data.types import RetrievalSuite


def _by_id(suite: RetrievalSuite) -> dict[str, str]:
    return {c.id: c.text for c in suite.candidates}


# ---- Tatoeba ---------------------------------------------------------------------------


def test_tatoeba_hand_made(tmp_path: Path) -> None:
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    (folder / "tatoeba.cmn-eng.cmn").write_text("我很好。\n谢谢。\n", encoding="utf-8")
    (folder / "tatoeba.cmn-eng.eng").write_text("I'm fine.\r\nThanks.\r\n", encoding="utf-8")
    for code in ("zh", "cmn", "CMN"):  # two-letter, the file's code, any case
        suite = load_tatoeba(code, root=tmp_path)
        assert suite.name == "tatoeba/zh"
        assert [(q.id, q.language, q.text, q.parallel_key) for q in suite.queries] == [
            ("tatoeba/zh/zh/0", "zh", "我很好。", "tatoeba/zh/0"),
            ("tatoeba/zh/zh/1", "zh", "谢谢。", "tatoeba/zh/1"),
            ("tatoeba/zh/en/0", "en", "I'm fine.", "tatoeba/zh/0"),
            ("tatoeba/zh/en/1", "en", "Thanks.", "tatoeba/zh/1"),
        ]
        assert [c.id for c in suite.candidates] == [q.id for q in suite.queries]
        assert suite.qrels == {
            "tatoeba/zh/zh/0": {"tatoeba/zh/en/0": 1},
            "tatoeba/zh/zh/1": {"tatoeba/zh/en/1": 1},
            "tatoeba/zh/en/0": {"tatoeba/zh/zh/0": 1},
            "tatoeba/zh/en/1": {"tatoeba/zh/zh/1": 1},
        }


def test_tatoeba_real(real_data_dir: Path) -> None:
    languages = tatoeba_languages()
    assert len(languages) == 112 and len(set(languages)) == 112
    assert {"de", "zh", "fa", "sw", "ms", "yue", "wuu", "arz", "ar"} <= set(languages)
    assert all(len(code) == 2 for file_code, code in TATOEBA_CODES.items() if code != file_code)
    pairs = {}
    for lang in languages:
        suite = load_tatoeba(lang, root=real_data_dir)
        n = len(suite.queries) // 2
        assert Counter(q.language for q in suite.queries) == {lang: n, "en": n}
        pairs[lang] = n
    assert sum(pairs.values()) == 88877  # the data README's total
    assert pairs["th"] == 548 and pairs["de"] == 1000
    de = load_tatoeba("deu", root=real_data_dir)
    first_de = (real_data_dir / "tatoeba/tatoeba.deu-eng.deu").read_text("utf-8").split("\n")[0]
    first_en = (real_data_dir / "tatoeba/tatoeba.deu-eng.eng").read_text("utf-8").split("\n")[0]
    texts = _by_id(de)
    assert (texts["tatoeba/de/de/0"], texts["tatoeba/de/en/0"]) == (first_de, first_en)
    assert de.qrels["tatoeba/de/en/999"] == {"tatoeba/de/de/999": 1}


# ---- Multi30K --------------------------------------------------------------------------


def test_multi30k_hand_made(tmp_path: Path) -> None:
    folder = tmp_path / "multi30k"
    folder.mkdir()
    captions = {"en": ["A dog runs.", "Two men."], "de": ["Ein Hund rennt.", "Zwei Männer."],
                "fr": ["Un chien court.", "Deux hommes."]}  # fmt: skip
    for lang, lines in captions.items():
        (folder / f"test_2017_mscoco.{lang}.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
        )
    suite = load_multi30k("test_2017_mscoco", root=tmp_path)
    assert suite.name == "multi30k/test_2017_mscoco" and suite.languages == ["de", "en", "fr"]
    prefix = "multi30k/test_2017_mscoco"
    assert suite.qrels[f"{prefix}/de/1"] == {f"{prefix}/en/1": 1, f"{prefix}/fr/1": 1}
    assert _by_id(suite)[f"{prefix}/fr/0"] == "Un chien court."
    two = load_multi30k("test_2017_mscoco", languages=["fr", "en"], root=tmp_path)
    assert two.qrels == {
        f"{prefix}/fr/0": {f"{prefix}/en/0": 1}, f"{prefix}/fr/1": {f"{prefix}/en/1": 1},
        f"{prefix}/en/0": {f"{prefix}/fr/0": 1}, f"{prefix}/en/1": {f"{prefix}/fr/1": 1},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("split", "n", "languages"),
    [
        ("test_2016_flickr", 1000, ["cs", "de", "en", "fr"]),
        ("test_2017_mscoco", 461, ["de", "en", "fr"]),
        ("test_2018_flickr", 1071, ["cs", "de", "en", "fr"]),
        ("val", 1014, ["cs", "de", "en", "fr"]),
    ],
)
def test_multi30k_real(real_data_dir: Path, split: str, n: int, languages: list[str]) -> None:
    suite = load_multi30k(split, root=real_data_dir)
    assert suite.languages == languages
    assert Counter(q.language for q in suite.queries) == {lang: n for lang in languages}
    assert {len(judged) for judged in suite.qrels.values()} == {len(languages) - 1}
    with gzip.open(real_data_dir / f"multi30k/{split}.de.gz", "rt", encoding="utf-8") as f:
        last_de = f.read().split("\n")[n - 1]
    assert _by_id(suite)[f"multi30k/{split}/de/{n - 1}"] == last_de


# ---- BEIR ------------------------------------------------------------------------------


def test_beir_hand_made(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Cats", "text": "Cats purr."}\n'
        '{"_id": "d2", "title": "", "text": "Dogs bark."}\n'
        '{"_id": "d3", "text": "Fish swim."}\n'
    )
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "purr?"}\n'
        '{"_id": "q2", "text": "bark?"}\n'
        '{"_id": "q3", "text": "x"}\n'
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq2\td2\t1\nq1\td1\t2\nq1\td3\t0\n"
    )
    suite = load_beir(folder, "test")
    assert suite.name == "beir/tiny/test"
    assert [(q.id, q.text, q.language) for q in suite.queries] == [
        ("q1", "purr?", "en"),
        ("q2", "bark?", "en"),
    ]
    assert [(c.id, c.text) for c in suite.candidates] == [
        ("d1", "Cats Cats purr."), ("d2", "Dogs bark."), ("d3", "Fish swim.")
    ]  # fmt: skip
    assert suite.qrels == {"q2": {"d2": 1}, "q1": {"d1": 2, "d3": 0}}


def test_beir_scifact_real(real_data_dir: Path) -> None:
    test = load_beir("scifact", "test", root=real_data_dir)
    assert len(test.queries) == 300 and sum(map(len, test.qrels.values())) == 339
    assert len(test.candidates) == 5183 and test.languages == ["en"]
    train = load_beir(real_data_dir / "beir" / "scifact", "train")
    assert len(train.queries) == 809 and sum(map(len, train.qrels.values())) == 919
    assert test.qrels["1"] == {"31715818": 1}


# ---- TyDi QA GoldP ---------------------------------------------------------------------


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
    texts = _by_id(dev)
    for query in dev.queries[:200]:
        (cid,) = dev.qrels[query.id]
        assert cid.split("/")[2] == query.language and cid in texts
    train = load_tydiqa("train", root=real_data_dir)
    assert dict(Counter(q.language for q in train.queries)) == {"en": 3696, "ko": 1625, "sw": 2755}


# ---- XM3600 ----------------------------------------------------------------------------


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
