"""The build's time, by phase: where the minutes of ``hybridlib book`` went.

Read from what the build wrote: the runner's manifest (wall seconds of every notebook
execution, cached ones at the cost of the run that made them), the trainers' logs (seconds of
every optimizer step), the evaluation records (seconds per suite) and the hidden-state cache's
fill time. Phases: filling the cache (the frozen bottom over every text, once), training
steps, evaluation (top layers, scoring, measures), the benchmarks, the chapters (statistics,
tables and figures), and the rest (starting kernels, loading data and models, validation
scoring), which is the total minus the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hybridlib.run_records import read_run_records


def _json_files(folder: Path, name: str) -> list[dict]:
    return (
        [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob(name))]
        if folder.is_dir()
        else []
    )


def execution_group(name: str) -> str:
    """The group of an execution of the plan, by its name."""
    if name.startswith("runs/evaluate/"):
        return "baselines"
    if name.startswith("runs/validate/"):
        return "validation runs"
    if name.startswith("runs/"):
        return "training and evaluation runs"
    if name == "topk":
        return "top-k check"
    if name == "efficiency":
        return "efficiency (benchmarks)"
    return "chapters"


def build_budget(runs_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(phases, groups)``: minutes per phase, and minutes per group of executions."""
    runs_dir = Path(runs_dir)
    manifest = json.loads((runs_dir / "notebooks" / "manifest.json").read_text(encoding="utf-8"))
    executions = pd.DataFrame(manifest)
    executions["group"] = executions["name"].map(execution_group)
    training = 0.0
    for log in sorted(runs_dir.rglob("train_log.jsonl")):
        training += sum(
            json.loads(line)["seconds"]
            for line in log.read_text(encoding="utf-8").splitlines()
            if line
        )
    fill = evaluation = 0.0
    for record in _json_files(runs_dir, "provenance.json"):
        parameters = record.get("parameters") or {}
        if "training_pairs_sha256" in parameters:  # a trainer's (evaluations: from run.json)
            fill += float((parameters.get("hidden_state_cache") or {}).get("fill_seconds", 0.0))
    for _, record in read_run_records(runs_dir):
        filled = float(record.get("hidden_state_fill_seconds", 0.0))
        fill += filled
        evaluation += (
            sum(float(v or 0.0) for v in (record.get("evaluation_seconds") or {}).values()) - filled
        )
    # the benchmarks' own wall time (the efficiency chapter, which shows this table, runs last
    # and is not yet in the manifest when it does)
    benchmarks = sum(float(r["machine"]["wall_seconds"]) for r in _json_files(runs_dir / "benchmarks", "*.json")
                     if "machine" in r)  # fmt: skip
    executions = executions[executions["group"] != "efficiency (benchmarks)"]
    total = float(executions["seconds"].sum()) + benchmarks
    chapters = float(executions.loc[executions["group"] == "chapters", "seconds"].sum())
    phases = {
        "hidden-state cache fill (frozen bottom, once per text)": fill,
        "training steps": training,
        "evaluation (top layers, scoring, measures)": max(evaluation, 0.0),
        "benchmarks (efficiency chapter)": benchmarks,
        "statistics, tables and figures (chapters)": chapters,
    }
    phases["other (kernels, loading data and models, validation scoring)"] = max(
        total - sum(phases.values()), 0.0
    )
    table = pd.DataFrame(
        {"minutes": [v / 60 for v in phases.values()]}, index=pd.Index(list(phases), name="phase")
    )
    table.loc["all notebook executions"] = total / 60
    groups = executions.groupby("group", sort=False).agg(
        executions=("name", "size"), minutes=("seconds", lambda s: s.sum() / 60)
    )
    groups.loc["efficiency (benchmarks)"] = (1, benchmarks / 60)
    return table, groups
