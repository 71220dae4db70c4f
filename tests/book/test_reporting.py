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
    # heldout_seeds limits the domain-shift suites, not MLQA-R
    common["suite_languages"] = {"xquad-r": ["en"], "mlqa-r": ["en"], "multi30k": ["de", "en"]}
    seed1 = evaluation_runs(method="trained", fold=0, seed=1, heldout_seeds=[0], **common)
    assert [r.suite for r in seed1] == ["xquad-r", "mlqa-r"]
    seed0 = evaluation_runs(method="trained", fold=0, seed=0, heldout_seeds=[0], **common)
    assert [r.suite for r in seed0] == ["xquad-r", "mlqa-r", "multi30k"]
    # domain_shift_alphas leaves the ablation-only alphas out of the domain-shift suites
    ablation = evaluation_runs(method="trained", fold=0, seed=1, alpha=0.25,
                               domain_shift_alphas=[0.0, 0.5, 1.0], **common)
    assert [r.suite for r in ablation] == ["xquad-r", "mlqa-r"]
    main = evaluation_runs(method="trained", fold=0, seed=1, alpha=0.5,
                           domain_shift_alphas=[0.0, 0.5, 1.0], **common)
    assert [r.suite for r in main] == ["xquad-r", "mlqa-r", "multi30k"]
    untrained = evaluation_runs(method="untrained", fold=-1, domain_shift_alphas=[0.5], **common)
    assert [r.suite for r in untrained] == ["xquad-r", "mlqa-r", "multi30k"]
    with pytest.raises(ValueError, match="method must be"):
        reporting.model_to_evaluate("trained2", "tiny", "x")


def _tatoeba_rows(seed: int, de_to_en: list[float], en_to_de: list[float], el_to_en: list[float]) -> pd.DataFrame:
    rows = [("tatoeba", "cross", "de", "en", f"de{i}", "recall@1", v) for i, v in enumerate(de_to_en)]
    rows += [("tatoeba", "cross", "en", "de", f"en{i}", "recall@1", v) for i, v in enumerate(en_to_de)]
    rows += [("tatoeba", "cross", "el", "en", f"el{i}", "recall@1", v) for i, v in enumerate(el_to_en)]
    frame = pd.DataFrame(rows, columns=["suite", "setting", "query_language", "candidate_language",
                                        "query_id", "metric", "value"])
    return frame.assign(system="X-X", seed=seed)


def test_tatoeba_splits_directions_and_seen_languages_by_hand() -> None:
    per_query = pd.concat([
        _tatoeba_rows(0, [1, 0, 1, 1], [1, 1], [0, 1]),
        _tatoeba_rows(1, [1, 1, 1, 1], [0, 1], [0, 0]),
    ], ignore_index=True)
    scores = reporting.tatoeba_scores(per_query, training_languages=["de", "en"])
    value = scores.set_index(["seed", "direction", "group"])["value"]
    assert value[(0, "xx->en", "seen")] == pytest.approx(0.75)
    assert value[(0, "en->xx", "seen")] == pytest.approx(1.0)
    assert value[(0, "xx->en", "unseen")] == pytest.approx(0.5)
    assert value[(1, "en->xx", "seen")] == pytest.approx(0.5)
    assert value[(1, "xx->en", "unseen")] == pytest.approx(0.0)
    assert set(scores.n_languages) == {1}
    table = reporting.tatoeba_table(per_query, ["de", "en"], ["X-X"])
    assert table.loc[("xx->en", "unseen"), "languages"] == "el"
    assert table.loc[("xx->en", "seen"), "languages"] == "de"
    # mean over seeds of 0.75 and 1.0; t-interval with 2 seeds
    half = 12.706204736174698 * np.std([0.75, 1.0], ddof=1) / np.sqrt(2)
    assert table.loc[("xx->en", "seen"), "X-X"] == f"0.875 [{0.875 - half:.3f}, {0.875 + half:.3f}]"


def test_tatoeba_table_says_when_tatoeba_was_not_run() -> None:
    per_query = _tatoeba_rows(0, [1], [1], [1]).assign(suite="multi30k")
    table = reporting.tatoeba_table(per_query, ["de"], ["X-X"])
    assert list(table.columns) == ["note"]


def test_domain_shift_verdicts_test_hybrid_per_suite() -> None:
    rng = np.random.default_rng(0)
    ids = [f"q{i}" for i in range(60)]
    good = rng.uniform(0.6, 1.0, size=60)
    frames = []
    for system, values in [("Hybrid(0.50)", good), ("X-X", good - 0.3), ("X-Y", good)]:
        frames.append(pd.DataFrame({
            "suite": "multi30k", "setting": "cross", "query_language": "de",
            "candidate_language": "en", "query_id": ids, "metric": "map", "value": values,
            "system": system, "seed": 0}))
    per_query = pd.concat(frames, ignore_index=True)
    table = reporting.domain_shift_verdicts(per_query, "Hybrid(0.50)", ["X-X", "X-Y"], n_resamples=500)
    assert list(table.index) == [("multi30k", "X-X"), ("multi30k", "X-Y")]
    assert (table.n_units == 60).all() and (table.measure == "cross map").all()
    assert table.loc[("multi30k", "X-X"), "verdict"] == "confirmed"
    assert table.loc[("multi30k", "X-X"), "hybrid"] - table.loc[("multi30k", "X-X"), "other"] == pytest.approx(0.3, abs=1e-3)
    assert table.loc[("multi30k", "X-Y"), "verdict"] == "not shown"
    assert table.loc[("multi30k", "X-Y"), "p_holm"] == 1.0
    assert reporting.summarise_verdicts(table) == (
        "against X-X: 1 confirmed, 0 contradicted, 0 not shown (of 1 suites); "
        "against X-Y: 0 confirmed, 0 contradicted, 1 not shown (of 1 suites)")


def test_alpha_trend_fits_the_slope_by_hand() -> None:
    # mono: value = 0.5 + 0.2 * alpha + noise (+-0.01 by seed); cross: flat
    rows = []
    for system, alpha in [("X-Y", 0.0), ("Hybrid(0.50)", 0.5), ("X-X", 1.0)]:
        for seed, noise in [(0, 0.01), (1, -0.01)]:
            rows.append((system, seed, "xquad-r", "mono", "map", 0.5 + 0.2 * alpha + noise))
            rows.append((system, seed, "xquad-r", "cross", "map", 0.4 + noise))
    scores = pd.DataFrame(rows, columns=["system", "seed", "suite", "setting", "metric", "value"])
    table = reporting.alpha_trend(scores, "xquad-r", {"X-Y": 0.0, "Hybrid(0.50)": 0.5, "X-X": 1.0})
    assert table.loc["mono", "slope"].startswith("0.200 [")
    assert table.loc["mono", "trend"] == "rises with alpha"
    assert table.loc["mono", "best_alpha"] == 1.0 and table.loc["mono", "n_points"] == 6
    assert table.loc["cross", "slope"].startswith("0.000 [")
    assert table.loc["cross", "trend"] == "no linear trend shown"
    assert "multi" not in table.index
    one = reporting.alpha_trend(scores[scores.system == "X-X"], "xquad-r", {"X-X": 1.0})
    assert list(one.columns) == ["note"]


def test_claims_table_checks_each_claim_per_suite() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 0.7, size=80)
    ids = [f"q{i}" for i in range(80)]
    shift = {  # (setting, metric) -> per-system offset from base
        ("mono", "map"): {"X-X": 0.0, "X-Y": -0.2, "Hybrid(0.50)": 0.0},
        ("cross", "map"): {"X-X": -0.2, "X-Y": 0.0, "Hybrid(0.50)": 0.1},
        ("multi", "map"): {"X-X": -0.2, "X-Y": 0.2, "Hybrid(0.50)": 0.0},
        ("multi", "rank_distance"): {"X-X": 5.0, "X-Y": 0.0, "Hybrid(0.50)": 1.0},
    }
    frames = []
    for (setting, metric), offsets in shift.items():
        for system, offset in offsets.items():
            frames.append(pd.DataFrame({
                "suite": "xquad-r", "setting": setting, "query_language": "en",
                "candidate_language": "en" if setting == "mono" else "all", "query_id": ids,
                "metric": metric, "value": base + offset, "system": system, "seed": 0}))
    per_query = pd.concat(frames, ignore_index=True)
    table = reporting.claims_table(per_query, "Hybrid(0.50)", ["xquad-r", "mlqa-r"], n_resamples=500)
    assert set(table.index.get_level_values("suite")) == {"xquad-r"}  # no MLQA-R results: no rows
    verdicts = table.xs("xquad-r", level="suite").verdict
    assert verdicts["Hybrid >= X-X on Mono mAP"] == "not shown"
    assert verdicts["Hybrid >= X-Y on Cross mAP"] == "confirmed"
    assert verdicts["Hybrid >= X-Y on Multi mAP"] == "contradicted"
    assert verdicts["Hybrid lowers the rank distance (vs X-X)"] == "confirmed"  # 1 < 5: lower wins
    assert verdicts["Hybrid lowers the rank distance (vs X-Y)"] == "contradicted"  # 1 > 0: higher loses
    assert reporting.summarise_verdicts(table, by="suite", unit="claims", prefix="") == (
        "xquad-r: 2 confirmed, 2 contradicted, 1 not shown (of 5 claims)")
    row = table.loc[("Hybrid >= X-Y on Multi mAP", "xquad-r")]
    assert row.hybrid == pytest.approx(round(base.mean(), 3)) and row.other == pytest.approx(round(base.mean() + 0.2, 3))


def test_summarise_verdicts_says_when_nothing_was_compared() -> None:
    assert "no comparison" in reporting.summarise_verdicts(pd.DataFrame({"note": ["x"]}))
