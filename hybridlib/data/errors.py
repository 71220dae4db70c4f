"""One error type for bad input data: it names the file, the field and the value."""

from __future__ import annotations

import os
from typing import Any

_MISSING = object()


def _show(value: Any, limit: int = 80) -> str:
    """A short repr of ``value`` for an error message."""
    if value is _MISSING:
        return "<missing>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class DataError(ValueError):
    """Bad input data, e.g.

    ``xquad-r/en.json: data[3].paragraphs[1].qas[0].answers[0].answer_start = 9999 is outside
    its paragraph (length 812)``.

    ``file``, ``field`` and ``value`` are kept as attributes for programs; ``problem`` is the
    human sentence that follows the value.
    """

    MISSING = _MISSING

    def __init__(
        self,
        file: str | os.PathLike[str],
        field: str,
        value: Any,
        problem: str,
    ) -> None:
        self.file = str(file)
        self.field = field
        self.value = None if value is _MISSING else value
        self.problem = problem
        super().__init__(f"{self.file}: {field} = {_show(value)} {problem}")

    def __reduce__(self):  # picklable across DataLoader workers
        return (type(self), (self.file, self.field, self.value, self.problem))
