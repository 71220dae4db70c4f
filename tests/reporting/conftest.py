"""Run folders as hybridlib.experiment.evaluate_run writes them, for the reporting tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SETTINGS = {
    "max_length": 512,
    "precision": "float32",
    "top_layers": 2,
    "candidate_input": "sentence",
}


def write_run(
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


def unit_rows(values: dict[tuple[str, str], list[float]], setting: str = "mono") -> list[tuple]:
    """(cell) -> one value per question q0, q1, ...; the question is its own cluster."""
    return [
        (setting, x, y, f"{x}/q{i}", f"q{i}", "map", v)
        for (x, y), vs in values.items()
        for i, v in enumerate(vs)
    ]


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


def claim_run(root: Path, shift: dict[str, float], n: int = 60, seeds=(0, 1, 2)) -> None:
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
                            base[c, i] + offset + 0.0002 * seed,
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
            write_run(root, f"{system}-{seed}", system, seed, rows, **RECORDS.get(system, {}))
