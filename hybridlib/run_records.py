"""Run records: ``run.json``, who an evaluated system is, written by the experiment and read
back by reporting.

A run folder holds ``run.json`` and one subfolder per evaluated suite. The record states the
system's identity (:data:`IDENTITY_FIELDS`; the names come from :mod:`hybridlib.systems`),
what it was trained on, and the suites it was evaluated on with their settings and timings.
:func:`trained_record` and :func:`baseline_record` build the identity part;
:func:`write_run_record` writes the whole record atomically after every suite is complete,
so a folder with a record is a finished run; :func:`read_run_records` reads every record
under a folder and refuses one that is not a record, naming the file, the field and its
value. Free of
torch: the runner and reporting import it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hybridlib.data._fields import read_json
from hybridlib.data.errors import DataError
from hybridlib.io import atomic_write_json
from hybridlib.protocol import direction
from hybridlib.systems import canonical, system_label, system_name

RUN_RECORD = "run.json"
# who a system is: what reporting groups, orders and compares by (never its display name)
IDENTITY_FIELDS = ("system", "sampler", "alpha", "alpha_end", "seed", "direction", "method")
# fields every record must hold: a comparison's unit is a system's seed on a suite. The other
# identity fields are None when absent (a user's retriever outside the experiment has no
# sampler or alpha; baselines have no direction; fixed-alpha runs no alpha_end)
REQUIRED_FIELDS = ("system", "seed", "suites")


def baseline_record(method: str, model: str) -> dict[str, Any]:
    """The identity of a baseline (the untrained encoder or BM25): one "seed", no direction."""
    if method not in ("untrained", "bm25"):
        raise ValueError(f"method must be 'untrained' or 'bm25', but got {method!r}")
    return {"run_name": method, "method": method, "system": method, "sampler": method,
            "alpha": -1.0, "seed": 0, "direction": None,
            "model": "bm25" if method == "bm25" else model}  # fmt: skip


def trained_record(
    direction_name: str,
    sampler: str,
    alpha: float,
    seed: int,
    model: str,
    alpha_end: float | None = None,
) -> dict[str, Any]:
    """The identity of one trained model (``alpha_end``: a scheduled alpha's last value); a
    fixed alpha of 1 or 0 is recorded as X-X or X-Y whatever sampler trained it."""
    label, name = system_label(sampler, alpha, alpha_end), system_name(sampler, alpha, alpha_end)
    if alpha_end is None or alpha_end == alpha:
        sampler, alpha = canonical(sampler, alpha)
    chosen = direction(direction_name)
    return {"run_name": f"{label}-s{seed}", "method": "trained",
            "system": name, "sampler": sampler, "alpha": alpha,
            "alpha_end": alpha_end if alpha_end is not None and alpha_end != alpha else None,
            "seed": seed, "direction": direction_name, "model": model,
            "train_suite": chosen.train_suite, "training_languages": list(chosen.languages)}  # fmt: skip


def write_run_record(folder: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Write ``record`` as ``folder/run.json`` atomically (after its suites are complete)."""
    check_run_record(record, Path(folder) / RUN_RECORD)
    return atomic_write_json(Path(folder) / RUN_RECORD, record)


def read_run_records(root: str | os.PathLike[str]) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``(run folder, record)`` under ``root`` (any depth), sorted by path. Raises
    ``ValueError`` naming the file and the field of a record that is not one."""
    records = []
    for path in sorted(Path(root).rglob(RUN_RECORD)):
        record = read_json(path)  # empty or malformed: a DataError naming line and column
        check_run_record(record, path)
        records.append((path.parent, record))
    return records


def check_run_record(record: Any, path: Path) -> None:
    """Raise :class:`~hybridlib.data.errors.DataError` (a ``ValueError``) naming ``path``, the
    field and its value unless ``record`` is a run record: a JSON object with
    :data:`REQUIRED_FIELDS`, an integer seed and a list of suites."""
    if not isinstance(record, dict):
        raise DataError(path, "record", record, "must be a JSON object")
    for field in REQUIRED_FIELDS:
        if field not in record:
            raise DataError(path, field, DataError.MISSING, "is required in a run record")
    if isinstance(record["seed"], bool) or not isinstance(record["seed"], int):
        raise DataError(path, "seed", record["seed"], "must be an integer")
    if not isinstance(record["suites"], list):
        raise DataError(path, "suites", record["suites"], "must be a list of suite names")
