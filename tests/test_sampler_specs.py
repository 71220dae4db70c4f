"""The sampler registry: one spec per sampler, one check of (sampler, alpha, alpha_end), and a
sampler added in one file that the config, trainer, names, profiles and reporting all take."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib.data.types import TrainingPair
from hybridlib.reporting import load_results, measure_table, mixing_systems, summarise
from hybridlib.run_records import trained_record, write_run_record
from hybridlib.runner import load_profile, plan_profile
from hybridlib.sampler_specs import (
    SAMPLER_SPECS,
    SamplerSettingError,
    SamplerSpec,
    register_sampler,
    sampler_setting,
    sampler_spec,
)
from hybridlib.samplers import (
    BatchKind,
    BatchSamplingStrategy,
    HybridBatchSampler,
    make_batch_sampler,
)
from hybridlib.systems import canonical, system_label, system_name
from hybridlib.training import ConfigError, TrainConfig, train

# ---------------------------------------------------------------- the new sampler, one file


class SpacedBatchSampler(HybridBatchSampler):
    """Hybrid's batches, the X-X steps evenly spaced instead of drawn: step ``s`` is X-X iff
    ``floor((s + 1) * alpha) > floor(s * alpha)`` (alpha 0.5: X-Y, X-X, X-Y, X-X, ...)."""

    sampler_name = "spaced"

    def _kinds(self, rng: np.random.Generator, steps: int) -> np.ndarray:
        s = np.arange(steps)
        return np.floor((s + 1) * self.alpha) > np.floor(s * self.alpha)


SPACED = SamplerSpec(name="spaced", table_name="Spaced", factory=SpacedBatchSampler)


@pytest.fixture
def spaced() -> Iterator[SamplerSpec]:
    """The spaced sampler, registered for one test."""
    register_sampler(SPACED)
    yield SPACED
    del SAMPLER_SPECS["spaced"]


def parallel_pairs(n_keys: int = 16, languages: tuple[str, ...] = ("de", "en", "fr")):
    words = "apple river stone cloud music paper garden window silver forest orange".split()
    return [
        TrainingPair(
            query=f"{lang} {words[k % 11]} {words[(3 * k) % 11]}?",
            passage=f"{lang} {words[k % 11]} {words[(3 * k) % 11]} {words[(5 * k) % 11]}.",
            language=lang,
            parallel_key=f"q{k}",
            article=f"article{k % 4}",
        )
        for lang in languages
        for k in range(n_keys)
    ]


# ------------------------------------------------------------------------------ the registry


def test_the_built_in_samplers_and_their_names() -> None:
    assert list(SAMPLER_SPECS) == [s.value for s in BatchSamplingStrategy]
    assert sampler_spec("Language_Specific").name == "x-x"
    assert sampler_setting("x-y") == sampler_setting("x-y", 0.0)
    assert sampler_setting("hybrid").alpha == 0.5
    ramp = sampler_setting("hybrid", 1, 0)
    assert (ramp.alpha, ramp.alpha_end, ramp.label, ramp.name) == (
        1.0, 0.0, "hybrid-a1.00-0.00", "Schedule(1.00→0.00)",
    )  # fmt: skip
    # a schedule that does not move keeps its alpha_end (its batches are its own) and is
    # named as plain Hybrid
    still = sampler_setting("hybrid", 0.5, 0.5)
    assert still.alpha_end == 0.5 and still.label == "hybrid-a0.50"
    assert sampler_setting("hybrid", 1.0).system().sampler == "x-x"


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (("hybird", 0.5), "sampler", r"unknown batch sampling strategy 'hybird'.*did you mean 'hybrid'\?"),
        (("hybrid", 1.5), "alpha", r"alpha must be in \[0, 1\], but got 1.5"),
        (("hybrid", "0.5"), "alpha", r"alpha must be a number in \[0, 1\], but got '0.5'"),
        (("x-x", 0.5), "alpha", r"sampler 'x-x' means alpha = 1.0, but got alpha=0.5"),
        (("per-pair", 0.5, 0.0), "alpha_end", r"applies to sampler 'hybrid', but got sampler 'per-pair'"),
        (("hybrid", 0.5, float("nan")), "alpha_end", r"alpha_end must be in \[0, 1\], but got nan"),
    ],
    ids=["sampler", "alpha-range", "alpha-type", "fixed-alpha", "alpha_end-sampler", "alpha_end-range"],
)  # fmt: skip
def test_one_check_names_the_field_and_the_value(args, field, message) -> None:
    with pytest.raises(SamplerSettingError, match=message) as error:
        sampler_setting(*args)
    assert error.value.field == field and isinstance(error.value, ValueError)


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match=r"sampler name\(s\) \['hybrid'\] are taken"):
        register_sampler(SamplerSpec(name="hybrid", table_name="H", factory=HybridBatchSampler))
    with pytest.raises(ValueError, match=r"\['language-agnostic'\] are taken"):
        register_sampler(SamplerSpec(name="new", table_name="New", factory=HybridBatchSampler,
                                     aliases=("language-agnostic",)))  # fmt: skip
    assert "new" not in SAMPLER_SPECS


# ------------------------------------------------------------ a sampler added in one file


def test_a_registered_sampler_is_built_by_name(spaced) -> None:
    sampler = make_batch_sampler("spaced", parallel_pairs(), batch_size=4, alpha=0.5, seed=1)
    assert isinstance(sampler, SpacedBatchSampler)
    kinds = [batch.kind for batch in sampler.plan(0)]
    assert kinds == [BatchKind.X_Y, BatchKind.X_X] * (len(kinds) // 2)
    with pytest.raises(ValueError, match="applies to sampler 'hybrid', but got sampler 'spaced'"):
        make_batch_sampler("spaced", parallel_pairs(), batch_size=4, alpha_end=0.0)


def test_a_registered_sampler_is_configured_and_trained(spaced, tmp_path) -> None:
    fields = {"sampler": "spaced", "alpha": 0.5, "steps": 4, "batch_size": 4, "lr": 1e-3,
              "num_threads": 1, "output_dir": str(tmp_path / "run")}  # fmt: skip
    config = TrainConfig.from_dict(fields)
    assert (config.sampler, config.alpha, config.alpha_end) == ("spaced", 0.5, None)
    with pytest.raises(ConfigError, match=r"did you mean 'spaced'\?"):
        TrainConfig.from_dict({**fields, "sampler": "spacd"})
    with pytest.raises(ConfigError, match="alpha_end .* but got sampler 'spaced'"):
        TrainConfig.from_dict({**fields, "alpha_end": 0.0})
    result = train(config, pairs=parallel_pairs())
    log = [json.loads(line) for line in result.log_file.read_text(encoding="utf-8").splitlines()]
    assert [record["batch_kind"][0] for record in log] == ["x-y", "x-x", "x-y", "x-x"]


def test_a_registered_sampler_is_named_planned_and_reported(spaced, tmp_path) -> None:
    assert (system_label("spaced", 0.5), system_name("spaced", 0.5)) == (
        "spaced-a0.50", "Spaced(0.50)",
    )  # fmt: skip
    assert canonical("spaced", 1.0) == ("spaced", 1.0)  # not folded into X-X
    # profiles: a system of experiment.mixing, planned as one runs-notebook execution
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(
        "profiles:\n  p:\n    notebooks: [{notebook: notebooks/data.ipynb}]\n"
        "    experiment:\n      directions: [mlqa-to-xquad]\n"
        "      mixing: {systems: [{sampler: spaced, alpha: 0.5, seeds: [0]}]}\n",
        encoding="utf-8",
    )
    executions = {e.name: e for e in plan_profile(load_profile(profiles, "p"))}
    run = executions["runs/mlqa-to-xquad/spaced-a0.50"]
    assert (run.parameters["sampler"], run.parameters["alpha"]) == ("spaced", 0.5)
    # reporting: the run records of Hybrid and the new sampler, one table
    rng = np.random.default_rng(0)
    for sampler in ("hybrid", "spaced"):
        record = trained_record("mlqa-to-xquad", sampler, 0.5, 0, "tiny")
        folder = tmp_path / "results" / record["run_name"]
        (folder / "xquad-r").mkdir(parents=True)
        pd.DataFrame({
            "setting": "mono", "query_language": "en", "candidate_language": "en",
            "query_id": [f"q{i}" for i in range(6)], "cluster": [f"c{i}" for i in range(6)],
            "metric": "map", "value": rng.random(6), "suite": "xquad-r",
        }).to_csv(folder / "xquad-r" / "per_query.csv.gz", index=False)  # fmt: skip
        write_run_record(folder, {**record, "suites": ["xquad-r"], "evaluation": {"xquad-r": {}}})
    assert record["system"] == "Spaced(0.50)" and record["run_name"] == "spaced-a0.50-s0"
    per_query, runs = load_results(tmp_path / "results")
    mixing = mixing_systems(runs, "xquad-r", "mlqa-to-xquad")
    assert mixing.others == ("Spaced(0.50)",) and "Spaced(0.50)" in mixing.names
    systems = ["Hybrid(0.50)", "Spaced(0.50)"]
    summary = summarise(per_query, runs, "xquad-r", systems, [("mono", "map")], n_resamples=20)
    assert list(measure_table(summary, systems).columns) == systems


def test_the_files_that_a_new_sampler_needs_are_listed_in_contributing() -> None:
    """The row of CONTRIBUTING.md names this file's way: one spec, registered."""
    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| a sampler |"))
    assert "register_sampler" in row and "sampler_specs.py" in row
