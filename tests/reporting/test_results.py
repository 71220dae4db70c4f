"""Result files read back and compared like for like (hybridlib.reporting.results): refused
comparisons (other pools, other input lengths), BM25's settings, and the systems named and
ordered from their run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import reporting

from .conftest import SETTINGS, unit_rows, write_run


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
