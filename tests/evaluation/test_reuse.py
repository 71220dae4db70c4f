"""Finished results are reused only for the very model and settings that produced them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

import hybridlib.evaluation
from hybridlib import experiment
from hybridlib.evaluation import EvaluationSettings
from hybridlib.evaluation.reuse import identity_differences
from hybridlib.models import load_encoder, save_encoder

RECORD = {"run_name": "tiny-s0", "system": "tiny", "seed": 0}
GERMAN = {"tatoeba": ["de"]}


def _results(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "tatoeba" / "results.csv")


def test_a_rerun_with_other_weights_or_settings_never_reports_the_old_results(
    real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(real_data_dir))
    evaluations: list[str] = []
    plain_evaluate = hybridlib.evaluation.evaluate

    def counted(model, suites, output_dir, **kwargs):
        evaluations.append(Path(output_dir).name)
        return plain_evaluate(model, suites, output_dir, **kwargs)

    monkeypatch.setattr(hybridlib.evaluation, "evaluate", counted)
    messages: list[str] = []
    model = save_encoder(load_encoder("tiny", max_length=16), tmp_path / "model")
    out = tmp_path / "run"

    def run(settings: EvaluationSettings, folder: Path = out) -> dict:
        return experiment.evaluate_run(
            str(model), ["tatoeba"], str(folder), record=RECORD, settings=settings,
            suite_languages=GERMAN, log=messages.append,
        )  # fmt: skip

    short = EvaluationSettings(max_length=16)
    run(short)
    first = _results(out)
    run(short)  # the same model and settings: reused, nothing evaluated
    assert evaluations == ["tatoeba"] and messages == []

    # the same folder now holds another model (a rerun that trained other weights)
    other = load_encoder(str(model))
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    save_encoder(other, tmp_path / "other")
    shutil.rmtree(model)
    shutil.copytree(tmp_path / "other", model)
    run(short)
    assert len(evaluations) == 2
    assert (
        "model_fingerprint.weights_sha256" in messages[-1] and str(out / "tatoeba") in messages[-1]
    )
    second = _results(out)
    assert not second["value"].equals(first["value"])
    run(short, tmp_path / "fresh")  # the new model evaluated from nothing gives the same
    pd.testing.assert_frame_equal(second, _results(tmp_path / "fresh"))

    # another evaluation setting for the same weights
    run(EvaluationSettings(max_length=8))
    assert "evaluation_settings.max_length" in messages[-1]
    provenance = json.loads((out / "tatoeba" / "provenance.json").read_text())
    assert provenance["parameters"]["evaluation_settings"]["max_length"] == 8
    run_record = json.loads((out / "run.json").read_text())
    assert run_record["evaluation"]["tatoeba"]["max_length"] == 8

    # another loader (a suite that now reads other texts): evaluated again
    monkeypatch.setattr("hybridlib.evaluation.reuse.loader_code_sha256", lambda: "another loader")
    run(EvaluationSettings(max_length=8))
    assert len(evaluations) == 5 and "suite_code" in messages[-1]


def test_identity_differences_name_what_differs(tmp_path: Path) -> None:
    file = tmp_path / "provenance.json"
    assert identity_differences(file, {"a": 1}) is None  # nothing finished
    file.write_text(json.dumps({"parameters": {"a": 1, "fp": {"w": "x", "n": "m"}, "b": [1]}}))
    assert identity_differences(file, {"a": 1, "fp": {"w": "x", "n": "m"}, "b": [1]}) == []
    assert identity_differences(file, {"a": 2, "fp": {"w": "y", "n": "m"}, "b": [1]}) == [
        "a",
        "fp.w",
    ]
    assert identity_differences(file, {"c": None}) == []  # an absent entry reads as None
    file.write_text("{not json")
    assert identity_differences(file, {"a": 1}) == ["provenance.json (unreadable)"]


def test_a_failed_write_leaves_no_results_without_their_provenance(
    real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing the provenance (written last) left a lone results.csv, and a
    rerun over a complete folder could leave new results beside the old provenance."""
    import errno

    import hybridlib.evaluation.suites as suites_module
    from hybridlib.evaluation import EvaluationOptions, evaluate

    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(real_data_dir))
    options = EvaluationOptions(languages=["de"])
    out = tmp_path / "out"
    evaluate("tiny", ["tatoeba"], out, options=options, log=None)  # a complete evaluation
    assert (out / "provenance.json").is_file()

    def full_disk(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(suites_module, "atomic_write_json", full_disk)
    with pytest.raises(OSError, match="No space left"):
        evaluate("tiny", ["tatoeba"], out, options=options, settings=EvaluationSettings(max_length=8),
                 log=None)  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == []  # neither the old nor a half of the new
