"""Result files read back and compared like for like (hybridlib.reporting.results): summaries,
refused comparisons, the book's tables, the mixing chapter's systems from their records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybridlib import reporting

from .conftest import SETTINGS, claim_run, unit_rows, write_run


def test_summary_is_the_macro_mean_over_cells_then_seeds(tmp_path: Path) -> None:
    # seed 0: en cell (1.0, 0.5, 0.0) -> 0.5, de cell (0.25, 0.25, 0.25) -> 0.25: macro 0.375
    write_run(
        tmp_path,
        "a0",
        "X-X",
        0,
        unit_rows({("en", "en"): [1.0, 0.5, 0.0], ("de", "de"): [0.25] * 3}),
    )
    write_run(
        tmp_path, "a1", "X-X", 1, unit_rows({("en", "en"): [0.5] * 3, ("de", "de"): [0.5] * 3})
    )
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
    write_run(tmp_path, "a", "X-X", 0, unit_rows({("en", "en"): [1.0, 0.5]}))
    # the other system was scored on one query fewer (another pool): not a comparison
    write_run(tmp_path, "b", "X-Y", 0, unit_rows({("en", "en"): [1.0]}))
    per_query, runs = reporting.load_results(tmp_path)
    with pytest.raises(
        reporting.ComparisonError, match=r"system 'X-Y' seed 0 is scored on 1 units.*1 missing"
    ):
        reporting.summarise(per_query, runs, "xquad-r", ["X-X", "X-Y"], [("mono", "map")])
    # each alone is fine
    reporting.summarise(per_query, runs, "xquad-r", ["X-X"], [("mono", "map")], n_resamples=50)


def test_a_comparison_across_different_input_lengths_is_refused(tmp_path: Path) -> None:
    rows = unit_rows({("en", "en"): [1.0, 0.5]})
    write_run(tmp_path, "a", "untrained", 0, rows, method="untrained")
    write_run(tmp_path, "b", "X-X", 0, rows, settings={**SETTINGS, "max_length": 48})
    per_query, runs = reporting.load_results(tmp_path)
    with pytest.raises(
        reporting.ComparisonError,
        match=r"different max_length \(max_length=48: \['X-X'\]; max_length=512: \['untrained'\]\)",
    ):
        reporting.check_like_for_like(
            per_query, runs, "xquad-r", ["untrained", "X-X"], "mono", "map"
        )


def test_bm25_reads_no_tokens_so_only_dense_settings_must_agree(tmp_path: Path) -> None:
    rows = unit_rows({("en", "en"): [1.0, 0.5]})
    write_run(
        tmp_path, "a", "bm25", 0, rows, method="bm25", settings={"candidate_input": "sentence"}
    )
    write_run(tmp_path, "b", "X-X", 0, rows)
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


def test_effect_sizes_name_the_direction_of_each_difference(tmp_path: Path) -> None:
    claim_run(tmp_path, {"X-X": -0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.0})
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
            write_run(tmp_path, f"{system}-{seed}", system, seed, rows)
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
    write_run(tmp_path, "a", "X-X", 0, rows, suite="tatoeba")
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.tatoeba_table(per_query, runs, ["X-X"], ["de", "en"], n_resamples=100)
    assert table.loc[("xx->en", "seen: de"), "X-X"].startswith("0.750")
    assert table.loc[("xx->en", "unseen: el"), "X-X"].startswith("0.500")
    assert table.loc[("en->xx", "seen: de"), "X-X"] == "1.000"  # no spread: no interval
    assert list(reporting.tatoeba_table(per_query, runs, [], ["de"]).columns) == ["note"]


def test_hybrids_are_ordered_by_the_alpha_their_records_hold_not_by_their_names(
    tmp_path: Path,
) -> None:
    rows = unit_rows({("en", "en"): [0.5, 0.5]})
    for name, system, extra in [
        ("a", "X-X", {"sampler": "x-x", "alpha": 1.0}), ("b", "X-Y", {"sampler": "x-y", "alpha": 0.0}),
        ("c", "Hybrid(0.75)", {"sampler": "hybrid", "alpha": 0.75}),
        ("d", "Hybrid(0.25)", {"sampler": "hybrid", "alpha": 0.25}),
        ("e", "Schedule(1.00→0.00)", {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0}),
        ("f", "Hybrid(0.25)+LSAR", {"sampler": "hybrid", "alpha": 0.25, "method": "trained+lsar"}),
        ("g", "Per-pair(0.50)", {"sampler": "per-pair", "alpha": 0.5}),
    ]:  # fmt: skip
        write_run(tmp_path, name, system, 0, rows, **extra)
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
    rows = unit_rows({("en", "en"): [0.5, 0.5]})
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
        write_run(tmp_path, f"r{n}", system, 0, rows, **extra)
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
