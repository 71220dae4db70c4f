"""The experiment's steps: scheduled systems' configs, the training side a
post-processing is fitted on, and the choice of its rank on the validation articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import experiment
from hybridlib.protocol import shared_articles, training_articles, validation_articles


@pytest.mark.slow
def test_a_schedule_trains_hybrid_from_alpha_to_alpha_end(real_data_dir: Path, tmp_path: Path):
    common = dict(model="tiny", direction_name="xquad-to-mlqa", seed=0, output_dir=str(tmp_path),
                  temperature=0.05, lr=1e-4, steps=4, train={"batch_size": 8}, validation_fraction=0.1,
                  root=str(real_data_dir))  # fmt: skip
    config = experiment.train_config(sampler="hybrid", alpha=1.0, alpha_end=0.0, **common)
    assert (config.sampler, config.alpha, config.alpha_end) == ("hybrid", 1.0, 0.0)
    pure = experiment.train_config(sampler="hybrid", alpha=1.0, **common)
    assert (pure.sampler, pure.alpha_end) == ("x-x", None)


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


def test_a_main_run_is_reused_only_when_it_is_this_very_configuration(tmp_path: Path):
    """The top-k check reuses a main run of the grid only when its configuration is the
    check's; a main run of another configuration (the full profile's whole-model runs for the
    top-k mode) is neither reused nor overwritten."""
    import json

    from hybridlib.training import TrainConfig

    config = TrainConfig(
        model="tiny", output_dir=str(tmp_path / "main"), steps=2, train_top_layers=1
    )
    assert not experiment.finished_run(config)  # nothing there
    (tmp_path / "main" / "model").mkdir(parents=True)
    (tmp_path / "main" / "provenance.json").write_text("{}")
    (tmp_path / "main" / "config.json").write_text(json.dumps(config.to_dict()))
    assert experiment.finished_run(config)
    other = TrainConfig(
        model="tiny", output_dir=str(tmp_path / "main"), steps=2, train_top_layers=None
    )
    assert not experiment.finished_run(other)
