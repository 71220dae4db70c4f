"""Retrievers declare the settings they support; evaluation honours the declaration."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from hybridlib.data.types import RetrievalSuite
from hybridlib.evaluation import (
    SETTINGS,
    BM25Retriever,
    DenseRetriever,
    EvaluationOptions,
    EvaluationSettings,
    Retriever,
    evaluate,
    evaluate_suite,
    load_retriever,
)
from hybridlib.evaluation.debias import SuiteDebiasing, fit_debiasing
from hybridlib.evaluation.embeddings import CandidateInput
from hybridlib.models import tiny_encoder
from hybridlib.reporting.results import load_results

from .conftest import MatrixScorer


class FixedRetriever(Retriever):
    """A user's retriever: fixed scores, Mono only, no post-processing."""

    name = "Fixed"
    supported_settings = ("mono",)

    def __init__(self, scores: np.ndarray | None = None) -> None:
        self.matrix = scores

    def scorers(
        self,
        suites: Sequence[RetrievalSuite],
        *,
        options: EvaluationOptions,
        candidate_input: CandidateInput,
        postprocess: SuiteDebiasing | None,
    ) -> Iterator[MatrixScorer]:
        for suite in suites:
            scores = self.matrix
            if scores is None:
                scores = np.zeros((len(suite.queries), len(suite.candidates)))
            yield MatrixScorer(scores)

    def fingerprint(self) -> dict[str, Any]:
        return {"model": "fixed"}


def test_load_retriever_by_kind():
    assert isinstance(load_retriever("bm25"), BM25Retriever)
    encoder = tiny_encoder()
    dense = load_retriever(encoder)
    assert isinstance(dense, DenseRetriever) and dense.encoder is encoder
    assert isinstance(load_retriever("tiny"), DenseRetriever)
    fixed = FixedRetriever()
    assert load_retriever(fixed) is fixed


@pytest.mark.parametrize("declared", [(), ("mono", "pooled")])
def test_load_retriever_refuses_unknown_declared_settings(declared):
    fixed = FixedRetriever()
    fixed.supported_settings = declared
    with pytest.raises(
        ValueError, match=f"retriever 'Fixed' .* but declares {re.escape(repr(declared))}"
    ):
        load_retriever(fixed)


def test_declarations():
    bm25 = BM25Retriever()
    assert bm25.supported_settings == ("mono", "cross") and bm25.lexical and not bm25.postprocessing
    dense = DenseRetriever(tiny_encoder())
    assert dense.supported_settings == SETTINGS and dense.postprocessing


def test_bm25_refuses_cross_and_multi_naming_them(two_language_suite):
    with pytest.raises(
        ValueError,
        match="BM25 runs the Mono setting only, but the settings asked for include cross, multi",
    ):
        evaluate_suite("bm25", "xquad-r", suites=[two_language_suite], settings=SETTINGS)
    result = evaluate_suite("bm25", "xquad-r", suites=[two_language_suite])
    assert set(result.results["setting"]) == {"mono"}


def test_bm25_runs_cross_only_where_a_suite_declares_shared_words(two_language_suite):
    """A translated claim keeps the words the translator did not know, so SciFact-MT and
    TICO-19 declare Cross lexical: BM25 then runs it (what shared words alone retrieve)."""
    from hybridlib.evaluation.suites import suite_settings

    bm25, dense = BM25Retriever(), DenseRetriever(tiny_encoder())
    assert suite_settings("xquad-r", bm25) == ("mono",)
    assert suite_settings("scifact-mt", bm25) == ("mono", "cross")  # never Multi
    assert suite_settings("tico19", bm25) == ("cross",)
    assert (
        suite_settings("tico19", dense) == ("cross",)
        and suite_settings("xquad-r", dense) == SETTINGS
    )
    result = evaluate_suite("bm25", "scifact-mt", suites=[two_language_suite], settings=["cross"])
    assert set(result.results["setting"]) == {"cross"}
    with pytest.raises(ValueError, match="BM25 runs the Mono setting only"):
        evaluate_suite("bm25", "multi30k", suites=[two_language_suite], settings=["cross"])


def test_a_postprocessing_is_refused_naming_the_retriever(two_language_suite):
    x = np.eye(2)
    fitted = fit_debiasing("centering", x, ["en", "de"], x, ["en", "de"])
    for model, name in (("bm25", "BM25"), (FixedRetriever(), "Fixed")):
        with pytest.raises(ValueError, match=f"does not apply to {name}$"):
            evaluate_suite(model, "xquad-r", suites=[two_language_suite], postprocess=fitted)


def test_dense_runs_every_setting_of_the_suite(two_language_suite, tmp_path):
    result = evaluate_suite(
        DenseRetriever(tiny_encoder()), "xquad-r", suites=[two_language_suite],
        options=EvaluationOptions(cache=tmp_path),
    )  # fmt: skip
    assert set(result.results["setting"]) == set(SETTINGS)


def test_a_users_retriever_runs_only_its_settings(two_language_suite, two_language_scores):
    result = evaluate_suite(
        FixedRetriever(two_language_scores), "xquad-r", suites=[two_language_suite]
    )
    assert set(result.results["setting"]) == {"mono"}
    cells = result.results[result.results["query_language"] != "all"]
    assert set(zip(cells["query_language"], cells["candidate_language"])) == {
        ("en", "en"),
        ("de", "de"),
    }
    with pytest.raises(ValueError, match="Fixed runs the Mono setting only, and suite 'tatoeba'"):
        evaluate_suite(FixedRetriever(), "tatoeba", suites=[two_language_suite])


def test_two_declared_settings_are_named_in_the_refusal(two_language_suite):
    class MonoCross(FixedRetriever):
        supported_settings = ("mono", "cross")

    with pytest.raises(
        ValueError, match="Fixed runs the Mono and Cross settings only, but .*multi"
    ):
        evaluate_suite(MonoCross(), "xquad-r", suites=[two_language_suite], settings=("multi",))


def test_a_users_retriever_through_evaluate_and_evaluate_run(real_data_dir, tmp_path, monkeypatch):
    from hybridlib import experiment

    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(real_data_dir))
    options = EvaluationOptions(languages=["de"])
    evaluate(FixedRetriever(), ["xquad-r"], tmp_path / "out", options=options, log=None)
    assert not (tmp_path / "out" / "matrix-xquad-r-map.csv").exists()  # no Cross: no matrix
    parameters = json.loads((tmp_path / "out" / "provenance.json").read_text())["parameters"]
    assert parameters["model"] == "fixed" and parameters["model_fingerprint"] == {"model": "fixed"}
    assert parameters["evaluation_settings"] == {"candidate_input": "sentence", "model": "fixed"}
    assert parameters["bm25"] is None and parameters["hidden_state_cache"] is None
    common = dict(settings=EvaluationSettings(), suite_languages={"xquad-r": ["de"]})
    with pytest.raises(ValueError, match="run.json: system = <missing> is required"):
        experiment.evaluate_run(FixedRetriever(), ["xquad-r"], str(tmp_path / "bad"),
                                record={"run_name": "x"}, **common)  # fmt: skip
    assert not (tmp_path / "bad").exists()  # refused before evaluating anything
    run = experiment.evaluate_run(
        FixedRetriever(), ["tatoeba", "xquad-r"], str(tmp_path / "run"),
        record={"run_name": "x", "system": "fixed", "seed": 0}, **common,
    )  # fmt: skip
    assert run["suites"] == ["xquad-r"]  # tatoeba has no Mono: skipped, not refused
    _, runs = load_results(tmp_path / "run")  # a user's run is one reporting reads
    assert runs[["system", "seed", "suite", "sampler"]].values.tolist() == [
        ["fixed", 0, "xquad-r", None]
    ]
    assert not (tmp_path / "run" / "tatoeba").exists()
