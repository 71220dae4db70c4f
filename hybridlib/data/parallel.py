"""Suites built from parallel texts (bitext, translated captions): one home for their
relevance rule and for reading line-aligned files.

Every text is both a query and a candidate. Relevance is symmetric and cross-lingual: a
query in language X is relevant (grade 1) to every candidate of the same item
(``parallel_key``) in another language Y != X; evaluate in the Cross setting (queries of X
against the candidates of Y). Where an item has several texts in one language (captions),
``same_language=True`` also judges the others in X relevant (Mono); a query's own text is
then in its Mono and Multi pools under the query's id and must be left out of its ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from hybridlib.data._fields import read_text
from hybridlib.data.errors import DataError
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (``.gz`` is decompressed), without line ends.

    An empty file, or a blank line, raises :class:`DataError`.
    """
    text = read_text(path)
    lines = text.split("\n")  # not splitlines(): U+2028 and friends may occur inside a line
    if lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(path, f"line {number}", line, "is blank")
    return lines


def read_aligned(paths: dict[str, Path]) -> dict[str, list[str]]:
    """Read line-aligned files ``{language: path}``; all must have the same number of lines."""
    lines = {lang: read_lines(path) for lang, path in paths.items()}
    first = next(iter(paths))
    for lang, texts in lines.items():
        if len(texts) != len(lines[first]):
            raise DataError(
                paths[lang],
                "line count",
                len(texts),
                f"differs from {paths[first].name} ({len(lines[first])} lines); "
                "line-aligned files must have the same number of lines",
            )
    return lines


def parallel_suite(
    name: str,
    items: Iterable[tuple[str, str, str]],
    metadata: dict[str, object] | None = None,
    *,
    articles: Mapping[str, str] | None = None,
    same_language: bool = False,
) -> RetrievalSuite:
    """A suite from ``(language, item_key, text)`` triples.

    Ids are ``f"{name}/{language}/{item_key}"``, with ``f"/{j}"`` appended when an item has
    several texts in one language (captions); ``parallel_key = f"{name}/{item_key}"``.
    ``articles`` maps an item key to the ``article`` of its queries and candidates (the unit
    :meth:`RetrievalSuite.subset` and the leakage guard filter on). ``same_language=True``
    also judges the item's other texts in the query's own language relevant (captions: the
    Mono setting); a text is never judged relevant to itself.
    """
    items = list(items)
    counts: dict[tuple[str, str], int] = {}
    for lang, key, _ in items:
        counts[(lang, key)] = counts.get((lang, key), 0) + 1
    seen: dict[tuple[str, str], int] = {}
    queries, candidates = [], []
    by_item: dict[str, list[tuple[str, str]]] = {}  # item key -> [(language, id)]
    for lang, key, text in items:
        j = seen.get((lang, key), 0)
        seen[(lang, key)] = j + 1
        uid = f"{name}/{lang}/{key}" + (f"/{j}" if counts[(lang, key)] > 1 else "")
        article = articles[key] if articles is not None else None
        queries.append(Query(uid, lang, text, f"{name}/{key}", article))
        candidates.append(Candidate(uid, lang, text, article=article))
        by_item.setdefault(key, []).append((lang, uid))
    qrels: Qrels = {}
    for query, (lang, key, _) in zip(queries, items, strict=True):
        judged = {
            cid: 1
            for other, cid in by_item[key]
            if other != lang or (same_language and cid != query.id)
        }
        if judged:
            qrels[query.id] = judged
    return RetrievalSuite(name, queries, candidates, qrels, dict(metadata or {}))
