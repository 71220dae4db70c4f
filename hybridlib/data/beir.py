"""Any data set in the BEIR layout (Thakur et al., 2021): ``corpus.jsonl`` (``_id``,
``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and ``qrels/{split}.tsv`` (header
``query-id  corpus-id  score``, tab-separated).

As in BEIR, only the queries judged in the split are loaded, and a document is encoded as
``title + " " + text`` (just ``text`` when the title is empty). Ids are BEIR's own, so runs
stay comparable with BEIR tools. Everything is English (``language="en"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hybridlib.data._fields import check_judgements, get, parse_json_line, read_text
from hybridlib.data.errors import DataError
from hybridlib.data.sources import require, resolve_root
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite

QRELS_HEADER = ("query-id", "corpus-id", "score")


def read_records(
    path: Path, fields: tuple[str, ...], objects: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file with the string ``fields`` and the object (dict) fields
    ``objects`` checked (``title`` may be absent); each row also has ``line``, its line
    number, and ``_id`` must not repeat."""
    rows = []
    seen: dict[str, int] = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        obj = parse_json_line(path, number, line)
        where = f"line {number}"
        row: dict[str, Any] = {f: get(path, obj, f, where, str) for f in fields}
        row.update({f: get(path, obj, f, where, dict) for f in objects})
        row["line"] = number
        if "title" in obj:
            row["title"] = get(path, obj, "title", where, str)
        if row["_id"] in seen:
            raise DataError(
                path, f"{where}._id", row["_id"], f"repeats the id of line {seen[row['_id']]}"
            )
        seen[row["_id"]] = number
        rows.append(row)
    return rows


def document_text(row: dict[str, Any]) -> str:
    """A BEIR document as it is encoded: ``title + " " + text``, just ``text`` without title."""
    return f"{row['title']} {row['text']}" if row.get("title") else str(row["text"])


def read_qrels(path: Path) -> Qrels:
    """``{query_id: {corpus_id: score}}`` from a BEIR/TREC-style three-column TSV file."""
    qrels: Qrels = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != 3:
            raise DataError(
                path,
                f"line {number}",
                line,
                f"has {len(columns)} tab-separated columns, not 3 (query-id, corpus-id, score)",
            )
        if number == 1 and tuple(columns) == QRELS_HEADER:
            continue
        query_id, corpus_id, score = columns
        try:
            grade = int(score)
        except ValueError:
            raise DataError(path, f"line {number} score", score, "is not an integer") from None
        qrels.setdefault(query_id, {})[corpus_id] = grade
    return qrels


def load_beir(
    name_or_path: str | os.PathLike[str] = "scifact",
    split: str = "test",
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """A BEIR folder: ``name_or_path`` is a folder, or a name under ``{root}/beir/``.

    Suite name ``f"beir/{folder name}/{split}"``. Every qrels id must exist in the corpus
    and the queries, else :class:`DataError`.
    """
    path = Path(name_or_path)
    if path.is_dir():
        folder = path
        corpus_path, queries_path, qrels_path = (
            folder / "corpus.jsonl",
            folder / "queries.jsonl",
            folder / "qrels" / f"{split}.tsv",
        )
        for file in (corpus_path, queries_path, qrels_path):
            if not file.is_file():
                raise DataError(folder, "file", file.name, "is missing from this BEIR folder")
    else:
        root = resolve_root(root)
        folder = root / "beir" / str(name_or_path)
        corpus_path, queries_path, qrels_path = require(
            [
                f"beir/{name_or_path}/{name}"
                for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")
            ],
            root,
        )
    qrels = read_qrels(qrels_path)
    corpus = read_records(corpus_path, ("_id", "text"))
    all_queries = {row["_id"]: row["text"] for row in read_records(queries_path, ("_id", "text"))}
    corpus_ids = {row["_id"] for row in corpus}
    check_judgements(
        qrels_path, qrels,
        query_field="query-id", query_ids=all_queries, queries_name=queries_path.name,
        corpus_field="corpus-id", corpus_ids=corpus_ids, corpus_name=corpus_path.name,
    )  # fmt: skip
    queries = [Query(qid, "en", text, qid) for qid, text in all_queries.items() if qid in qrels]
    candidates = [Candidate(row["_id"], "en", document_text(row)) for row in corpus]
    return RetrievalSuite(
        name=f"beir/{folder.name}/{split}",
        queries=queries,
        candidates=candidates,
        qrels=qrels,
        metadata={"files": [str(corpus_path), str(queries_path), str(qrels_path)], "split": split},
    )
