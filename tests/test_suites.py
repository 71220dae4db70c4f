"""The suite registry (hybridlib.suites): the built-in entries, the checks of an entry, and a
suite added in this file alone that evaluation, the commands, the profiles, the plan and the
book's tables take without another edit."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib.data.types import Candidate, Query, RetrievalSuite
from hybridlib.metrics.measures import parse_measure
from hybridlib.suites import (
    SETTINGS,
    SUITES,
    SuiteSpec,
    headline_measures,
    optional_suites,
    register_suite,
    suite_label,
    suite_present,
    suite_spec,
    unregister_suite,
)

TOPICS = {  # two questions, each with one answer sentence, in four languages
    "en": [("where does the cat sleep", "the cat sleeps on the mat"),
           ("what colour is the sky", "the sky is blue today")],
    "de": [("wo schläft die katze", "die katze schläft auf der matte"),
           ("welche farbe hat der himmel", "der himmel ist heute blau")],
    "fr": [("où dort le chat", "le chat dort sur le tapis"),
           ("de quelle couleur est le ciel", "le ciel est bleu aujourd'hui")],
    "es": [("dónde duerme el gato", "el gato duerme en la alfombra"),
           ("de qué color es el cielo", "el cielo es azul hoy")],
}  # fmt: skip
PAIRS = {"de": "en", "fr": "es"}  # the toy suite's parts: a language and its partner


def toy_pair(language: str) -> RetrievalSuite:
    """``language`` and its partner, two parallel questions; a question's answer sentence in
    both languages is relevant (LAReQA's shape, in one pool)."""
    languages = (language, PAIRS[language])
    queries, candidates, qrels = [], [], {}
    for i in range(2):
        for lang in languages:
            question, answer = TOPICS[lang][i]
            queries.append(Query(f"toy/{lang}/q{i}", lang, question, parallel_key=f"q{i}"))
            candidates.append(Candidate(f"toy/{lang}/c{i}", lang, answer))
            qrels[f"toy/{lang}/q{i}"] = {f"toy/{other}/c{i}": 1 for other in languages}
    return RetrievalSuite(f"toy/{language}", queries, candidates, qrels)


def load_toy(languages, root, path=None) -> list[RetrievalSuite]:
    """One suite per part (``de``: de and en, ``fr``: fr and es), as a per-language suite."""
    return [toy_pair(lang) for lang in (languages or list(PAIRS))]


TOY = SuiteSpec(
    "toy", "Toy", load_toy, ("mono", "cross"), ("map", "recall@1"),
    headline=("cross", "map"), per_language=True, folders=("toy",),
)  # fmt: skip


@pytest.fixture
def toy() -> Iterator[SuiteSpec]:
    """The toy suite, registered for one test."""
    register_suite(TOY)
    yield TOY
    unregister_suite("toy")


def test_the_built_in_suites_are_well_formed() -> None:
    assert list(SUITES) == ["xquad-r", "mlqa-r", "multi30k", "xm3600", "tatoeba", "tydiqa",
                            "scifact", "scifact-mt", "scifact-mt-en", "tico19", "miracl"]  # fmt: skip
    for name, spec in SUITES.items():
        assert spec.name == name and set(spec.settings) <= set(SETTINGS)
        for measure in (*spec.measures, *spec.multi_measures):
            parse_measure(measure)
    # what the domain-shift and mixing chapters test, in their order
    assert headline_measures() == {
        "multi30k": ("cross", "map"), "xm3600": ("cross", "map"),
        "tatoeba": ("cross", "recall@1"), "tydiqa": ("mono", "map"),
        "scifact": ("mono", "ndcg@10"), "scifact-mt": ("cross", "ndcg@10"),
        "scifact-mt-en": ("cross", "ndcg@10"), "tico19": ("cross", "map"), "miracl": ("mono", "ndcg@10"),
    }  # fmt: skip
    assert [n for n, s in SUITES.items() if s.per_language] == ["tatoeba", "miracl"]
    assert [n for n, s in SUITES.items() if s.drop_training_articles] == ["miracl"]
    assert optional_suites() == ("miracl",)
    assert suite_label("tydiqa") == "TyDi QA" and suite_label("unknown") == "unknown"


def test_the_registry_imports_neither_torch_nor_transformers() -> None:
    """And nor do the experiment, the runner and reporting, which read it."""
    code = (
        "import sys, hybridlib.suites, hybridlib.experiment, hybridlib.runner, "
        "hybridlib.reporting; print(sorted(m for m in ('torch', 'transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_suite_is_named_with_the_closest() -> None:
    with pytest.raises(ValueError, match=r"unknown suite 'tatoba' \(did you mean 'tatoeba'\?\)"):
        suite_spec("tatoba")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"settings": ("mono", "dual")}, r"suite 'toy': settings must be some of"),
        ({"measures": ()}, "suite 'toy': measures must name at least one measure"),
        ({"headline": ("multi", "map")}, "the headline's setting 'multi' is not one of its"),
        ({"headline": ("cross", "ndcg@10")}, "the headline's measure 'ndcg@10' is not one of"),
        ({"per_language": False, "aggregate": lambda r, t: r}, "applies to a per-language suite"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_naming_the_suite_and_field(fields, message) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TOY, **fields)


def test_registering_checks_measures_and_names(toy: SuiteSpec) -> None:
    with pytest.raises(ValueError, match="suite 'toy' is registered already"):
        register_suite(toy)
    with pytest.raises(ValueError, match="unknown measure 'mpa'"):
        register_suite(dataclasses.replace(toy, name="toy2", measures=("map", "mpa")))
    assert "toy2" not in SUITES


def test_a_suite_is_present_where_its_folders_are(
    toy: SuiteSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "toy" in optional_suites()  # no file of it is pinned
    assert not suite_present("toy", tmp_path / "nowhere")
    (tmp_path / "toy").mkdir()
    assert suite_present("toy", tmp_path)
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(tmp_path))
    assert suite_present("toy")


def test_a_per_language_suites_aggregate_is_its_entrys_hook(toy: SuiteSpec, tmp_path) -> None:
    from hybridlib.evaluation import EvaluationOptions, evaluate_suite

    seen = []

    def only_cells(results: pd.DataFrame, training_languages) -> pd.DataFrame:
        seen.append(training_languages)
        return results

    register_suite(dataclasses.replace(toy, aggregate=only_cells), replace=True)
    options = EvaluationOptions(training_languages=["de"], cache=tmp_path)
    result = evaluate_suite("bm25", "toy", options=options)
    assert seen == [("de",)] and "all" not in set(result.results["query_language"])


def test_a_suite_added_in_one_file_runs_through_everything(
    toy: SuiteSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered above and nowhere else: evaluated (dense and BM25), read by the ``data``
    and ``evaluate`` commands, chosen by a profile where its folder is, planned, run as an
    experiment's run and shown in a results table under its label."""
    from hybridlib import experiment, reporting
    from hybridlib.data.commands import register as register_data
    from hybridlib.evaluation import EvaluationOptions, EvaluationSettings, evaluate
    from hybridlib.evaluation.commands import register as register_evaluate
    from hybridlib.models import tiny_encoder
    from hybridlib.runner import load_profile, plan_profile

    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HYBRIDLIB_CACHE_DIR", str(tmp_path / "cache"))
    options = EvaluationOptions(cache=tmp_path / "cache")

    # evaluation: its settings, measures, one pool per language and their macro average
    dense = evaluate(tiny_encoder(), ["toy"], tmp_path / "dense", options=options, log=None)
    rows = dense.results
    assert set(rows["suite"]) == {"toy"} and set(rows["setting"]) == {"mono", "cross"}
    assert set(rows["metric"]) == {"map", "recall@1"}
    cells = rows[rows["query_language"] != "all"]
    expected = {(x, y) for pair in PAIRS.items() for x in pair for y in pair}  # per part
    assert set(zip(cells["query_language"], cells["candidate_language"])) == expected
    assert len(cells) == len(expected) * 2  # each cell once per measure
    averages = rows[rows["query_language"] == "all"].set_index(["setting", "metric"])["value"]
    for (setting, metric), value in averages.items():
        part = cells[(cells["setting"] == setting) & (cells["metric"] == metric)]
        assert value == pytest.approx(part["value"].mean())
    assert (tmp_path / "dense" / "matrix-toy-map.csv").is_file()  # a Cross setting: a matrix
    bm25 = evaluate("bm25", ["toy"], tmp_path / "bm25", options=options, log=None)
    assert set(bm25.results["setting"]) == {"mono"}  # BM25 runs its Mono setting only

    # the commands list it
    parser = argparse.ArgumentParser(prog="hybridlib")
    commands = parser.add_subparsers(dest="command", required=True)
    register_data(commands)
    register_evaluate(commands)
    args = parser.parse_args(["data", "stats", "toy", "--output", str(tmp_path / "stats.csv")])
    assert args.func(args) == 0
    stats = pd.read_csv(tmp_path / "stats.csv")
    assert sorted(stats["language"]) == ["de", "en", "es", "fr"]
    args = parser.parse_args(["evaluate", "--model", "bm25", "--suite", "toy", "--output", "x"])
    assert args.suites == ["toy"]

    # a profile chooses it where its data folder holds it; the plan evaluates it
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n"
        "    experiment: {baselines: [bm25], domain_shift_suites_if_present: [toy],\n"
        "                 directions: [xquad-to-mlqa, mlqa-to-xquad]}\n"
    )
    assert load_profile(profiles, "p").experiment.domain_shift_suites == ()
    (tmp_path / "data" / "toy").mkdir(parents=True)
    profile = load_profile(profiles, "p")
    assert profile.experiment.domain_shift_suites == ("toy",)
    executions = {e.name: e for e in plan_profile(profile)}
    assert executions["runs/evaluate/bm25"].parameters["suites"] == ["xquad-r", "mlqa-r", "toy"]
    main = executions["runs/xquad-to-mlqa/hybrid-a0.50"].parameters
    assert main["suites"] == ["mlqa-r"] and main["extra_suites"] == ["toy"]

    # a run of the experiment, read back by reporting, in a table under the suite's label
    experiment.evaluate_run(
        tiny_encoder(), ["toy"], str(tmp_path / "results" / "tiny-s0"),
        record={"run_name": "tiny-s0", "system": "tiny", "seed": 0},
        settings=EvaluationSettings(),
    )  # fmt: skip
    per_query, runs = reporting.load_results(tmp_path / "results")
    headline = reporting.headline_measures()["toy"]
    summary = reporting.summarise(per_query, runs, "toy", ["tiny"], [headline], n_resamples=20)
    table = reporting.measure_table(summary, ["tiny"])
    assert table.index.tolist() == [("Toy", "Cross mAP")]
    assert summary["mean"].iloc[0] == pytest.approx(averages[("cross", "map")])


def test_the_question_s_suites_load_from_the_data_folder(real_data_dir) -> None:
    """XM3600's test images (the protocol's split) in the LAReQA protocol; SciFact's claims
    in every language against one en/es/ca pool; TICO-19 with Cross cells x -> en only."""
    from hybridlib.evaluation.lareqa import evaluate_settings
    from hybridlib.protocol import xm3600_images

    (xm,) = suite_spec("xm3600").load(["en", "de"], real_data_dir)
    test = set(xm3600_images("test", root=str(real_data_dir)))
    assert len(test) == 720 and {q.parallel_key.split("/")[1] for q in xm.queries} == test
    assert not test & set(xm3600_images("train", root=str(real_data_dir)))
    assert suite_spec("xm3600").settings == ("mono", "cross", "multi")

    (sci,) = suite_spec("scifact-mt").load(None, real_data_dir)
    assert len(sci.queries) == 8 * 300 and {c.language for c in sci.candidates} == {
        "en",
        "es",
        "ca",
    }
    assert len(sci.candidates) == 3 * 5183

    (tico,) = suite_spec("tico19").load(["fr", "hi", "en"], real_data_dir)
    # only what its x -> en cells read: the queries of fr and hi, the English candidates
    assert {q.language for q in tico.queries} == {"fr", "hi"}
    assert {c.language for c in tico.candidates} == {"en"}
    scores = np.zeros((len(tico.queries), len(tico.candidates)))

    class Zero:
        def scores(self, rows, cols):
            return scores[np.ix_(rows, cols)]

    cells = evaluate_settings(tico, Zero(), settings=("cross",), measures=("map",),
                              aggregate=False, cross_pivot="en").results  # fmt: skip
    assert sorted(zip(cells["query_language"], cells["candidate_language"])) == [
        ("fr", "en"), ("hi", "en"),
    ]  # fmt: skip


@pytest.mark.slow
def test_scifact_against_its_english_abstracts_is_the_pools_english_part(real_data_dir) -> None:
    """``scifact-mt-en``: every claim language against BEIR's English corpus only; its
    claims, candidates and judgements are the three-language pool's English part."""
    (en,) = suite_spec("scifact-mt-en").load(["en", "es", "eo"], real_data_dir)
    (pool,) = suite_spec("scifact-mt").load(["en", "es", "eo"], real_data_dir)
    assert {c.language for c in en.candidates} == {"en"} and len(en.candidates) == 5183
    assert [q.id for q in en.queries] == [q.id for q in pool.queries]
    english = {c.id for c in pool.candidates if c.language == "en"}
    assert {c.id for c in en.candidates} == english
    for query in en.queries[:50]:
        assert en.qrels[query.id] == {d: g for d, g in pool.qrels[query.id].items() if d in english}
    assert suite_spec("scifact-mt-en").settings == ("mono", "cross")


@pytest.mark.slow
def test_xm3600_validation_units_are_only_validation_images(real_data_dir) -> None:
    """The learning curve's held-out XM3600 units: pairs and captions of validation images;
    a training or test image is refused by name, never scored as held out."""
    from hybridlib.protocol import xm3600_units

    root = str(real_data_dir)
    held = xm3600_units("validation", root, 30)
    pairs, suite = suite_spec("xm3600").held_out(["en", "de"], held, root)
    assert {p.article for p in pairs} <= set(held)
    assert {q.parallel_key for q in suite.queries} == set(held)
    assert {q.language for q in suite.queries} == {"en", "de"}
    trained = xm3600_units("train", root, 1)
    with pytest.raises(
        ValueError, match="not validation images.*" + trained[0].removeprefix("xm3600/")
    ):
        suite_spec("xm3600").held_out(["en"], [*held, *trained], root)
    assert suite_spec("xquad-r").held_out is not None and suite_spec("tico19").held_out is None
