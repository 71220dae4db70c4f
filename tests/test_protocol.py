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
