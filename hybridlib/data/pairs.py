"""Training pairs in a file of their own: JSON lines with the fields of
:class:`~hybridlib.data.types.TrainingPair`, and the hash that records them in provenance."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from hybridlib.data._fields import check_text, no_duplicate_keys
from hybridlib.data.errors import DataError
from hybridlib.data.types import TrainingPair


def read_pairs_file(path: str | os.PathLike[str]) -> list[TrainingPair]:
    """Training pairs from JSON lines with the fields of :class:`TrainingPair`.

    Every line is checked before any pair is used: bad JSON, bytes that are not UTF-8, a key
    given twice, a missing or unknown field, a field that is not a string (``context`` may be
    null) and an empty text (whitespace or zero-width characters only) raise
    :class:`~hybridlib.data.DataError` naming the file, line, field and value; so does a file
    that holds no pair.
    """
    path = Path(path)
    fields = dataclasses.fields(TrainingPair)
    names = {f.name for f in fields}
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file", str(path), "does not exist") from None
    pairs = []
    offset = 0
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        start, offset = offset, offset + len(raw)
        where = f"line {number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                path,
                f"{where}, byte {start + error.start}",
                raw[error.start : error.start + 8],
                "is not UTF-8",
            ) from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=no_duplicate_keys(path, where))
        except json.JSONDecodeError as error:
            raise DataError(path, where, line.strip(), f"is not valid JSON ({error.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(path, where, obj, f"must be an object with the fields {required}")
        unknown, missing = sorted(set(obj) - names), [n for n in required if n not in obj]
        if unknown or missing:
            raise DataError(
                path, where, obj, f"has unknown fields {unknown} / lacks fields {missing}"
            )
        for name in required:
            check_text(path, f"{where}, field {name!r}", obj[name])
        if obj.get("context") is not None and not isinstance(obj["context"], str):
            raise DataError(path, f"{where}, field 'context'", obj["context"], "is not a string")
        pairs.append(TrainingPair(**obj))
    if not pairs:
        raise DataError(path, "pairs", 0, "were read: the file holds no training pair")
    return pairs


def pairs_sha256(pairs: Sequence[TrainingPair]) -> str:
    """A hash of the training pairs' content and order (for provenance)."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(json.dumps(dataclasses.astuple(pair), ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
