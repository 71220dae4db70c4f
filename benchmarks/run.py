"""Run the benchmarks: ``.venv/bin/python -m benchmarks.run [--quick] [--output DIR] [--only NAME ...]``.

Each benchmark compares ours with its reference in the same process, on 2 threads, and
writes ``DIR/<name>.json`` (its rows, details, machine load and provenance) atomically;
the whole tidy table goes to ``DIR/table.csv`` and is printed. From Python (e.g. the book's
efficiency notebook, with the repository root as working directory)::

    from benchmarks.run import run_all
    table = run_all(quick=True, output_dir=Path("runs/benchmarks"))

Ratios are oriented so that > 1 means ours is better (see :mod:`benchmarks.common`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import encoding, evaluation, search, topk, training
from benchmarks.common import NUM_THREADS, lower_is_better, table, thread_limits

DEFAULT_OUTPUT = Path("runs") / "benchmarks"
BENCHMARKS: dict[str, Callable[..., tuple[list[dict[str, Any]], dict[str, Any]]]] = {
    "search": search.run,
    "evaluation": evaluation.run,
    "encoding": encoding.run,
    "training": training.run,
    "topk": topk.run,
}


def run_all(
    quick: bool,
    output_dir: Path,
    *,
    only: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
    options: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Run the benchmarks (all, or those named in ``only``) and return the tidy table.

    Columns: benchmark, variant, metric, value, reference, ratio, repeats, min, median, max.
    ``options`` passes keyword arguments to a benchmark's ``run`` (e.g. a smaller model in
    tests: ``{"training": {"model": "tiny"}}``).
    """
    from hybridlib.io import atomic_write_json, atomic_write_text, provenance

    names = list(BENCHMARKS) if only is None else list(only)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    output_dir = Path(output_dir)
    frames = []
    with thread_limits(NUM_THREADS):
        for name in names:
            kwargs = {"quick": quick, "log": log, **(options or {}).get(name, {})}
            load_before = os.getloadavg()
            started = time.perf_counter()
            rows, details = BENCHMARKS[name](**kwargs)
            seconds = time.perf_counter() - started
            frame = table(rows)
            record = {
                "benchmark": name,
                "rows": frame.to_dict(orient="records"),
                "details": details,
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "threads": NUM_THREADS,
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg(),
                    "wall_seconds": seconds,
                },
                "provenance": provenance(
                    {k: v for k, v in kwargs.items() if k != "log" and _jsonable(v)}
                ),
            }
            atomic_write_json(output_dir / f"{name}.json", record)
            log(f"{name}: {seconds:.1f} s (load average before {load_before[0]:.1f}, "
                f"after {os.getloadavg()[0]:.1f})\n{format_table(frame)}\n")  # fmt: skip
            frames.append(frame)
    combined = pd.concat(frames, ignore_index=True) if frames else table([])
    atomic_write_text(output_dir / "table.csv", combined.to_csv(index=False))
    return combined


# (benchmark, variant, metric, goal: the median must be >= it, or <= it where lower is better), from
# the performance issue; rows without a goal are shown for information
GOALS: list[tuple[str, str, str, float | None]] = [
    ("training_step", "hybridlib, all weights vs sentence-transformers, all weights", "ratio_pairs_per_s", 1.3),
    ("training_step", "hybridlib, frozen word embeddings vs sentence-transformers, frozen word embeddings",
     "ratio_pairs_per_s", 1.3),
    ("training_step", "hybridlib, all weights", "peak_flop_fraction", 0.5),
    ("training_step", "hybridlib, frozen word embeddings", "peak_flop_fraction", 0.5),
    ("training_step", "hybridlib, all weights vs hybridlib, all weights, padded forward",
     "ratio_pairs_per_s", None),
    ("training_step", "hybridlib, all weights vs hybridlib, all weights, plain embedding backward",
     "ratio_pairs_per_s", None),
    ("training_step", "hybridlib, frozen word embeddings vs hybridlib, frozen word embeddings, "
     "padded forward", "ratio_pairs_per_s", None),
    ("training_step", "all weights", "real_token_fraction", None),
    ("encoding", "hybridlib Encoder.encode vs sentence-transformers encode", "ratio_sentences_per_s", 1.5),
    ("encoding", "hybridlib Encoder.encode vs hybridlib Encoder.encode, padded forward",
     "ratio_sentences_per_s", None),
    ("evaluation", "hybridlib evaluate_settings (full) vs sklearn per-query loop (extrapolated)",
     "ratio_seconds", 50.0),
    ("evaluation", "hybridlib evaluate_settings (full)", "seconds", 10.0),
    ("topk", f"{topk.TOP} vs {topk.WHOLE}", "ratio_pairs_per_s", 4.0),
    ("topk", f"encode via {topk.TOP} vs encode, {topk.WHOLE}", "ratio_sentences_per_s", 5.0),
    ("topk", f"cache fill vs encode, {topk.WHOLE}", "ratio_sentences_per_s", None),
    ("topk", f"{topk.TOP} vs {topk.WHOLE}", "ratio_peak_rss_gib", None),
]  # fmt: skip


def busy_benchmarks(records: list[dict[str, Any]]) -> list[str]:
    """The benchmarks that started on a busy machine: a 1-minute load average above the
    number of cores before they ran (other work competed with both sides of their ratios)."""
    return [r["benchmark"] for r in records
            if r["machine"]["load_average_before"][0] > (r["machine"].get("cpu_count") or 1)]  # fmt: skip


def load_note(records: list[dict[str, Any]]) -> str:
    """One sentence for the chapter's headline: was the machine quiet while the benchmarks ran?"""
    if not records:
        return "No benchmark ran in this build."
    loads = [r["machine"]["load_average_before"][0] for r in records]
    cores = records[0]["machine"].get("cpu_count")
    busy = busy_benchmarks(records)
    if busy:
        return (f"The machine was busy while {len(busy)} of {len(records)} benchmarks ran ({', '.join(busy)}: "
                f"1-minute load average up to {max(loads):.1f} on {cores} cores). Other work slowed both sides "
                "of their ratios, but not evenly: those ratios are not comparable with a quiet machine's, and "
                "their goals are marked 'not comparable' rather than met or not.")  # fmt: skip
    return (f"The machine was quiet while every benchmark ran (1-minute load average at most {max(loads):.1f} "
            f"on {cores} cores before each).")  # fmt: skip


def headline(frame: pd.DataFrame, busy: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of ``frame`` that have a goal (:data:`GOALS`), plus the search ratios.

    Columns: benchmark, ours, reference, metric, median, min, max, goal, met ("yes" / "no" /
    "" / "not comparable" for a benchmark in ``busy``, :func:`busy_benchmarks`); a ratio
    row's variant ``"A vs B"`` is split into ours (A) and reference (B).
    Lower-is-better metrics (seconds, memory) must stay at or under their goal; the others at
    or above it.
    """
    wanted = list(GOALS)
    search = frame[(frame["benchmark"] == "search") & frame["metric"].str.startswith("ratio_")]
    wanted += [(r.benchmark, r.variant, r.metric, None) for r in search.itertuples()]
    out = []
    for benchmark, variant, metric, goal in wanted:
        match = frame[(frame["benchmark"] == benchmark) & (frame["variant"] == variant)
                      & (frame["metric"] == metric)]  # fmt: skip
        if match.empty:
            continue
        found = match.iloc[0]
        met, target = "", ""
        if goal is not None:
            # a ratio is oriented so that above 1 is better, whatever it divides (common.py)
            lower = lower_is_better(metric) and not metric.startswith("ratio_")
            met = "yes" if (found["median"] <= goal if lower else found["median"] >= goal) else "no"
            met = "not comparable" if benchmark in busy else met
            target = f"{'<=' if lower else '>='} {goal:g}"
        ours, _, reference = variant.partition(" vs ")
        out.append({"benchmark": benchmark, "ours": ours, "reference": reference, "metric": metric,
                    "median": found["median"], "min": found["min"], "max": found["max"],
                    "goal": target, "met": met})  # fmt: skip
    return pd.DataFrame(
        out,
        columns=["benchmark", "ours", "reference", "metric", "median", "min", "max", "goal", "met"],
    )


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


def format_table(frame: pd.DataFrame) -> str:
    """The table for a terminal: ratio and min / median / max with 3 significant digits."""
    shown = frame.copy()
    for column in ("value", "reference", "ratio", "min", "median", "max"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    return shown.to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="Benchmarks of hybridlib against its peers."
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, subsets (minutes)")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="folder for the JSON files"
    )
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    combined = run_all(args.quick, args.output, only=args.only)
    print("all benchmarks (ratio > 1: ours better)")
    print(format_table(combined))
    return 0


if __name__ == "__main__":
    sys.exit(main())
