"""XM3600 captions (hybridlib.data.xm3600): a hand-made file, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_xm3600,
    split_images,
    xm3600_split,
    xm3600_training_pairs,
)
from hybridlib.samplers.parallel_pairs import ParallelPairs

from .conftest import assert_names


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


def _three_images(tmp_path: Path) -> Path:
    """img1: en 2, de 3 (one repeated word for word), bn 1; img2: en 2, de 1; img3: en 1."""
    path = tmp_path / "captions.jsonl"
    lines = [
        {"image/key": "img1", "en": {"caption": ["A red car.", "A car."]},
         "de": {"caption": ["Ein Auto.", "Ein rotes Auto.", "Ein Auto."]},
         "bn": {"caption": ["গাড়ি।"]}},
        {"image/key": "img2", "en": {"caption": ["A cat.", "A cat sleeping."]},
         "de": {"caption": ["Eine Katze."]}},
        {"image/key": "img3", "en": {"caption": ["A dog."]}},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    return path


def test_xm3600_training_pairs_counted_by_hand(tmp_path: Path) -> None:
    path = _three_images(tmp_path)
    pairs = xm3600_training_pairs(["img1", "img2", "img3"], path=path)
    assert [(p.language, p.query, p.passage, p.parallel_key) for p in pairs] == [
        ("en", "A red car.", "A car.", "xm3600/img1"),
        ("de", "Ein Auto.", "Ein rotes Auto.", "xm3600/img1"),  # the repeat counts once
        ("en", "A cat.", "A cat sleeping.", "xm3600/img2"),
    ]
    assert all(p.article == p.parallel_key for p in pairs)
    assert xm3600_training_pairs(["img2"], path=path) == pairs[2:]
    assert [p.language for p in xm3600_training_pairs({"img1"}, ["de"], path=path)] == ["de"]
    # the samplers' contract: X-X is (i, i), X-Y pairs two languages of one image
    items = ParallelPairs(pairs)
    assert items[(1, 0)] == {
        "query": "Ein Auto.", "passage": "A car.", "query_language": "de",
        "passage_language": "en", "parallel_key": "xm3600/img1",
    }  # fmt: skip
    with pytest.raises(DataError, match="is not an image of this file") as caught:
        xm3600_training_pairs(["img9"], path=path)
    assert_names(caught.value, path, "images", "img9")


def test_xm3600_images_and_mono(tmp_path: Path) -> None:
    path = _three_images(tmp_path)
    suite = load_xm3600(path, images=["img2"], same_language=True)
    assert [q.id for q in suite.queries] == [
        "xm3600/en/img2/0",
        "xm3600/en/img2/1",
        "xm3600/de/img2",
    ]
    assert suite.qrels == {
        "xm3600/en/img2/0": {"xm3600/en/img2/1": 1, "xm3600/de/img2": 1},
        "xm3600/en/img2/1": {"xm3600/en/img2/0": 1, "xm3600/de/img2": 1},
        "xm3600/de/img2": {"xm3600/en/img2/0": 1, "xm3600/en/img2/1": 1},
    }
    assert suite.metadata["images"] == 1
    cross = load_xm3600(path, images=["img2"])
    assert cross.qrels["xm3600/en/img2/0"] == {"xm3600/de/img2": 1}
    mono = suite.subset(query_languages=["en"], candidate_languages=["en"])
    assert mono.qrels == {"xm3600/en/img2/0": {"xm3600/en/img2/1": 1},
                          "xm3600/en/img2/1": {"xm3600/en/img2/0": 1}}  # fmt: skip


def test_split_images() -> None:
    keys = [f"k{i:02d}" for i in range(20)]
    split = split_images(keys, (0.7, 0.1, 0.2), seed=3)
    assert [len(split[s]) for s in ("train", "validation", "test")] == [14, 2, 4]
    together = split["train"] + split["validation"] + split["test"]
    assert sorted(together) == keys and len(set(together)) == 20  # disjoint, covers all
    assert split_images(list(reversed(keys)), (0.7, 0.1, 0.2), seed=3) == split  # order-free
    assert split_images(keys, (0.7, 0.1, 0.2), seed=4) != split
    # cuts at floor(3 * 0.5 + 0.5) = 2 and floor(3 * 0.75 + 0.5) = 2: sizes 2, 0, 1
    three = split_images(["a", "b", "c"], (0.5, 0.25, 0.25))
    assert [len(v) for v in three.values()] == [2, 0, 1]
    for bad in ((0.7, 0.3), (0.7, 0.2, 0.2), (1.1, -0.1, 0.0)):
        with pytest.raises(ValueError, match="fractions must"):
            split_images(keys, bad)


def test_xm3600_real(real_data_dir: Path) -> None:
    path = real_data_dir / "xm3600" / "captions.jsonl"
    split = xm3600_split(root=real_data_dir)
    assert [len(split[s]) for s in ("train", "validation", "test")] == [2520, 360, 720]
    assert split == xm3600_split(path=path)
    pairs = xm3600_training_pairs(split["train"], path=path)
    by_language: dict[str, int] = {}
    for pair in pairs:
        by_language[pair.language] = by_language.get(pair.language, 0) + 1
    assert "bn" not in by_language and by_language["en"] == 2520 and len(by_language) == 32
    assert all(p.query != p.passage for p in pairs)
    test = load_xm3600(path, images=split["test"], same_language=True)
    assert test.metadata["images"] == 720
    assert {q.parallel_key.removeprefix("xm3600/") for q in test.queries} == set(split["test"])


GOOD_LINE = '{"image/key": "a", "en": {"caption": ["A dog."]}, "de": {"caption": ["Ein Hund."]}}'


@pytest.mark.parametrize(
    ("line", "field", "value", "problem"),
    [
        ('{"image/key": "b", "en": {"caption": "A cat."}}', "line 2.en.caption", "A cat.",
         "is not a list"),
        ('{"image/key": "b", "en": {"caption": [7]}}', "line 2.en.caption[0]", 7,
         "is not a non-empty string"),
        ('{"image/key": "b", "en": {"caption": ["\\u200b "]}}', "line 2.en.caption[0]", "\u200b ",
         "is not a non-empty string"),
        ('{"image/key": "b", "en": {"caption": []}}', "line 2.en.caption", [], "is an empty list"),
        ('{"image/key": "b", "en": ["A cat."]}', "line 2.en", ["A cat."], "is not a JSON object"),
        ('{"image/key": "b", "qq": {"caption": ["x"]}}', "line 2 key", "qq",
         "is not a known language code"),
        ('{"image/key": "b", "iw": {"caption": ["x"]}, "he": {"caption": ["y"]}}', "line 2 key",
         "he", "is language 'he' again (key 'iw')"),
        ('{"image/key": "b", "en": {"caption": ["x"]}, "en": {"caption": ["y"]}}',
         "line 2, key 'en'", {"caption": ["y"]}, "is given twice"),
        ('{"image/key": " ", "en": {"caption": ["x"]}}', "line 2.image/key", " ", "is empty"),
        ('{"image/key": "b"}', "line 2", {"image/key": "b"}, "has no language"),
        ('["b"]', "line 2", ["b"], "is not a JSON object"),
    ],
)  # fmt: skip
def test_every_malformed_captions_shape_is_refused_without_the_hash_check(
    tmp_path: Path, monkeypatch, line: str, field: str, value, problem: str
) -> None:
    """Issue 29: with HYBRIDLIB_VERIFY_DATA=0 some malformed captions files were read."""
    monkeypatch.setenv("HYBRIDLIB_VERIFY_DATA", "0")
    path = tmp_path / "captions.jsonl"
    path.write_text(GOOD_LINE + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_xm3600(path)
    assert_names(caught.value, path, field, value)
    assert problem in caught.value.problem
