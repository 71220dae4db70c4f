"""TrainConfig: YAML read with a safe loader, every bad key, type and value named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.training import ConfigError, DataConfig, TrainConfig

BASE = {"data": {"suite": "xquad-r"}, "steps": 10}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_round_trip_and_defaults(tmp_path):
    path = write(
        tmp_path,
        "model: embedded\n"
        "data: {suite: mlqa-r, languages: [en, de], fold: 1}\n"
        "sampler: language-agnostic\n"
        "alpha: 0\n"
        "batch_size: 16\n"
        "epochs: 2\n"
        "lr: 3e-5\n"  # YAML 1.1 reads this as a string; accepted as a float
        "clip_norm: null\n",
    )
    config = TrainConfig.from_yaml(path)
    assert config.data == DataConfig(suite="mlqa-r", languages=["en", "de"], fold=1)
    assert config.sampler == "x-y"  # alias resolved to the strategy name
    assert config.lr == 3e-5 and isinstance(config.lr, float)
    assert config.alpha == 0.0 and isinstance(config.alpha, float)
    assert config.clip_norm is None
    assert config.weight_decay == 0.01 and config.temperature == 0.05  # the paper's / E5's
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "key, suggestion",
    [
        ("learning_rate", None),
        ("batchsize", "batch_size"),
        ("temprature", "temperature"),
        ("symetric", "symmetric"),
    ],
)
def test_unknown_key_is_named_with_the_closest_valid_key(tmp_path, key, suggestion):
    path = write(tmp_path, f"data: {{suite: xquad-r}}\nsteps: 10\n{key}: 1\n")
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_yaml(path)
    message = str(error.value)
    assert message.startswith(f"{path}: unknown key '{key}'")
    if suggestion:
        assert f"did you mean '{suggestion}'?" in message
    else:
        assert "did you mean" not in message


def test_unknown_key_in_the_data_section(tmp_path):
    path = write(tmp_path, "data: {suite: xquad-r, langauges: [en]}\nsteps: 10\n")
    with pytest.raises(
        ConfigError, match=r"unknown key data.'langauges'; did you mean data.'languages'\?"
    ):
        TrainConfig.from_yaml(path)


@pytest.mark.parametrize(
    "update, message",
    [
        ({"batch_size": "32"}, "batch_size must be an integer, but got '32'"),
        ({"batch_size": 1}, "batch_size must be >= 2, but got 1"),
        ({"steps": 2.5}, "steps must be an integer, but got 2.5"),
        ({"symmetric": "yes please"}, "symmetric must be true or false, but got 'yes please'"),
        ({"alpha": 1.5}, r"alpha must be in \[0, 1\], but got 1.5"),
        ({"lr": "fast"}, "lr must be a number, but got 'fast'"),
        ({"temperature": 0}, "temperature must be > 0, but got 0.0"),
        ({"margin": -0.2}, "margin must be >= 0, but got -0.2"),
        (
            {"sampler": "x-y", "alpha_end": 1.0},
            r"alpha_end \(a scheduled alpha\) applies to sampler 'hybrid', but got sampler 'x-y'",
        ),
        (
            {"sampler": "per-pair", "kind_block": 4},
            "kind_block applies to whole-batch kinds; sampler 'per-pair'",
        ),
        ({"alpha_end": 2.0}, r"alpha_end must be in \[0, 1\], but got 2.0"),
        ({"warmup_ratio": 1.0}, r"warmup_ratio must be in \[0, 1\), but got 1.0"),
        ({"sampler": "mixed"}, "sampler: unknown batch sampling strategy 'mixed'"),
        (
            {"language_weighting": "random"},
            r"language_weighting must be one of \['uniform', 'size'\], but got 'random'",
        ),
        ({"sampler": "x-x", "alpha": 0.5}, "sampler 'x-x' means alpha = 1.0, but got alpha=0.5"),
        ({"epochs": 3}, "give exactly one of 'steps' or 'epochs', but got steps=10, epochs=3"),
        (
            {"data": {"suite": "xquad"}},
            r"data.suite must be one of \['xquad-r', 'mlqa-r', 'xm3600'\], but got 'xquad'",
        ),
        (
            {"data": {"suite": "xquad-r", "fold": 2}},
            r"data.fold must be in \[0, n_folds = 2\), but got 2",
        ),
        (
            {"data": {"suite": "xquad-r", "languages": "en"}},
            "data.languages must be a list, but got 'en'",
        ),
        (
            {"data": {"suite": "xquad-r", "pairs_file": "p.jsonl"}},
            "data: give exactly one of 'suite' or 'pairs_file'",
        ),
        ({"data": ["xquad-r"]}, r"data must be a mapping, but got \['xquad-r'\]"),
        # issue 29: these reached numpy and torch, whose errors name no field
        ({"seed": 2**63}, rf"seed must be in \[0, 2\*\*32\), but got {2**63}"),
        ({"seed": 2**32}, rf"seed must be in \[0, 2\*\*32\), but got {2**32}"),
        ({"seed": -1}, r"seed must be in \[0, 2\*\*32\), but got -1"),
        (
            {"num_threads": 100000},
            r"num_threads must be in \[1, 1024\] \(or null\), but got 100000",
        ),
        ({"num_threads": 0}, r"num_threads must be in \[1, 1024\] \(or null\), but got 0"),
    ],
)
def test_bad_values_are_named(update, message):
    with pytest.raises(ConfigError, match=r"^my\.yaml: " + message):
        TrainConfig.from_dict({**BASE, **update}, source="my.yaml")


def test_not_a_mapping_and_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="the config must be a mapping of keys, but got list"):
        TrainConfig.from_yaml(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_yaml(write(tmp_path, "steps: [1, 2\n"))
    with pytest.raises(ConfigError, match="cannot read the config"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    path = write(tmp_path, "steps: !!python/object/apply:os.system ['echo unsafe']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_yaml(path)


def test_command_reports_config_errors(tmp_path, capsys):
    from hybridlib.cli import main

    path = write(tmp_path, "data: {suite: xquad-r}\nsteps: 10\nbatchsize: 8\n")
    assert main(["train", "--config", str(path)]) == 2
    assert "unknown key 'batchsize'; did you mean 'batch_size'?" in capsys.readouterr().err


def test_command_reports_bad_pairs_file(tmp_path, capsys):
    from hybridlib.cli import main

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        '{"query": "q", "passage": "p", "language": "en", "parallel_key": "k", "article": "a"}\n'
        '{"query": "q", "passage": "p", "lang": "en"}\n',
        encoding="utf-8",
    )
    path = write(
        tmp_path, f"data: {{pairs_file: {pairs}}}\nsteps: 10\noutput_dir: {tmp_path / 'out'}\n"
    )
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{pairs}: line 2 = " in err
    assert (
        "has unknown fields ['lang'] / lacks fields ['language', 'parallel_key', 'article']" in err
    )
    assert not (tmp_path / "out" / "model").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "/nonexistent/model"}, "encoder folder not found: /nonexistent/model"),
        (
            {"data": {"suite": "xquad-r", "languages": ["en"], "articles": ["Super_Bowl_51"]}},
            "data.articles: 1 article\\(s\\) not in xquad-r .* 'Super_Bowl_51' \\(did you mean 'Super_Bowl_50'\\?\\)",
        ),
        (
            {"data": {"suite": "xquad-r", "languages": ["de", "en"], "articles": []}},
            "data: no training pair in xquad-r",
        ),
        ({"batch_size": 5000}, "batch_size"),
        (
            {"sampler": "x-y", "data": {"suite": "xquad-r", "languages": ["en"]}},
            "at least two|two languages|languages",
        ),
        ({"device": "cuda"}, "sees no CUDA device"),
    ],
)
def test_train_turns_ordinary_mistakes_into_one_message_and_exit_2(
    tmp_path, real_data_dir, capsys, fields, message
):
    """Issue 14, case 6: these ended in raw tracebacks."""
    import re

    import yaml

    from hybridlib.cli import main

    config = {"model": "tiny", "output_dir": str(tmp_path / "out"), "steps": 1, "batch_size": 8,
              "data": {"suite": "xquad-r", "languages": ["de", "en"], "articles": ["Super_Bowl_50"],
                       "root": str(real_data_dir)}, **fields}  # fmt: skip
    config["data"] = {**config["data"], "root": str(real_data_dir)}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybridlib train: ") and "Traceback" not in err
    assert re.search(message, err), err


def test_a_key_given_twice_in_a_config_is_an_error(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("steps: 4\nlr: 1.0e-4\nsteps: 8\n")
    with pytest.raises(ConfigError, match=r"key 'steps' is given twice \(lines 1 and 3\)"):
        TrainConfig.from_yaml(path)
