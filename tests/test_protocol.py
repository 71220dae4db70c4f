"""The protocol (hybridlib.protocol): test articles and validation articles never trained on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.protocol import (
    protocol_table,
    shared_articles,
    suite_articles,
    training_articles,
    validation_articles,
)


@pytest.mark.slow
def test_protocol_keeps_test_articles_and_validation_out_of_training(real_data_dir: Path) -> None:
    root = str(real_data_dir)
    assert shared_articles("xquad-r", root) == ["Harvard_University", "Prime_number"]
    assert shared_articles("mlqa-r", root) == ["Harvard University", "Prime number"]
    for name, suite in (("xquad-to-mlqa", "xquad-r"), ("mlqa-to-xquad", "mlqa-r")):
        train = set(training_articles(name, 0.1, 0, root))
        held = set(validation_articles(name, 0.1, 0, root))
        shared = set(shared_articles(suite, root))
        assert not train & held and not train & shared and not held & shared
        assert train | held | shared == set(suite_articles(suite, root))
        assert validation_articles(name, 0.1, 0, root) == validation_articles(name, 0.1, 0, root)
        assert validation_articles(name, 0.1, 1, root) != validation_articles(name, 0.1, 0, root)
    table = protocol_table(0.1, 0, root)
    assert table.loc["mlqa-to-xquad", "languages never trained on"] == "el ru th tr vi"
    assert table.loc["xquad-to-mlqa", "languages never trained on"] == "vi"
    assert table.loc["xquad-to-mlqa", "validation articles"] == 5  # ceil(0.1 * 46)


@pytest.mark.slow
def test_xm3600_direction_trains_validates_and_tests_on_disjoint_images(
    real_data_dir: Path,
) -> None:
    from hybridlib.data.xm3600 import captions_path, read_xm3600
    from hybridlib.protocol import XM3600_LANGUAGES, direction, xm3600_table, xm3600_units

    root = str(real_data_dir)
    captions = read_xm3600(captions_path(root=root))
    assert sorted({lang for by in captions.values() for lang in by}) == sorted(XM3600_LANGUAGES)
    train = training_articles("xm3600", 0.1, 0, root)
    held = validation_articles("xm3600", 0.1, 0, root)
    test = xm3600_units("test", root)
    assert (len(train), len(held), len(test)) == (2520, 360, 720)
    assert not set(train) & set(held) and not set(train) & set(test) and not set(held) & set(test)
    # a cut is a seeded subset, the same on every call, growing with its limit
    small, larger = xm3600_units("train", root, 100), xm3600_units("train", root, 500)
    assert len(small) == 100 and set(small) <= set(larger) <= set(train)
    assert small == training_articles("xm3600", 0.1, 0, root, limit=100) == sorted(small)
    assert validation_articles("xm3600", 0.1, 0, root, limit=40) == xm3600_units(
        "validation", root, 40
    )
    with pytest.raises(ValueError, match="at least 1"):
        xm3600_units("train", root, 0)
    assert direction("xm3600").test_suite == "xm3600"
    table = xm3600_table(100, 40, root)
    assert table.attrs["images"] == {"training": 100, "validation": 40, "test": 720}
    # Bengali has one caption per image: no X-X pair; every row's captions are counted by hand
    assert table.loc["bn", "X-X pairs"] == 0
    images = [u.removeprefix("xm3600/") for u in small]
    assert table.loc["en", "training captions"] == sum(
        len(captions[i].get("en", ())) for i in images
    )
    assert table.loc["all", "X-X pairs"] == table.drop(index="all")["X-X pairs"].sum()


def test_only_xm3600_scores_its_learning_curve_in_a_profiles_languages():
    from hybridlib.protocol import curve_languages

    assert curve_languages("xm3600", ["de", "sw"]) == ["de", "sw"]
    assert curve_languages("xm3600", None) is None  # its training languages
    assert curve_languages("xquad-to-mlqa", ["de"]) is None  # a LAReQA curve: all of its own
