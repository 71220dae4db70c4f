"""One study, one direction per suite: XM3600's X-X and MLQA's X-X both evaluate XQuAD-R,
and a system is named by its sampler, so a study chooses its directions and a comparison that
would pool two directions' runs is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import reporting

from .conftest import RECORDS, unit_rows, write_run


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
        assert set(study.runs["direction"].dropna()) == (
            {"xm3600"} if value == 0.9 else {"mlqa-to-xquad"}
        )
        summary = study.summarise(
            "xquad-r", ["untrained", "X-X"], [("mono", "map")], n_resamples=50
        )
        means = summary.set_index("system")["mean"]
        assert means["X-X"] == pytest.approx(value) and means["untrained"] == pytest.approx(0.1)
    assert question.suites_of("xm3600") == ["xquad-r"] and question.suites_of("mlqa-to-xquad") == []
    # a direction without runs: the baselines alone; a folder of another direction's only: named
    assert set(reporting.load_study(tmp_path, directions=["xquad-to-mlqa"]).runs["system"]) == {
        "untrained"
    }
    (tmp_path / "untrained" / "run.json").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"no evaluated run of directions \['xquad-to-mlqa'\]"
    ):
        reporting.load_study(tmp_path, directions=["xquad-to-mlqa"])


def test_pooling_two_directions_runs_of_one_system_is_refused(tmp_path: Path) -> None:
    _two_directions(tmp_path)
    every = reporting.load_study(tmp_path, directions=None)
    with pytest.raises(reporting.ComparisonError,
                       match=r"xquad-r: system 'X-X' has runs trained in several directions \['mlqa-to-xquad', 'xm3600'\]"):  # fmt: skip
        every.summarise("xquad-r", ["X-X", "X-Y"], [("mono", "map")], n_resamples=50)
