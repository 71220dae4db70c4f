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


# One study, one direction per suite: XM3600's X-X and MLQA's X-X both evaluate XQuAD-R, and a
# system is named by its sampler, so a study chooses its directions and a comparison that would
# pool two directions' runs is refused.


def _two_directions(root: Path) -> None:
    for direction, value in (("mlqa-to-xquad", 0.5), ("xm3600", 0.9)):
        rows = unit_rows({("en", "en"): [value, value]})
        for system in ("X-X", "X-Y"):
            write_run(root, f"{direction}-{system}", system, 0, rows, **RECORDS[system],
                      direction=direction)  # fmt: skip
    write_run(root, "untrained", "untrained", 0, unit_rows({("en", "en"): [0.1, 0.1]}),
              **{**RECORDS["untrained"], "direction": None})  # fmt: skip


def test_a_study_reads_its_directions_and_the_baselines(tmp_path: Path) -> None:
    _two_directions(tmp_path)
    paper = reporting.load_study(tmp_path)  # default: the LAReQA directions
    question = reporting.load_study(tmp_path, directions=["xm3600"])
    for study, value in ((paper, 0.5), (question, 0.9)):
        assert study.directions == (["xm3600"] if value == 0.9 else ["mlqa-to-xquad"])
        assert study.paper_suites() == ({} if value == 0.9 else {"xquad-r": "mlqa-to-xquad"})
        summary = study.summarise(
            "xquad-r", ["untrained", "X-X"], [("mono", "map")], n_resamples=50
        )
        means = summary.set_index("system")["mean"]
        assert means["X-X"] == pytest.approx(value) and means["untrained"] == pytest.approx(0.1)
    assert question.suites_of("xm3600") == ["xquad-r"] and question.suites_of("mlqa-to-xquad") == []
    # a direction without runs (a profile left it out): the baselines alone, no direction;
    # a folder of another direction's only: named
    left_out = reporting.load_study(tmp_path, directions=["xquad-to-mlqa"])
    assert set(left_out.runs["system"]) == {"untrained"} and left_out.directions == []
    # what a chapter shows in that suite's place names the suite and the missing direction
    note = reporting.left_out_table("mlqa-r").iloc[0, 0]
    assert note.startswith("MLQA-R: this build trained no model of the xquad-to-mlqa direction")
    (tmp_path / "untrained" / "run.json").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"no evaluated run of directions \['xquad-to-mlqa'\]"
    ):
        reporting.load_study(tmp_path, directions=["xquad-to-mlqa"])
    # both paper directions: their suites in the protocol's order (XQuAD-R first), not the
    # order their runs were written in
    write_run(tmp_path, "xquad-to-mlqa-X-X", "X-X", 0, unit_rows({("en", "en"): [0.3]}),
              suite="mlqa-r", **RECORDS["X-X"], direction="xquad-to-mlqa")  # fmt: skip
    assert list(reporting.load_study(tmp_path).paper_suites().items()) == [
        ("xquad-r", "mlqa-to-xquad"),
        ("mlqa-r", "xquad-to-mlqa"),
    ]


def test_pooling_two_directions_runs_of_one_system_is_refused(tmp_path: Path) -> None:
    _two_directions(tmp_path)
    every = reporting.load_study(tmp_path, directions=None)
    with pytest.raises(reporting.ComparisonError,
                       match=r"xquad-r: system 'X-X' has runs trained in several directions \['mlqa-to-xquad', 'xm3600'\]"):  # fmt: skip
        every.summarise("xquad-r", ["X-X", "X-Y"], [("mono", "map")], n_resamples=50)
