"""How much of a model's embedding says the language (hybridlib.experiment.language_structure):
the share per system, seed and side, against the embeddings computed directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import experiment
from hybridlib.evaluation.suites import EvaluationSettings, load_suite
from hybridlib.metrics.language_bias import language_variance_share
from hybridlib.models import load_encoder


@pytest.mark.slow
def test_each_sides_share_is_that_of_the_models_own_embeddings(real_data_dir: Path):
    root = str(real_data_dir)
    languages = ["de", "en"]
    settings = EvaluationSettings(precision="float32")
    table = experiment.language_variance_shares(
        {"untrained": [(None, "tiny")]}, "xquad-r", settings, languages=languages, root=root
    )
    assert list(table["side"]) == ["queries", "candidates"]
    (suite,) = load_suite("xquad-r", languages=languages, root=root)
    encoder = load_encoder("tiny")
    queries = encoder.encode([q.text for q in suite.queries], "query", show_progress=False)
    candidates = encoder.encode([c.text for c in suite.candidates], "passage", show_progress=False)
    expected = [
        language_variance_share(queries, [q.language for q in suite.queries]),
        language_variance_share(candidates, [c.language for c in suite.candidates]),
    ]
    assert list(table["share"]) == pytest.approx(expected, abs=1e-4)
    assert 0 < expected[0] < 1


def test_a_suite_of_several_pools_is_refused(real_data_dir: Path):
    with pytest.raises(ValueError, match="parts; the share needs one pool"):
        experiment.language_variance_shares(
            {"untrained": [(None, "tiny")]}, "tatoeba", EvaluationSettings(),
            languages=["de", "el"], root=str(real_data_dir),
        )  # fmt: skip


def test_a_study_whose_evaluations_differ_in_settings_is_refused():
    """Like for like: the untrained encoder read 512 tokens, a trained model 128: their
    embeddings are not one comparison, and no model is loaded to find out."""
    import pandas as pd

    common = {"suite": "xquad-r", "precision": "float32", "top_layers": None,
              "candidate_input": "sentence", "query_prefix": None, "passage_prefix": None}  # fmt: skip
    runs = pd.DataFrame([
        {**common, "system": "untrained", "direction": None, "seed": 0, "run": "r/untrained",
         "max_length": 512},
        {**common, "system": "X-X", "direction": "xm3600", "seed": 0, "run": "r/x-x-s0",
         "max_length": 128},
    ])  # fmt: skip
    with pytest.raises(ValueError, match="differ in their settings"):
        experiment.study_variance_shares(runs, "runs", "xm3600", "xquad-r", ["X-X"])
