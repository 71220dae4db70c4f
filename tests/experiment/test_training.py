"""The experiment's training step (hybridlib.experiment.training): scheduled systems'
configs, and a finished run reused only when it is this very configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import experiment


@pytest.mark.slow
def test_a_schedule_trains_hybrid_from_alpha_to_alpha_end(real_data_dir: Path, tmp_path: Path):
    common = dict(model="tiny", direction_name="xquad-to-mlqa", seed=0, output_dir=str(tmp_path),
                  temperature=0.05, lr=1e-4, steps=4, train={"batch_size": 8}, validation_fraction=0.1,
                  root=str(real_data_dir))  # fmt: skip
    config = experiment.train_config(sampler="hybrid", alpha=1.0, alpha_end=0.0, **common)
    assert (config.sampler, config.alpha, config.alpha_end) == ("hybrid", 1.0, 0.0)
    pure = experiment.train_config(sampler="hybrid", alpha=1.0, **common)
    assert (pure.sampler, pure.alpha_end) == ("x-x", None)


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


def test_xm3600s_cut_applies_to_xm3600_only(real_data_dir: Path, tmp_path: Path):
    """A profile's XM3600 cut (images, curve languages) is offered to every direction's
    notebooks; a LAReQA direction's configuration ignores it."""
    from hybridlib.experiment import train_config
    from hybridlib.protocol import xm3600_units

    common = dict(model="tiny", sampler="hybrid", alpha=0.5, seed=0, temperature=0.05, lr=1e-4,
                  steps=2, train={"batch_size": 8}, validation_fraction=0.1, validation_every=1,
                  train_images=30, validation_images=40, validation_languages=["de", "sw"],
                  root=str(real_data_dir))  # fmt: skip
    xm = train_config(direction_name="xm3600", output_dir=str(tmp_path / "a"), **common)
    assert xm.data.articles == xm3600_units("train", str(real_data_dir), 30)
    assert xm.validation.articles == xm3600_units("validation", str(real_data_dir), 40)
    assert xm.validation.languages == ["de", "sw"] and xm.data.suite == "xm3600"
    lareqa = train_config(direction_name="xquad-to-mlqa", output_dir=str(tmp_path / "b"), **common)
    assert lareqa.validation.languages is None and lareqa.data.suite == "xquad-r"
    assert not any(a.startswith("xm3600/") for a in lareqa.data.articles)
