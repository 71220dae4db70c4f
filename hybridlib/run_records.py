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

import json
import os
from pathlib import Path
from typing import Any

from hybridlib.data._fields import read_json
from hybridlib.data.errors import DataError
from hybridlib.io import atomic_write_json
from hybridlib.protocol import direction
from hybridlib.sampler_specs import system_of
from hybridlib.systems import system_label, system_name

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
    chosen = direction(direction_name)
    return {"run_name": f"{label}-s{seed}", "method": "trained", "system": name,
            **trained_identity(sampler, alpha, seed, alpha_end),
            "direction": direction_name, "model": model,
            "train_suite": chosen.train_suite, "training_languages": list(chosen.languages)}  # fmt: skip


def trained_identity(
    sampler: str, alpha: float | None, seed: int, alpha_end: float | None = None
) -> dict[str, Any]:
    """``{"sampler", "alpha", "alpha_end", "seed"}`` of a trained model, as its run record
    states them and its training metadata records them: a fixed alpha of 1 or 0 is X-X or
    X-Y whatever sampler trained it; ``alpha_end`` only for a schedule (else None)."""
    system = system_of(sampler, alpha, alpha_end)  # alpha None: the sampler's own
    return {"sampler": system.sampler, "alpha": system.alpha, "alpha_end": system.alpha_end,
            "seed": seed}  # fmt: skip


def write_run_record(folder: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Write ``record`` as ``folder/run.json`` atomically (after its suites are complete)."""
    check_run_record(record, Path(folder) / RUN_RECORD)
    return atomic_write_json(Path(folder) / RUN_RECORD, record)


def read_run_records(root: str | os.PathLike[str]) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``(run folder, record)`` under ``root`` (any depth), sorted by path. Raises
    ``ValueError`` naming the file and the field of a record that is not one, or that does not
    describe its results (:func:`check_run_describes`)."""
    records = []
    for path in sorted(Path(root).rglob(RUN_RECORD)):
        record = read_json(path)  # empty or malformed: a DataError naming line and column
        check_run_record(record, path)
        check_run_describes(path.parent, record)
        records.append((path.parent, record))
    return records


def check_run_describes(folder: Path, record: dict[str, Any]) -> None:
    """Check ``folder/run.json``'s ``record`` against the results it describes. Raises
    :class:`DataError` naming the file, field and value when: a trained record lacks its sampler, alpha or direction; its suites' results are of two
    models, or of another model than the record's ``model_sha256``; or the model records (in
    its training metadata) another seed, sampler, alpha or alpha_end than ``record``."""
    path = folder / RUN_RECORD
    method = str(record.get("method") or "")
    if method == "trained":
        for field in ("sampler", "alpha", "direction"):
            if record.get(field) is None:
                raise DataError(path, field, DataError.MISSING, "is required of a trained run")
    identity: tuple[str, str] | None = None
    first = ""
    for suite in record["suites"]:
        provenance_file = folder / str(suite) / "provenance.json"
        if not provenance_file.is_file():
            continue  # the missing results themselves are reported by their reader
        parameters = read_json(provenance_file).get("parameters") or {}
        weights = (parameters.get("model_fingerprint") or {}).get("weights_sha256")
        if weights is None:
            continue
        this = (str(weights), json.dumps(parameters.get("postprocess"), sort_keys=True))
        if identity is None:
            identity, first = this, str(suite)
        elif this != identity:
            raise DataError(
                provenance_file, "model_fingerprint.weights_sha256", weights,
                f"differs from the model (or post-processing) of suite {first!r} of the same "
                f"run: one run folder holds one model's results",
            )  # fmt: skip
        if record.get("model_sha256") not in (None, weights):
            raise DataError(
                path, "model_sha256", record["model_sha256"],
                f"is not the model whose results {provenance_file} holds ({weights})",
            )  # fmt: skip
        trained = ((parameters.get("model_metadata") or {}).get("training") or {}).get("run")
        if isinstance(trained, dict) and method.startswith("trained"):
            for field in ("seed", "sampler", "alpha", "alpha_end"):
                if field in trained and trained[field] != record.get(field):
                    raise DataError(
                        path, field, record.get(field),
                        f"but the model evaluated in {provenance_file} was trained with "
                        f"{field} = {trained[field]!r}",
                    )  # fmt: skip


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
