"""Multi30K captions (hybridlib.data.multi30k): hand-made and real files, bad input named."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_multi30k,
    load_tydiqa,
)

from .conftest import assert_names, texts_by_id


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
    assert texts_by_id(suite)[f"{prefix}/fr/0"] == "Un chien court."
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
    assert texts_by_id(suite)[f"multi30k/{split}/de/{n - 1}"] == last_de


def test_unknown_language_code_multi30k_and_tydiqa(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a language of test_2017_flickr") as caught:
        load_multi30k("test_2017_flickr", languages=["cs"], root=tmp_path)
    assert_names(caught.value, tmp_path / "multi30k", "languages", "cs")
    with pytest.raises(DataError, match="has no TyDi QA GoldP train file") as caught:
        load_tydiqa("train", languages=["ar"], root=tmp_path)
    assert_names(caught.value, tmp_path / "tydiqa-goldp", "languages", "ar")


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
