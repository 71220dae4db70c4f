"""The build's time by phase (hybridlib.reporting.budget), computed by hand from a small runs
folder: the manifest, a trainer's log and provenance, a run record, a benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridlib.reporting.budget import build_budget, execution_group
from hybridlib.run_records import baseline_record, write_run_record


def _write(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def test_minutes_per_phase_and_group_by_hand(tmp_path: Path) -> None:
    executions = [  # (name, seconds)
        ("data", 60.0),
        ("runs/evaluate/untrained", 120.0),
        ("runs/xquad-to-mlqa/hybrid", 600.0),
        ("results", 180.0),
        ("efficiency", 999.0),  # replaced by the benchmarks' own time
    ]
    _write(
        tmp_path / "notebooks" / "manifest.json", [{"name": n, "seconds": s} for n, s in executions]
    )
    log = tmp_path / "models" / "hybrid-s0" / "train_log.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("".join(json.dumps({"step": i, "seconds": 30.0}) + "\n" for i in range(10)))
    _write(log.parent / "provenance.json", {"parameters": {"training_pairs_sha256": "abc",
                                                           "hidden_state_cache": {"fill_seconds": 24.0}}})  # fmt: skip
    record = {**baseline_record("untrained", "tiny"), "suites": ["xquad-r", "mlqa-r"],
              "evaluation_seconds": {"xquad-r": 50.0, "mlqa-r": 40.0}, "hidden_state_fill_seconds": 30.0}  # fmt: skip
    write_run_record(tmp_path / "results" / "untrained", record)
    _write(tmp_path / "benchmarks" / "encoding.json", {"machine": {"wall_seconds": 90.0}})

    phases, groups = build_budget(tmp_path)
    minutes = phases["minutes"]
    assert minutes["hidden-state cache fill (frozen bottom, once per text)"] == pytest.approx(
        54 / 60
    )
    assert minutes["training steps"] == pytest.approx(300 / 60)
    assert minutes["evaluation (top layers, scoring, measures)"] == pytest.approx(
        60 / 60
    )  # 90 - 30
    assert minutes["benchmarks (efficiency chapter)"] == pytest.approx(90 / 60)
    assert minutes["statistics, tables and figures (chapters)"] == pytest.approx(240 / 60)
    total = 60 + 120 + 600 + 180 + 90
    assert minutes["all notebook executions"] == pytest.approx(total / 60)
    other = total - (54 + 300 + 60 + 90 + 240)
    assert minutes["other (kernels, loading data and models, validation scoring)"] == pytest.approx(
        other / 60
    )
    assert groups.loc["training and evaluation runs", "minutes"] == pytest.approx(10.0)
    assert groups.loc["efficiency (benchmarks)", "minutes"] == pytest.approx(1.5)


def test_executions_are_grouped_by_their_plan_names() -> None:
    assert execution_group("runs/evaluate/bm25") == "baselines"
    assert execution_group("runs/validate/xquad-to-mlqa") == "validation runs"
    assert execution_group("runs/mlqa-to-xquad/x-x") == "training and evaluation runs"
    assert execution_group("topk") == "top-k check"
    assert execution_group("mixing") == "chapters"
