"""The benchmark plumbing on tiny inputs: the compared outputs agree, the table's shape, FLOPs.

No timing is asserted anywhere here; the benchmarks report timings as ratios.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks import common, encoding, evaluation, search, topk, training
from benchmarks.run import run_all
from hybridlib.data.types import Candidate, Query, RetrievalSuite

SENTENCES = [
    "The cat sat on the mat.",
    "Die Katze saß auf der Matte.",
    "猫はマットの上に座った。",
    "Short.",
    "A somewhat longer sentence, so that the batch needs padding to the longest one.",
]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return training.model_folder("tiny", tmp_path_factory.mktemp("model"))


def small_suite(n_items: int = 12, languages=("de", "en", "zh")) -> RetrievalSuite:
    """A parallel suite: item i exists in every language; query i is relevant to candidate i
    of every language (as XQuAD-R)."""
    queries, candidates, qrels = [], [], {}
    for lang in languages:
        for i in range(n_items):
            queries.append(Query(f"s/{lang}/q{i}", lang, f"question {i}", parallel_key=f"q{i}"))
            candidates.append(Candidate(f"s/{lang}/c{i}", lang, f"answer {i}"))
    for q in queries:
        i = q.parallel_key[1:]
        qrels[q.id] = {f"s/{lang}/c{i}": 1 for lang in languages}
    return RetrievalSuite("small", queries, candidates, qrels)


# ----------------------------------------------------------------------------- FLOPs
def test_a_training_step_is_counted_as_the_estimate_counts_it():
    """3 forward passes of the real tokens through every layer, by hand: per layer and text
    of t tokens 2 (4 h^2 + 2 h i) t + 4 h t^2 (h 32, i 64: 16,384 t + 128 t^2)."""
    from transformers import BertConfig

    config = BertConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2)
    per_layer = 16_384 * (5 + 4) + 128 * (25 + 16)
    assert training.step_flops(config, [5, 4]) == 3 * 2 * per_layer


# ----------------------------------------------------------------------------- training
def test_training_steps_do_the_same_work_on_the_same_weights(tiny_folder):
    """Without dropout, one step of ours and of the peer give the same loss and weights."""
    batch = {
        "queries": SENTENCES[:4],
        "passages": SENTENCES[1:5],
        "parallel_keys": ["a", "b", "c", "d"],  # distinct: no false negative to mask
    }
    ours = training.HybridlibStep(str(tiny_folder), frozen=False)
    peer = training.SentenceTransformersStep(tiny_folder, frozen=False, prefixes=("", ""))
    for module in (ours.encoder.transformer, peer.model[0].auto_model):
        for sub in module.modules():  # dropout off in both
            if isinstance(sub, torch.nn.Dropout):
                sub.p = 0.0
    # the peer has no schedule (the trainer's warm-up starts at lr 0): compare plain AdamW steps
    ours.training.scheduler = _NoSchedule()
    for group in ours.training.optimizer.param_groups:
        group["lr"] = ours.config.lr
    assert ours(batch) == pytest.approx(peer(batch), abs=1e-5)
    ours_weights = dict(ours.encoder.transformer.named_parameters())
    peer_weights = dict(peer.model[0].auto_model.named_parameters())
    assert set(ours_weights) == set(peer_weights)
    for name, value in ours_weights.items():
        torch.testing.assert_close(value, peer_weights[name], rtol=1e-5, atol=1e-6, msg=name)


class _NoSchedule:
    def step(self) -> None:
        pass


def test_frozen_step_leaves_the_word_embeddings_alone(tiny_folder):
    batch = {"queries": SENTENCES[:3], "passages": SENTENCES[2:5], "parallel_keys": ["a", "b", "c"]}
    for step in (
        training.HybridlibStep(str(tiny_folder), frozen=True),
        training.SentenceTransformersStep(tiny_folder, frozen=True, prefixes=("", "")),
    ):
        module = step.encoder.transformer if hasattr(step, "encoder") else step.model[0].auto_model
        before = module.get_input_embeddings().weight.detach().clone()
        step(batch)
        assert torch.equal(before, module.get_input_embeddings().weight)
        params = step.training.params if hasattr(step, "training") else step.params
        assert all(p is not module.get_input_embeddings().weight for p in params)


# ----------------------------------------------------------------------------- encoding
def test_our_encode_equals_sentence_transformers_encode_on_tiny(tiny_folder):
    ours, peer, prefix = encoding.encoders(str(tiny_folder))
    calls = encoding.encode_both(ours, peer, prefix, SENTENCES, batch_size=2)
    a, b = calls["hybridlib"](), calls["sentence-transformers"]()
    assert a.shape == b.shape == (len(SENTENCES), ours.dim)
    assert encoding.min_cosine(a, b) >= encoding.MIN_COSINE
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_min_cosine_detects_a_different_row():
    a = np.eye(3, dtype=np.float32)
    b = a.copy()
    b[1] = [0.0, 0.0, 1.0]
    assert encoding.min_cosine(a, a) == pytest.approx(1.0)
    assert encoding.min_cosine(a, b) == pytest.approx(0.0)


# ----------------------------------------------------------------------------- evaluation
def test_our_evaluation_equals_the_sklearn_loop_on_every_unit():
    suite = small_suite()
    queries = evaluation.random_embeddings(len(suite.queries), dim=16, seed=0)
    candidates = evaluation.random_embeddings(len(suite.candidates), dim=16, seed=1)
    result = evaluation.hybridlib_evaluation(suite, queries, candidates)
    units = evaluation.evaluation_units(suite)
    # 36 queries: each is relevant in every one of the 3 languages (mono 1, cross 2) + multi
    assert units["setting"].value_counts().to_dict() == {"cross": 72, "mono": 36, "multi": 36}
    loop = evaluation.SklearnReference(suite, queries, candidates)
    reference = loop.evaluate(units)
    assert len(reference) == 3 * len(units)
    ties = evaluation.near_ties(suite, queries, candidates, units, loop.pools)
    near_tie = units.assign(
        query_id=[suite.queries[r].id for r in units["query_row"]], near_tie=ties
    )[["setting", "query_id", "candidate_language", "near_tie"]]
    check = evaluation.compare_with_ours(result.per_query, reference, near_tie)
    assert check["max_abs_difference"] < 1e-12  # float64 sums in another order; no rank differs
    assert check["units_differing"] == 0
    # a wrong reference value is caught unless its unit has a near tie
    reference.loc[0, "value"] += 0.25
    check = evaluation.compare_with_ours(result.per_query, reference, near_tie)
    assert check["units_differing"] == 1
    unit = reference.loc[0, ["setting", "query_id", "candidate_language"]].tolist()
    flagged = near_tie.set_index(["setting", "query_id", "candidate_language"]).loc[
        tuple(unit), "near_tie"
    ]
    assert check["max_abs_difference"] == (0.0 if flagged else pytest.approx(0.25))
    near_tie["near_tie"] = False
    check = evaluation.compare_with_ours(result.per_query, reference, near_tie)
    assert check["max_abs_difference"] == pytest.approx(0.25)
    assert check["units_differing_with_near_tie"] == 0


def test_near_ties_flag_a_relevant_candidate_within_float32_error():
    suite = small_suite()
    queries = evaluation.random_embeddings(len(suite.queries), dim=16, seed=0)
    candidates = evaluation.random_embeddings(len(suite.candidates), dim=16, seed=1)
    units = evaluation.evaluation_units(suite)
    loop = evaluation.SklearnReference(suite, queries, candidates)
    assert not evaluation.near_ties(suite, queries, candidates, units, loop.pools).any()
    # copy a relevant candidate of the first unit's query onto another candidate of its pool
    setting, row, language = units.iloc[0]
    relevant = next(c for c, g in suite.qrels[suite.queries[row].id].items() if g > 0)
    j = next(i for i, c in enumerate(suite.candidates) if c.id == relevant)
    other = next(k for k in loop.pools[language] if k != j)
    tied = candidates.copy()
    tied[other] = tied[j] * (1 + 2.0**-23)  # one float32 ulp away: within the bound
    flags = evaluation.near_ties(suite, queries, tied, units.iloc[:1], loop.pools)
    assert flags.tolist() == [True]


def test_random_embeddings_are_normalised_and_seeded():
    x = evaluation.random_embeddings(5, dim=8, seed=3)
    assert x.dtype == np.float32 and x.shape == (5, 8)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(x, evaluation.random_embeddings(5, dim=8, seed=3))


# ----------------------------------------------------------------------------- search
def test_search_paths_return_the_same_top_k():
    queries = evaluation.random_embeddings(7, dim=16, seed=0)
    candidates = evaluation.random_embeddings(300, dim=16, seed=1)
    scores = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    expected = np.argsort(-scores, axis=1)[:, :10]
    for fn in (search.hybridlib_top_k, search.torch_top_k, search.faiss_top_k):
        found = np.asarray(fn(queries, candidates, 10)[1])
        assert (
            search.same_top_k(queries, candidates, found, expected) >= 6
        )  # rounding swaps at most


def test_same_top_k_rejects_a_wrong_list():
    queries = evaluation.random_embeddings(3, dim=16, seed=0)
    candidates = evaluation.random_embeddings(50, dim=16, seed=1)
    best = np.argsort(-(queries @ candidates.T), axis=1)[:, :5]
    worst = np.argsort(queries @ candidates.T, axis=1)[:, :5]
    assert search.same_top_k(queries, candidates, best, best) == 3
    with pytest.raises(AssertionError, match="disagree"):
        search.same_top_k(queries, candidates, best, worst)


# ----------------------------------------------------------------------------- table
def test_ratio_is_oriented_so_that_above_one_means_ours_is_better():
    assert common.oriented_ratio("seconds", 2.0, 6.0) == 3.0  # ours takes a third of the time
    assert common.oriented_ratio("pairs_per_s", 6.0, 2.0) == 3.0  # ours is 3 times faster
    assert common.oriented_ratio("peak_rss_gib", 4.0, 2.0) == 0.5  # ours uses twice the memory


def test_comparison_rows_carry_paired_ratios_and_spread():
    rows = common.Comparison(
        "b", "ours", "peer", "seconds", [1.0, 2.0, 4.0], [3.0, 4.0, 4.0]
    ).rows()
    frame = common.table(rows)
    assert list(frame.columns) == common.TABLE_COLUMNS
    ours, peer, ratio = frame.to_dict(orient="records")
    assert (ours["value"], ours["reference"], ours["ratio"]) == (2.0, 4.0, 2.0)
    assert (ours["min"], ours["median"], ours["max"], ours["repeats"]) == (1.0, 2.0, 4.0, 3)
    assert peer["variant"] == "peer" and math.isnan(peer["ratio"])
    # per-repeat ratios 3, 2, 1
    assert ratio["metric"] == "ratio_seconds"
    assert (ratio["min"], ratio["median"], ratio["max"]) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="same number"):
        common.Comparison("b", "ours", "peer", "seconds", [1.0], [1.0, 2.0]).rows()


def test_run_all_writes_one_json_per_benchmark_and_a_tidy_table(tmp_path, tiny_folder):
    batches = [
        {"queries": SENTENCES[:4], "passages": SENTENCES[1:5], "parallel_keys": list("abcd")}
    ] * 2
    options = {
        "search": {"pool_sizes": (50, 200), "n_queries": 9, "k": 10, "repeats": 2},
        "evaluation": {"suite": small_suite(), "repeats": 2, "per_setting": 5},
        "encoding": {"model": str(tiny_folder), "texts": SENTENCES, "repeats": 2},
        "training": {"model": str(tiny_folder), "batches": batches, "repeats": 1, "memory": False,
                     "peak_matmul_size": 64},
        "topk": {"model": str(tiny_folder), "top_layers": 1, "precision": "float32", "batches": batches,
                 "texts": SENTENCES, "repeats": 1, "memory": False},
    }  # fmt: skip
    frame = run_all(True, tmp_path, options=options, log=lambda message: None)
    assert list(frame.columns) == common.TABLE_COLUMNS
    assert set(frame["benchmark"]) == {"search", "evaluation", "encoding", "training_step", "topk"}
    assert not frame.duplicated().any()
    assert frame["repeats"].dtype == np.int64 and (frame["repeats"] >= 1).all()
    assert (frame["min"] <= frame["median"]).all() and (frame["median"] <= frame["max"]).all()
    ratios = frame[frame["metric"].str.startswith("ratio_")]
    assert len(ratios) > 0 and (ratios["ratio"] > 0).all()
    assert frame.loc[frame["metric"] == "max_abs_difference", "value"].iloc[0] < 1e-12
    assert frame.loc[frame["metric"] == "min_cosine", "value"].iloc[0] >= encoding.MIN_COSINE
    cosine = frame[(frame["benchmark"] == "topk") & (frame["metric"] == "min_cosine")]
    assert cosine["value"].iloc[0] >= topk.MIN_COSINE  # the cached path encodes as the whole model
    assert {f"{topk.TOP} vs {topk.WHOLE}", "cache fill vs encode, whole model"} <= set(
        frame["variant"]
    )
    for name in ("search", "evaluation", "encoding", "training", "topk"):
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert record["benchmark"] == name
        assert {"code_version", "packages", "parameters"} <= set(record["provenance"])
        assert record["machine"]["threads"] == common.NUM_THREADS
        assert sorted(pd.DataFrame(record["rows"]).columns) == sorted(common.TABLE_COLUMNS)
    assert pd.read_csv(tmp_path / "table.csv").shape == frame.shape
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind


def test_run_all_rejects_an_unknown_benchmark(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark"):
        run_all(True, tmp_path, only=["nope"])


def test_peak_memory_probe_runs_in_a_fresh_process(tiny_folder):
    batch = {"queries": SENTENCES[:3], "passages": SENTENCES[2:5], "parallel_keys": ["a", "b", "c"]}
    memory = training.peak_memory("hybridlib", tiny_folder, False, ("", ""), [batch])
    assert set(memory) == {"rss_built", "peak_rss"}
    assert 0 < memory["rss_built"] <= memory["peak_rss"]


def test_headline_keeps_the_goal_rows_and_judges_them():
    from benchmarks.run import headline

    rows = [
        common.row("encoding", "hybridlib Encoder.encode vs sentence-transformers encode",
                   "ratio_sentences_per_s", [1.4, 1.6, 1.7]),
        common.row("evaluation", "hybridlib evaluate_settings (full)", "seconds", [11.0, 12.0]),
        common.row("evaluation", "hybridlib evaluate_settings (full) vs sklearn per-query loop (extrapolated)",
                   "ratio_seconds", [120.0, 130.0]),
        common.row("search", "a vs b", "ratio_seconds", [0.5]),
        common.row("search", "a", "seconds", [0.5]),
    ]  # fmt: skip
    frame = headline(common.table(rows))
    assert frame[["benchmark", "ours", "reference", "goal", "met"]].values.tolist() == [
        ["encoding", "hybridlib Encoder.encode", "sentence-transformers encode", ">= 1.5", "yes"],
        [
            "evaluation",
            "hybridlib evaluate_settings (full)",
            "sklearn per-query loop (extrapolated)",
            ">= 50",
            "yes",
        ],
        ["evaluation", "hybridlib evaluate_settings (full)", "", "<= 10", "no"],
        ["search", "a", "b", "", ""],
    ]
    assert frame["median"].tolist() == [
        1.6,
        125.0,
        11.5,
        0.5,
    ]  # a ratio of seconds: above 1 is better


def test_a_benchmark_run_on_a_busy_machine_is_not_judged_and_the_headline_says_so():
    from benchmarks.run import busy_benchmarks, headline, load_note

    def record(name, load):
        return {
            "benchmark": name,
            "machine": {"load_average_before": [load, 0.0, 0.0], "cpu_count": 2},
        }

    records = [record("encoding", 4.5), record("evaluation", 1.2)]
    assert busy_benchmarks(records) == ["encoding"]
    note = load_note(records)
    assert note.startswith("The machine was busy while 1 of 2 benchmarks ran (encoding: ")
    assert "up to 4.5 on 2 cores" in note and "not comparable" in note
    assert load_note([record("evaluation", 1.2)]).startswith("The machine was quiet")
    rows = [
        common.row("encoding", "hybridlib Encoder.encode vs sentence-transformers encode",
                   "ratio_sentences_per_s", [1.0, 1.1]),
        common.row("evaluation", "hybridlib evaluate_settings (full)", "seconds", [11.0, 12.0]),
    ]  # fmt: skip
    frame = headline(common.table(rows), busy=busy_benchmarks(records))
    assert frame["met"].tolist() == ["not comparable", "no"]
