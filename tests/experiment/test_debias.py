"""The experiment's debiasing (hybridlib.experiment.debias): the training side a
post-processing is fitted on, and the choice of its rank on the validation articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import experiment
from hybridlib.protocol import shared_articles, training_articles, validation_articles


@pytest.mark.slow
def test_fit_texts_come_from_training_articles_only_and_are_drawn_reproducibly(real_data_dir: Path):
    root = str(real_data_dir)
    texts = experiment.fit_texts("xquad-to-mlqa", languages=["de", "en", "vi"], per_language=30,
                                 validation_fraction=0.1, root=root)  # fmt: skip
    train = set(training_articles("xquad-to-mlqa", 0.1, 0, root))
    held_out = set(validation_articles("xquad-to-mlqa", 0.1, 0, root)) | set(
        shared_articles("xquad-r", root)
    )
    for side in (texts.queries, texts.candidates):
        assert {item.article for item in side} <= train and not {
            item.article for item in side
        } & held_out
        counts = {lang: sum(item.language == lang for item in side) for lang in ("de", "en", "vi")}
        assert counts == {"de": 30, "en": 30, "vi": 30}
    again = experiment.fit_texts("xquad-to-mlqa", languages=["de", "en", "vi"], per_language=30,
                                 validation_fraction=0.1, root=root)  # fmt: skip
    assert [q.id for q in again.queries] == [q.id for q in texts.queries]
    other = experiment.fit_texts("xquad-to-mlqa", languages=["de", "en", "vi"], per_language=30,
                                 validation_fraction=0.1, seed=1, root=root)  # fmt: skip
    assert [q.id for q in other.queries] != [q.id for q in texts.queries]


@pytest.mark.slow
def test_the_chosen_rank_is_the_validation_tables_best_with_ties_to_the_smaller(
    real_data_dir: Path, tmp_path: Path
):
    from hybridlib.models import tiny_encoder

    root = str(real_data_dir)
    encoder = tiny_encoder(seed=0)
    fit = experiment.fit_texts("xquad-to-mlqa", languages=["de", "en", "zh"], per_language=20,
                               validation_fraction=0.1, root=root)  # fmt: skip
    choice, table = experiment.choose_debias_ranks(
        encoder, direction_name="xquad-to-mlqa", ranks={"lir": [1, 2], "lsar": [1, 2]}, fit_suite=fit,
        validation_fraction=0.1, languages=["de", "en", "zh"], root=root,
    )  # fmt: skip
    assert list(table["method"]) == ["none", "lir", "lir", "lsar", "lsar"]
    for method in ("lir", "lsar"):
        part = table[table["method"] == method]
        best = part["map_mean"].max()
        assert choice[method] == int(part[part["map_mean"] == best]["rank"].min())
    row = table.iloc[0]
    assert row["map_mean"] == pytest.approx(
        (row["map_mono"] + row["map_cross"] + row["map_multi"]) / 3
    )
