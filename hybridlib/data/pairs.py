"""Training pairs in a file of their own: JSON lines with the fields of
:class:`~hybridlib.data.types.TrainingPair`, and the hash that records them in provenance."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence

from hybridlib.data.errors import DataError
from hybridlib.data.types import TrainingPair


def read_pairs_file(path: str | os.PathLike[str]) -> list[TrainingPair]:
    """Training pairs from JSON lines with the fields of :class:`TrainingPair`.

    Bad lines raise :class:`~hybridlib.data.DataError` naming the file, line and value.
    """
    fields = dataclasses.fields(TrainingPair)
    names = {f.name for f in fields}
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(
                    path, where, line.strip(), f"is not valid JSON ({error.msg})"
                ) from None
            if not isinstance(obj, dict):
                raise DataError(path, where, obj, f"must be an object with the fields {required}")
            unknown, missing = sorted(set(obj) - names), [n for n in required if n not in obj]
            if unknown or missing:
                raise DataError(
                    path, where, obj, f"has unknown fields {unknown} / lacks fields {missing}"
                )
            pairs.append(TrainingPair(**obj))
    return pairs


def pairs_sha256(pairs: Sequence[TrainingPair]) -> str:
    """A hash of the training pairs' content and order (for provenance)."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(json.dumps(dataclasses.astuple(pair), ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
