"""Reading JSON files and their fields, and checking relevance judgements, with errors that name
file, field and value."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Container
from pathlib import Path
from typing import Any

from hybridlib.data.errors import DataError

_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


def read_json(path: Path) -> Any:
    """Parse a whole JSON file; an empty or malformed file raises :class:`DataError`."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        field = f"JSON at line {error.lineno}, column {error.colno}"
        raise _malformed(path, field, text, error, "is malformed") from None


def read_text(path: Path) -> str:
    """The UTF-8 text of a file, decompressed when its name ends in ``.gz``; a missing, corrupt
    or empty file (or only whitespace) raises :class:`DataError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file", str(path), "does not exist") from None
    if path.suffix != ".gz":
        return decode_text(path, data, size_field="file size")
    try:
        data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(path, "gzip stream", path.name, f"cannot be read ({error})") from None
    return decode_text(path, data, size_field="decompressed size")


def decode_text(path: Path, data: bytes, *, size_field: str) -> str:
    """``data`` (read from ``path``) decoded as UTF-8; undecodable or empty raises DataError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(
            path, f"byte {error.start}", data[error.start : error.start + 8], "is not UTF-8"
        ) from None
    if not text.strip():
        raise DataError(path, size_field, len(data), "bytes: the file is empty")
    return text


# characters that show nothing: a text of only these (and whitespace) is empty
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing but whitespace and zero-width characters."""
    return not text.strip().strip(ZERO_WIDTH + " \t\n\r\f\v").strip()


def check_text(path: Path, field: str, value: Any) -> str:
    """``value`` checked to be a string with a visible character; else :class:`DataError`
    naming ``path``, ``field`` and the value."""
    if not isinstance(value, str):
        raise DataError(path, field, value, "is not a string")
    if is_blank(value):
        raise DataError(path, field, value, "is empty (only whitespace or zero-width characters)")
    return value


def no_duplicate_keys(path: Path, field: str) -> Any:
    """An ``object_pairs_hook`` for :func:`json.loads` that refuses a key given twice in one
    object (``json`` would keep the last silently)."""

    def hook(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise DataError(path, f"{field}, key {key!r}", value, "is given twice")
            result[key] = value
        return result

    return hook


def parse_json_line(path: Path, line_number: int, line: str) -> Any:
    """Parse one line of a JSON-lines file (``line_number`` counts from 1); a key given twice
    in one object raises :class:`DataError` naming file, line and key."""
    try:
        return json.loads(line, object_pairs_hook=no_duplicate_keys(path, f"line {line_number}"))
    except json.JSONDecodeError as error:
        field = f"line {line_number}, column {error.colno}"
        raise _malformed(path, field, line, error, "is malformed JSON") from None


def _malformed(
    path: Path, field: str, text: str, error: json.JSONDecodeError, what: str
) -> DataError:
    """The error for JSON that does not parse: the 40 characters around the fault as the value."""
    return DataError(
        path, field, text[max(0, error.pos - 20) : error.pos + 20], f"{what} ({error.msg})"
    )


def get(path: Path, obj: Any, key: str, where: str, kind: type) -> Any:
    """``obj[key]`` checked to be of type ``kind``; ``where`` is the JSON path of ``obj``.

    ``bool`` is not accepted where an ``int`` is expected.
    """
    field = f"{where}.{key}" if where else key
    if not isinstance(obj, dict):
        raise DataError(path, where or "top level", obj, "is not a JSON object")
    if key not in obj:
        present = ", ".join(sorted(map(str, obj))) or "none"
        raise DataError(path, field, DataError.MISSING, f"is missing (fields present: {present})")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DataError(path, field, value, f"is not {_TYPE_NAMES.get(kind, kind.__name__)}")
    return value


def check_judgements(
    qrels_path: Path,
    qrels: dict[str, dict[str, int]],
    *,
    query_field: str,
    query_ids: Container[str],
    queries_name: str,
    corpus_field: str,
    corpus_ids: Container[str],
    corpus_name: str,
) -> None:
    """Every judged query is in ``query_ids`` and every judged document in ``corpus_ids``.

    Else :class:`DataError` naming ``qrels_path``, the field (``query_field`` or
    ``corpus_field``) and the id: "is not in {queries_name}" or "is not in {corpus_name}".
    """
    for query_id, judged in qrels.items():
        if query_id not in query_ids:
            raise DataError(qrels_path, query_field, query_id, f"is not in {queries_name}")
        for corpus_id in judged:
            if corpus_id not in corpus_ids:
                raise DataError(qrels_path, corpus_field, corpus_id, f"is not in {corpus_name}")
