"""Result files -> tables: pooling over folds, seeds, the paper table, the protocol's articles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib import reporting
from hybridlib.reporting.protocol import evaluation_runs, fold_articles, held_out_articles, suite_articles


def _write_run(root: Path, name: str, meta: dict, rows: list[tuple]) -> None:
    folder = root / name / "xquad-r"
    folder.mkdir(parents=True)
    frame = pd.DataFrame(rows, columns=["suite", "setting", "query_language", "candidate_language",
                                        "query_id", "metric", "value"])
    frame.to_csv(folder / "per_query.csv.gz", index=False, compression="gzip")
    (root / name / "run.json").write_text(json.dumps({"run_name": name, **meta}))


def _meta(sampler: str, alpha: float, seed: int, fold: int) -> dict:
    return {"method": "trained", "sampler": sampler, "alpha": alpha, "seed": seed, "fold": fold}


def test_pooling_is_mean_over_queries_then_cells_and_seeds_get_a_t_interval(tmp_path: Path) -> None:
    # seed 0: fold 0 scored q1 (en cell), fold 1 scored q2, q3 (en cell) and q4 (de cell)
    _write_run(tmp_path, "x-x-s0-f0", _meta("x-x", 1.0, 0, 0), [
        ("xquad-r", "mono", "en", "en", "q1", "map", 1.0)])
    _write_run(tmp_path, "x-x-s0-f1", _meta("x-x", 1.0, 0, 1), [
        ("xquad-r", "mono", "en", "en", "q2", "map", 0.5),
        ("xquad-r", "mono", "en", "en", "q3", "map", 0.0),
        ("xquad-r", "mono", "de", "de", "q4", "map", 0.25)])
    _write_run(tmp_path, "x-x-s1-f0", _meta("x-x", 1.0, 1, 0), [
        ("xquad-r", "mono", "en", "en", "q1", "map", 0.5)])
    per_query = reporting.load_tables(tmp_path, "per_query")
    scores = reporting.pooled_scores(per_query)
    seed0 = scores[(scores.seed == 0)].value.item()
    # en cell: (1 + 0.5 + 0) / 3 = 0.5; de cell: 0.25; macro over cells: 0.375
    assert seed0 == pytest.approx(0.375)
    assert scores[scores.seed == 1].value.item() == pytest.approx(0.5)
    summary = reporting.seed_summary_table(scores)
    row = summary.iloc[0]
    assert row["system"] == "X-X" and row["n_seeds"] == 2
    assert row["mean"] == pytest.approx(0.4375)
    # t-interval with 2 seeds: mean +- t(0.975, 1) * std / sqrt(2), std = 0.125 / sqrt(2) * 2 / 2
    std = np.std([0.375, 0.5], ddof=1)
    half = 12.706204736174698 * std / np.sqrt(2)
    assert row["ci_low"] == pytest.approx(0.4375 - half) and row["ci_high"] == pytest.approx(0.4375 + half)


def test_main_table_puts_the_papers_numbers_beside_ours() -> None:
    summary = pd.DataFrame([
        ("X-X", "xquad-r", "mono", "map", 0.5, 0.1, 0.4, 0.6, 3),
        ("X-X", "xquad-r", "multi", "rank_distance", 12.34, 1.0, 10.0, 14.0, 3),
    ], columns=["system", "suite", "setting", "metric", "mean", "std", "ci_low", "ci_high", "n_seeds"])
    table = reporting.main_table(summary, "xquad-r", ["X-X"])
    assert table.loc[("ours", "X-X"), "map_mono"] == "0.500 [0.400, 0.600]"
    assert table.loc[("ours", "X-X"), "rank_distance"] == "12.3 [10.0, 14.0]"
    assert table.loc[("ours", "X-X"), "map_cross"] == "–"  # not evaluated: shown, not invented
    assert table.loc[("paper XLM-R", "Hybrid(0.50)"), "map_mono"] == "0.798"
    assert table.loc[("paper LaBSE", "X-Y"), "rank_distance"] == "225.2"


def test_verdict_reads_the_comparison() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(size=200)
    vectors = {"X-X": {"map_mono": base}, "Hybrid(0.50)": {"map_mono": base + 0.2}}
    comparison = reporting.tables.compare(vectors, n_resamples=500)
    assert reporting.verdict(comparison, "map_mono", "Hybrid(0.50)", "X-X").endswith(": confirmed")
    assert reporting.verdict(comparison, "map_mono", "X-X", "Hybrid(0.50)").endswith(": contradicted")
    same = reporting.tables.compare({"a": {"m": base}, "b": {"m": base.copy()}}, n_resamples=500)
    assert "not shown" in reporting.verdict(same, "m", "a", "b")


def test_cross_fitting_never_evaluates_a_training_article(real_data_dir: Path) -> None:
    root = str(real_data_dir)
    everything = set(suite_articles("xquad-r", root))
    assert len(everything) == 48
    seen = set()
    for fold in range(2):
        train = set(fold_articles(fold, 2, 0, root))
        held = set(held_out_articles(fold, 2, 0, 0, root))
        assert not train & held and train | held == everything
        seen |= held
    assert seen == everything  # pooled over folds: every article evaluated once
    assert set(held_out_articles(-1, 2, 0, 0, root)) == everything
    subset = held_out_articles(-1, 2, 0, 3, root)
    assert len(subset) == 6 and set(subset) == set(held_out_articles(0, 2, 0, 3, root)) | set(
        held_out_articles(1, 2, 0, 3, root))


def test_evaluation_runs_follow_the_protocol(real_data_dir: Path) -> None:
    common = dict(n_folds=2, fold_seed=0, max_articles={"xquad-r": 2},
                  suite_languages={"xquad-r": ["en"], "multi30k": ["de", "en"]},
                  heldout_folds=[0], training_languages=["en"], root=str(real_data_dir))
    fold1 = evaluation_runs(method="trained", fold=1, **common)
    assert [r.suite for r in fold1] == ["xquad-r"]  # held-out suites: fold 0 only
    assert set(fold1[0].kwargs["train_articles"]).isdisjoint(fold1[0].kwargs["include_articles"])
    assert [r.suite for r in evaluation_runs(method="trained", fold=0, **common)] == ["xquad-r", "multi30k"]
    assert [r.suite for r in evaluation_runs(method="bm25", fold=-1, **common)] == ["xquad-r"]
    with pytest.raises(ValueError, match="method must be"):
        reporting.model_to_evaluate("trained2", "tiny", "x")
