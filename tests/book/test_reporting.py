"""Result files -> comparisons on identical units, tables, claims; the protocol's articles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib import reporting
from hybridlib.protocol import (
    protocol_table,
    shared_articles,
    suite_articles,
    training_articles,
    validation_articles,
)

SETTINGS = {
    "max_length": 512,
    "precision": "float32",
    "top_layers": 2,
    "candidate_input": "sentence",
}


def _write_run(
    root: Path,
    name: str,
    system: str,
    seed: int,
    rows: list[tuple],
    *,
    suite: str = "xquad-r",
    settings: dict | None = None,
    method: str = "trained",
    **fields,
) -> None:
    """A run folder as `hybridlib.experiment.evaluate_run` writes it."""
    folder = root / name / suite
    folder.mkdir(parents=True)
    frame = pd.DataFrame(
        rows,
        columns=[
            "setting",
            "query_language",
            "candidate_language",
            "query_id",
            "cluster",
            "metric",
            "value",
        ],
    ).assign(suite=suite)
    frame.to_csv(folder / "per_query.csv.gz", index=False, compression="gzip")
    record = {
        "run_name": name,
        "method": method,
        "system": system,
        "sampler": system,
        "alpha": 0.5,
        "seed": seed,
        "direction": "mlqa-to-xquad",
        "suites": [suite],
        "evaluation": {suite: settings or SETTINGS},
        **fields,
    }
    (root / name / "run.json").write_text(json.dumps(record))


def _rows(values: dict[tuple[str, str], list[float]], setting: str = "mono") -> list[tuple]:
    """(cell) -> one value per question q0, q1, ...; the question is its own cluster."""
    return [
        (setting, x, y, f"{x}/q{i}", f"q{i}", "map", v)
        for (x, y), vs in values.items()
        for i, v in enumerate(vs)
    ]


def test_summary_is_the_macro_mean_over_cells_then_seeds(tmp_path: Path) -> None:
    # seed 0: en cell (1.0, 0.5, 0.0) -> 0.5, de cell (0.25, 0.25, 0.25) -> 0.25: macro 0.375
    _write_run(
        tmp_path, "a0", "X-X", 0, _rows({("en", "en"): [1.0, 0.5, 0.0], ("de", "de"): [0.25] * 3})
    )
    _write_run(tmp_path, "a1", "X-X", 1, _rows({("en", "en"): [0.5] * 3, ("de", "de"): [0.5] * 3}))
    per_query, runs = reporting.load_results(tmp_path)
    summary = reporting.summarise(
        per_query, runs, "xquad-r", ["X-X"], [("mono", "map")], n_resamples=200
    )
    row = summary.iloc[0]
    assert row["mean"] == pytest.approx((0.375 + 0.5) / 2)
    assert (
        row["ci_low"] <= row["mean"] <= row["ci_high"]
        and row["n_seeds"] == 2
        and row["n_clusters"] == 3
    )
    values = reporting.seed_values(per_query, "xquad-r", ["X-X"], "mono", "map")
    assert values.set_index("seed")["value"].to_dict() == pytest.approx({0: 0.375, 1: 0.5})


def test_a_comparison_across_different_pools_is_refused(tmp_path: Path) -> None:
    _write_run(tmp_path, "a", "X-X", 0, _rows({("en", "en"): [1.0, 0.5]}))
    # the other system was scored on one query fewer (another pool): not a comparison
    _write_run(tmp_path, "b", "X-Y", 0, _rows({("en", "en"): [1.0]}))
    per_query, runs = reporting.load_results(tmp_path)
    with pytest.raises(
        reporting.ComparisonError, match=r"system 'X-Y' seed 0 is scored on 1 units.*1 missing"
    ):
        reporting.summarise(per_query, runs, "xquad-r", ["X-X", "X-Y"], [("mono", "map")])
    # each alone is fine
    reporting.summarise(per_query, runs, "xquad-r", ["X-X"], [("mono", "map")], n_resamples=50)


def test_a_comparison_across_different_input_lengths_is_refused(tmp_path: Path) -> None:
    rows = _rows({("en", "en"): [1.0, 0.5]})
    _write_run(tmp_path, "a", "untrained", 0, rows, method="untrained")
    _write_run(tmp_path, "b", "X-X", 0, rows, settings={**SETTINGS, "max_length": 48})
    per_query, runs = reporting.load_results(tmp_path)
    with pytest.raises(
        reporting.ComparisonError,
        match=r"different max_length \(max_length=48: \['X-X'\]; max_length=512: \['untrained'\]\)",
    ):
        reporting.check_like_for_like(
            per_query, runs, "xquad-r", ["untrained", "X-X"], "mono", "map"
        )


def test_bm25_reads_no_tokens_so_only_dense_settings_must_agree(tmp_path: Path) -> None:
    rows = _rows({("en", "en"): [1.0, 0.5]})
    _write_run(
        tmp_path, "a", "bm25", 0, rows, method="bm25", settings={"candidate_input": "sentence"}
    )
    _write_run(tmp_path, "b", "X-X", 0, rows)
    per_query, runs = reporting.load_results(tmp_path)
    reporting.check_like_for_like(per_query, runs, "xquad-r", ["bm25", "X-X"], "mono", "map")


def test_main_table_shows_ours_with_intervals_beside_the_papers() -> None:
    summary = pd.DataFrame(
        [
            ("xquad-r", "X-X", "mono", "map", 0.5, 0.4, 0.6),
            ("xquad-r", "X-X", "multi", "rank_distance", 12.34, 10.0, 14.0),
        ],
        columns=["suite", "system", "setting", "metric", "mean", "ci_low", "ci_high"],
    )
    table = reporting.main_table(summary, "xquad-r", ["X-X"])
    assert table.loc[("ours", "X-X"), "Mono mAP"] == "0.500 [0.400, 0.600]"
    assert table.loc[("ours", "X-X"), "rank distance (lower is better)"] == "12.3 [10.0, 14.0]"
    assert table.loc[("ours", "X-X"), "Cross mAP"] == "–"  # not evaluated: shown, not invented
    assert table.loc[("paper XLM-R", "Hybrid(0.50)"), "Mono mAP"] == "0.798"
    assert table.loc[("paper LaBSE", "X-Y"), "rank distance (lower is better)"] == "225.2"


# the run records of the systems the claim tests use, as the experiment writes them
RECORDS: dict[str, dict] = {
    "untrained": {"sampler": "untrained", "method": "untrained"},
    "X-X": {"sampler": "x-x", "alpha": 1.0},
    "X-Y": {"sampler": "x-y", "alpha": 0.0},
    "Hybrid(0.50)": {"sampler": "hybrid", "alpha": 0.5},
    "Per-pair(0.50)": {"sampler": "per-pair", "alpha": 0.5},
    "Schedule(1.00→0.00)": {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0},
    "untrained+LSAR": {"sampler": "untrained", "method": "untrained+lsar"},
    "Hybrid(0.50)+LSAR": {"sampler": "hybrid", "alpha": 0.5, "method": "trained+lsar"},
}


def _claim_run(root: Path, shift: dict[str, float], n: int = 60, seeds=(0, 1)) -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.7, size=(2, n))  # question x language
    for system, offset in shift.items():
        for seed in seeds:
            rows = []
            for setting, cells in (
                ("mono", [("en", "en"), ("de", "de")]),
                ("cross", [("en", "de"), ("de", "en")]),
                ("multi", [("en", "all"), ("de", "all")]),
            ):
                for c, (x, y) in enumerate(cells):
                    rows += [
                        (
                            setting,
                            x,
                            y,
                            f"{x}/q{i}",
                            f"q{i}",
                            "map",
                            base[c, i] + offset + 0.001 * seed,
                        )
                        for i in range(n)
                    ]
            for c, x in enumerate(("en", "de")):
                rows += [
                    (
                        "multi",
                        x,
                        "all",
                        f"{x}/q{i}",
                        f"q{i}",
                        "rank_distance",
                        10 * base[c, i] - 20 * offset,
                    )
                    for i in range(n)
                ]
            _write_run(root, f"{system}-{seed}", system, seed, rows, **RECORDS.get(system, {}))


def test_claims_are_tested_as_one_family_with_margins(tmp_path: Path) -> None:
    # Hybrid = X-Y + 0.05 everywhere (superior on Cross and Multi), X-X = Hybrid (Mono: equal)
    _claim_run(tmp_path, {"X-X": 0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.05})
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.evaluate_claims(
        per_query, runs, reporting.paper_claims("xquad-r"), n_resamples=400
    )
    verdict = dict(zip(table["name"], table["verdict"]))
    assert verdict["xquad-r: Hybrid(0.50) >= X-Y on Cross map"] == "superior"
    assert verdict["xquad-r: Hybrid(0.50) >= X-Y on Multi map"] == "superior"
    assert (
        verdict["xquad-r: Hybrid(0.50) >= X-X on Mono map"] == "non-inferior"
    )  # equal, within 0.01
    # lower rank distance is better: Hybrid's is 1.0 below X-Y's (10 * base - 1)
    assert verdict["xquad-r: Hybrid(0.50) <= X-Y on rank distance"] == "superior"
    row = table.set_index("name").loc["xquad-r: Hybrid(0.50) <= X-Y on rank distance"]
    assert row["difference"] == pytest.approx(1.0) and row["margin"] == pytest.approx(
        0.05 * row["other_estimate"]
    )
    assert (table["margin"].iloc[:3] == 0.01).all() and (table["mde"] > 0).all()
    assert reporting.verdict_counts(table) == "3 superior, 1 non-inferior"


def test_effect_sizes_name_the_direction_of_each_difference(tmp_path: Path) -> None:
    _claim_run(tmp_path, {"X-X": -0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.0})
    per_query, runs = reporting.load_results(tmp_path)
    effects = reporting.effect_sizes(per_query, runs, "xquad-r", n_resamples=200).set_index(
        "effect"
    )
    assert effects.loc["X-Y - X-X, Multi mAP", "difference"] == pytest.approx(0.05)
    assert effects.loc["X-Y - X-X, Multi mAP", "sign"] == "+"
    assert effects.loc["X-X - X-Y, Mono mAP", "sign"] == "-"
    assert effects.loc["Hybrid - X-Y, Cross mAP", "sign"] == "0"


def test_alpha_trend_fits_the_slope_by_hand(tmp_path: Path) -> None:
    # mono: value = 0.5 + 0.2 * alpha + (+-0.01 by seed); cross: flat
    for system, alpha in [("X-Y", 0.0), ("Hybrid(0.50)", 0.5), ("X-X", 1.0)]:
        for seed, noise in [(0, 0.01), (1, -0.01)]:
            rows = [
                ("mono", "en", "en", "en/q0", "q0", "map", 0.5 + 0.2 * alpha + noise),
                ("cross", "en", "de", "en/q0", "q0", "map", 0.4 + noise),
            ]
            _write_run(tmp_path, f"{system}-{seed}", system, seed, rows)
    per_query, _ = reporting.load_results(tmp_path)
    table = reporting.alpha_trend(
        per_query, "xquad-r", {"X-Y": 0.0, "Hybrid(0.50)": 0.5, "X-X": 1.0}
    )
    assert table.loc["Mono", "slope per unit alpha"].startswith("0.200 [")
    assert table.loc["Mono", "trend"] == "rises with alpha"
    assert table.loc["Mono", "best alpha"] == 1.0 and table.loc["Mono", "points"] == 6
    assert table.loc["Cross", "trend"] == "no linear trend shown"
    assert "Multi" not in table.index


def test_tatoeba_splits_directions_and_seen_languages(tmp_path: Path) -> None:
    rows = [
        ("cross", "de", "en", f"de/q{i}", f"q{i}", "recall@1", v)
        for i, v in enumerate([1, 0, 1, 1])
    ]
    rows += [
        ("cross", "el", "en", f"el/q{i}", f"q{i}", "recall@1", v)
        for i, v in enumerate([0, 1, 0, 1])
    ]
    rows += [("cross", "en", "de", f"en/q{i}", f"q{i}", "recall@1", 1.0) for i in range(4)]
    _write_run(tmp_path, "a", "X-X", 0, rows, suite="tatoeba")
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.tatoeba_table(per_query, runs, ["X-X"], ["de", "en"], n_resamples=100)
    assert table.loc[("xx->en", "seen: de"), "X-X"].startswith("0.750")
    assert table.loc[("xx->en", "unseen: el"), "X-X"].startswith("0.500")
    assert table.loc[("en->xx", "seen: de"), "X-X"] == "1.000"  # no spread: no interval
    assert list(reporting.tatoeba_table(per_query, runs, [], ["de"]).columns) == ["note"]


@pytest.mark.slow
def test_protocol_keeps_test_articles_and_validation_out_of_training(real_data_dir: Path) -> None:
    root = str(real_data_dir)
    assert shared_articles("xquad-r", root) == ["Harvard_University", "Prime_number"]
    assert shared_articles("mlqa-r", root) == ["Harvard University", "Prime number"]
    for name, suite in (("xquad-to-mlqa", "xquad-r"), ("mlqa-to-xquad", "mlqa-r")):
        train = set(training_articles(name, 0.1, 0, root))
        held = set(validation_articles(name, 0.1, 0, root))
        shared = set(shared_articles(suite, root))
        assert not train & held and not train & shared and not held & shared
        assert train | held | shared == set(suite_articles(suite, root))
        assert validation_articles(name, 0.1, 0, root) == validation_articles(name, 0.1, 0, root)
        assert validation_articles(name, 0.1, 1, root) != validation_articles(name, 0.1, 0, root)
    table = protocol_table(0.1, 0, root)
    assert table.loc["mlqa-to-xquad", "languages never trained on"] == "el ru th tr vi"
    assert table.loc["xquad-to-mlqa", "languages never trained on"] == "vi"
    assert table.loc["xquad-to-mlqa", "validation articles"] == 5  # ceil(0.1 * 46)


def test_other_ways_to_mix_are_listed_in_groups_and_tested_in_three_families(
    tmp_path: Path,
) -> None:
    shifts = {
        "untrained": 0.0,
        "X-X": 0.05,
        "X-Y": 0.0,
        "Hybrid(0.50)": 0.05,
        "Per-pair(0.50)": 0.05,
        "Schedule(1.00→0.00)": -0.05,
        "untrained+LSAR": 0.05,
        "Hybrid(0.50)+LSAR": 0.05,
    }
    _claim_run(tmp_path, shifts)
    per_query, runs = reporting.load_results(tmp_path)
    mixing = reporting.mixing_systems(runs, "xquad-r", "mlqa-to-xquad")
    assert mixing.names == [
        "untrained",
        "X-X",
        "X-Y",
        "Hybrid(0.50)",
        "Per-pair(0.50)",
        "Schedule(1.00→0.00)",
        "untrained+LSAR",
        "Hybrid(0.50)+LSAR",
    ]
    families = reporting.mixing_claims("xquad-r", mixing)
    assert {k: len(v) for k, v in families.items()} == {
        "trained": 8,
        "training-free": 3,
        "combined": 4,
    }
    assert families["combined"][-1] == reporting.Claim(
        "xquad-r", "multi", "map", "Hybrid(0.50)+LSAR", "untrained+LSAR"
    )
    trained = reporting.evaluate_claims(per_query, runs, families["trained"], n_resamples=1000)
    verdict = dict(zip(trained["name"], trained["verdict"]))
    # per-pair equals Hybrid everywhere: non-inferior, not superior; the schedule is 0.05 below
    assert {v for k, v in verdict.items() if "Per-pair" in k} == {"non-inferior"}
    assert verdict["xquad-r: Schedule(1.00→0.00) >= Hybrid(0.50) on Multi map"] == "inferior"
    assert verdict["xquad-r: Schedule(1.00→0.00) <= Hybrid(0.50) on rank distance"] == "inferior"
    free = reporting.evaluate_claims(per_query, runs, families["training-free"], n_resamples=300)
    assert (
        dict(zip(free["name"], free["verdict"]))["xquad-r: untrained+LSAR >= untrained on Mono map"]
        == "superior"
    )


def test_hybrids_are_ordered_by_the_alpha_their_records_hold_not_by_their_names(
    tmp_path: Path,
) -> None:
    rows = _rows({("en", "en"): [0.5, 0.5]})
    for name, system, extra in [
        ("a", "X-X", {"sampler": "x-x", "alpha": 1.0}), ("b", "X-Y", {"sampler": "x-y", "alpha": 0.0}),
        ("c", "Hybrid(0.75)", {"sampler": "hybrid", "alpha": 0.75}),
        ("d", "Hybrid(0.25)", {"sampler": "hybrid", "alpha": 0.25}),
        ("e", "Schedule(1.00→0.00)", {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0}),
        ("f", "Hybrid(0.25)+LSAR", {"sampler": "hybrid", "alpha": 0.25, "method": "trained+lsar"}),
        ("g", "Per-pair(0.50)", {"sampler": "per-pair", "alpha": 0.5}),
    ]:  # fmt: skip
        _write_run(tmp_path, name, system, 0, rows, **extra)
    _, runs = reporting.load_results(tmp_path)
    assert reporting.hybrid_alphas(runs) == {
        "X-X": 1.0,
        "X-Y": 0.0,
        "Hybrid(0.75)": 0.75,
        "Hybrid(0.25)": 0.25,
    }
    assert reporting.systems_of(runs, "xquad-r") == ["X-X", "X-Y", "Hybrid(0.25)", "Hybrid(0.75)"]


def test_the_mixing_table_orders_systems_by_their_records(tmp_path: Path) -> None:
    """X-X first before X-Y first; centering, LIR, LSAR (not name order); X-X's and X-Y's
    post-processed systems listed after Hybrid's (the full profile makes them)."""
    rows = _rows({("en", "en"): [0.5, 0.5]})
    specs = [
        ("untrained", {"sampler": "untrained", "method": "untrained"}),
        ("X-X", {"sampler": "x-x", "alpha": 1.0}),
        ("X-Y", {"sampler": "x-y", "alpha": 0.0}),
        ("Hybrid(0.50)", {"sampler": "hybrid", "alpha": 0.5}),
        ("Schedule(0.00→1.00)", {"sampler": "hybrid", "alpha": 0.0, "alpha_end": 1.0}),
        ("Schedule(1.00→0.00)", {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0}),
        ("Per-pair(0.50)", {"sampler": "per-pair", "alpha": 0.5}),
    ]
    for method, display in (("lsar", "LSAR"), ("lir", "LIR"), ("centering", "centering")):
        specs += [
            (f"untrained+{display}", {"sampler": "untrained", "method": f"untrained+{method}"}),
            (
                f"Hybrid(0.50)+{display}",
                {"sampler": "hybrid", "alpha": 0.5, "method": f"trained+{method}"},
            ),
            (f"X-Y+{display}", {"sampler": "x-y", "alpha": 0.0, "method": f"trained+{method}"}),
        ]
    for n, (system, extra) in enumerate(specs):
        _write_run(tmp_path, f"r{n}", system, 0, rows, **extra)
    _, runs = reporting.load_results(tmp_path)
    assert reporting.mixing_systems(runs, "xquad-r", "mlqa-to-xquad").names == [
        "untrained",
        "X-X",
        "X-Y",
        "Hybrid(0.50)",
        "Per-pair(0.50)",
        "Schedule(1.00→0.00)",
        "Schedule(0.00→1.00)",
        "untrained+centering",
        "untrained+LIR",
        "untrained+LSAR",
        "Hybrid(0.50)+centering",
        "Hybrid(0.50)+LIR",
        "Hybrid(0.50)+LSAR",
        "X-Y+centering",
        "X-Y+LIR",
        "X-Y+LSAR",
    ]


def test_the_mixing_groups_come_from_the_records_not_from_the_names(tmp_path: Path) -> None:
    """Systems whose names follow no display convention are grouped by sampler, alpha_end and
    method; a post-processing is paired with the untrained encoder's by its method, and the
    domain-shift claims test each against the system it was applied to."""
    rows = _rows({("en", "en"): [0.5, 0.5]})
    specs = [
        ("untrained", {"sampler": "untrained", "method": "untrained"}),
        ("Hybrid(0.50)", {"sampler": "hybrid", "alpha": 0.5}),
        ("mixed inside", {"sampler": "per-pair", "alpha": 0.5}),
        ("ramp", {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0}),
        ("plain+lsar", {"sampler": "untrained", "method": "untrained+lsar"}),
        ("tuned+lsar", {"sampler": "hybrid", "alpha": 0.5, "method": "trained+lsar"}),
        ("other hybrid+lsar", {"sampler": "hybrid", "alpha": 0.25, "method": "trained+lsar"}),
    ]
    for n, (system, extra) in enumerate(specs):
        _write_run(tmp_path, f"r{n}", system, 0, rows, **extra)
    _, runs = reporting.load_results(tmp_path)
    mixing = reporting.mixing_systems(runs, "xquad-r", "mlqa-to-xquad")
    assert mixing.references == ("untrained", "Hybrid(0.50)")
    assert (mixing.per_pair, mixing.schedules) == (("mixed inside",), ("ramp",))
    assert mixing.processed == {
        "plain+lsar": ("untrained", "lsar"),
        "tuned+lsar": ("Hybrid(0.50)", "lsar"),
    }  # Hybrid(0.25)'s post-processing belongs to no group of this chapter
    families = reporting.mixing_claims("xquad-r", mixing)
    assert families["combined"][-1] == reporting.Claim(
        "xquad-r", "multi", "map", "tuned+lsar", "plain+lsar"
    )
    assert reporting.shift_claims("xquad-r", "cross", "map", mixing) == [
        reporting.Claim("xquad-r", "cross", "map", "mixed inside", "Hybrid(0.50)"),
        reporting.Claim("xquad-r", "cross", "map", "plain+lsar", "untrained"),
        reporting.Claim("xquad-r", "cross", "map", "tuned+lsar", "Hybrid(0.50)"),
    ]
