"""One build's runs as the chapters read them (hybridlib.reporting.study): the main Hybrid
named from the chapter's alpha, the paper's comparison picked from the run records, and the
study's summaries and claims equal to the functions' on the same frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybridlib import reporting

from .conftest import RECORDS, claim_run, unit_rows, write_run


def test_the_main_comparison_is_picked_from_the_records_and_the_chapters_alpha(
    tmp_path: Path,
) -> None:
    rows = unit_rows({("en", "en"): [0.5, 0.5]})
    for name, system, extra in [
        ("a", "bm25", {"method": "bm25", "sampler": "bm25"}),
        ("b", "untrained", RECORDS["untrained"]),
        ("c", "X-Y", RECORDS["X-Y"]),
        ("d", "X-X", RECORDS["X-X"]),
        ("e", "Hybrid(0.25)", {"sampler": "hybrid", "alpha": 0.25}),
        ("f", "Hybrid(0.50)", RECORDS["Hybrid(0.50)"]),
        ("g", "Per-pair(0.50)", RECORDS["Per-pair(0.50)"]),
        ("h", "Hybrid(0.50)+LSAR", RECORDS["Hybrid(0.50)+LSAR"]),
    ]:
        write_run(tmp_path, name, system, 0, rows, **extra)
    study = reporting.load_study(tmp_path, main_alpha=0.5)
    assert study.hybrid == "Hybrid(0.50)"
    assert study.main_systems("xquad-r") == ["untrained", "bm25", "X-X", "X-Y", "Hybrid(0.50)"]
    assert study.main_systems("xquad-r", baselines=["untrained"]) == [
        "untrained",
        "X-X",
        "X-Y",
        "Hybrid(0.50)",
    ]
    # another chapter alpha makes another Hybrid the main one
    assert reporting.load_study(tmp_path, main_alpha=0.25).main_systems("xquad-r")[-1] == (
        "Hybrid(0.25)"
    )
    # trained runs of another direction are left out; baselines are not trained on one
    assert study.main_systems("xquad-r", "xquad-to-mlqa") == ["untrained", "bm25"]
    assert study.suites == ["xquad-r"] and study.measures_of("xquad-r") == [("mono", "map")]
    assert study.mixing("xquad-r", "mlqa-to-xquad").per_pair == ("Per-pair(0.50)",)


def test_the_studys_summaries_and_claims_are_the_functions_on_its_frames(tmp_path: Path) -> None:
    claim_run(tmp_path, {"X-X": -0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.01}, n=20)
    study = reporting.load_study(tmp_path)
    per_query, runs = reporting.load_results(tmp_path)
    pd.testing.assert_frame_equal(study.per_query, per_query)
    measures = [("mono", "map"), ("multi", "rank_distance")]
    systems = ["X-X", "X-Y", "Hybrid(0.50)"]
    pd.testing.assert_frame_equal(
        study.summarise("xquad-r", systems, measures, n_resamples=100),
        reporting.summarise(per_query, runs, "xquad-r", systems, measures, n_resamples=100),
    )
    claims = reporting.paper_claims("xquad-r")
    pd.testing.assert_frame_equal(
        study.evaluate_claims(claims, n_resamples=100),
        reporting.evaluate_claims(per_query, runs, claims, n_resamples=100),
    )
    effects = [("X-Y - X-X", "X-Y", "X-X", "mono", "map")]
    shown = study.effect_sizes("xquad-r", effects, n_resamples=100)
    assert shown["difference"].iloc[0] == pytest.approx(0.05)


def test_a_folder_without_runs_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=f"no evaluated run \\(run.json\\) under {tmp_path}"
    ):
        reporting.load_study(tmp_path)
