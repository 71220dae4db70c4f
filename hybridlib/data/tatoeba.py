"""Tatoeba bitext test set (LASER, Artetxe and Schwenk 2019): ``tatoeba.XXX-eng.{XXX,eng}``,
line-aligned, 112 languages paired with English.

Three-letter file codes become two-letter codes where one exists (see
:mod:`hybridlib.data.languages`). Both sides are queries and candidates; line ``i`` of one
side is relevant to line ``i`` of the other (the Cross setting gives xx->en and en->xx).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from hybridlib.data.errors import DataError
from hybridlib.data.languages import TATOEBA_CODES
from hybridlib.data.parallel import parallel_suite, read_aligned
from hybridlib.data.sources import expected_sha256, require, resolve_root
from hybridlib.data.types import RetrievalSuite

_TO_FILE_CODE = {code: file_code for file_code, code in TATOEBA_CODES.items()}


def tatoeba_languages() -> list[str]:
    """The 112 Tatoeba languages (hybridlib codes, sorted), from the pinned file list."""
    file_codes = {
        name.split(".")[1].split("-")[0]
        for name in expected_sha256()
        if name.startswith("tatoeba/tatoeba.")
    }
    return sorted(TATOEBA_CODES[code] for code in file_codes)


def tatoeba_directions(
    query_languages: Iterable[str], candidate_languages: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``(directions, foreign languages)`` of Tatoeba cells: ``"xx->en"`` and the query's
    language for foreign queries against English candidates, ``"en->xx"`` and the
    candidates' language the other way round. A cell without English, or English on both
    sides, is refused naming both languages."""
    directions, foreign = [], []
    for query, candidate in zip(query_languages, candidate_languages, strict=True):
        if candidate == "en" and query != "en":
            directions.append("xx->en")
            foreign.append(query)
        elif query == "en" and candidate != "en":
            directions.append("en->xx")
            foreign.append(candidate)
        else:
            raise ValueError(
                f"a Tatoeba cell pairs English with one other language, but got query language "
                f"{query!r} and candidate language {candidate!r}"
            )
    return directions, foreign


def _file_code(language: str, root: os.PathLike[str]) -> str:
    code = language.lower() if isinstance(language, str) else language
    if code in _TO_FILE_CODE:
        return _TO_FILE_CODE[code]
    if code in TATOEBA_CODES:  # the file's own three-letter code, e.g. "deu"
        return code
    raise DataError(
        os.path.join(root, "tatoeba"),
        "language",
        language,
        "is not a Tatoeba language (see hybridlib.data.tatoeba_languages())",
    )


def load_tatoeba(language: str, root: str | os.PathLike[str] | None = None) -> RetrievalSuite:
    """The Tatoeba pairs of ``language`` (e.g. ``"de"`` or ``"deu"``) and English.

    Suite name ``f"tatoeba/{lang}"``; ids ``f"tatoeba/{lang}/{side}/{line_index}"`` with
    ``side`` in ``(lang, "en")``; ``parallel_key = f"tatoeba/{lang}/{line_index}"``.
    """
    root = resolve_root(root)
    file_code = _file_code(language, root)
    lang = TATOEBA_CODES[file_code]
    stem = f"tatoeba/tatoeba.{file_code}-eng"
    other, english = require([f"{stem}.{file_code}", f"{stem}.eng"], root)
    lines = read_aligned({lang: other, "en": english})
    name = f"tatoeba/{lang}"
    items = [(side, str(i), text) for side in (lang, "en") for i, text in enumerate(lines[side])]
    return parallel_suite(
        name, items, {"files": [str(other), str(english)], "file_code": file_code}
    )
