"""Tatoeba bitext (hybridlib.data.tatoeba): hand-made and real files, bad input named."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_tatoeba,
    tatoeba_languages,
)
from hybridlib.data.languages import TATOEBA_CODES
from hybridlib.data.tatoeba import tatoeba_directions

from .conftest import assert_names, texts_by_id


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
    texts = texts_by_id(de)
    assert (texts["tatoeba/de/de/0"], texts["tatoeba/de/en/0"]) == (first_de, first_en)
    assert de.qrels["tatoeba/de/en/999"] == {"tatoeba/de/de/999": 1}


def test_unknown_language_code_tatoeba(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a Tatoeba language") as caught:
        load_tatoeba("klingon", root=tmp_path)
    assert_names(caught.value, tmp_path / "tatoeba", "language", "klingon")


def test_bitext_with_different_line_counts(tmp_path: Path) -> None:
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    (folder / "tatoeba.deu-eng.deu").write_text("Hallo.\nDanke.\n", encoding="utf-8")
    (folder / "tatoeba.deu-eng.eng").write_text("Hello.\n", encoding="utf-8")
    with pytest.raises(DataError, match="line-aligned files must have the same") as caught:
        load_tatoeba("de", root=tmp_path)
    assert_names(caught.value, folder / "tatoeba.deu-eng.eng", "line count", 1)


def test_a_cells_direction_and_foreign_language() -> None:
    assert tatoeba_directions(["de", "en"], ["en", "zh"]) == (["xx->en", "en->xx"], ["de", "zh"])
    for query, candidate in (("de", "fr"), ("en", "en")):
        with pytest.raises(
            ValueError, match=f"query language '{query}' and candidate language '{candidate}'"
        ):
            tatoeba_directions(["de", query], ["en", candidate])
