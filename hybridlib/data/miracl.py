"""MIRACL (Zhang et al., 2023), monolingual passage retrieval over Wikipedia in 18 languages,
read from its published layout: the two Hugging Face data sets as their repositories hold them,
side by side in one folder (by default ``{data root}/miracl``)::

    miracl/miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-{split}.tsv   # qid \\t query
    miracl/miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-{split}.tsv     # qid Q0 docid grade
    miracl-corpus/miracl-corpus-v1.0-{lang}/docs-{n}.jsonl.gz                # docid, title, text

(``git clone`` of ``miracl/miracl`` and ``miracl/miracl-corpus`` into one folder gives it.)
The data are not part of this project's pinned data folder: a language is available when its
three parts are present. As in the MIRACL baselines, every topic of the split is a query, a
passage is encoded as ``title + " " + text``, and judged-non-relevant passages (grade 0) stay in
the qrels (they count as not relevant). A passage's article is its title: evaluating a model,
the passages of the articles it trained on are removed from the pool (the suite's
``drop_training_articles``), since a whole Wikipedia holds them. Queries are not parallel: ``parallel_key`` is the query
id, and the suite is evaluated Mono, one language at a time (nDCG@10, Recall@100).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from hybridlib.data._fields import check_judgements, get, parse_json_line, read_text
from hybridlib.data.errors import DataError
from hybridlib.data.languages import select_languages
from hybridlib.data.sources import resolve_root
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite

MIRACL_VERSION = "v1.0"
QRELS_COLUMNS = 4  # qid, the literal Q0, docid, grade (TREC qrels)
_SHARD = re.compile(r"docs-(\d+)\.jsonl(\.gz)?")


def miracl_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """``{root}/miracl``: the folder holding ``miracl/`` and ``miracl-corpus/``."""
    return resolve_root(root) / "miracl"


def miracl_files(folder: Path, language: str, split: str) -> tuple[Path, Path, list[Path]]:
    """(topics, qrels, corpus shards in shard order) of ``language`` under ``folder``."""
    name = f"miracl-{MIRACL_VERSION}-{language}"
    topics = folder / "miracl" / name / "topics" / f"topics.{name}-{split}.tsv"
    qrels = folder / "miracl" / name / "qrels" / f"qrels.{name}-{split}.tsv"
    corpus = folder / "miracl-corpus" / f"miracl-corpus-{MIRACL_VERSION}-{language}"
    shards = sorted(
        (path for path in corpus.glob("docs-*.jsonl*") if _SHARD.fullmatch(path.name)),
        key=lambda path: int(_SHARD.fullmatch(path.name).group(1)),  # type: ignore[union-attr]
    )
    return topics, qrels, shards


def miracl_languages(split: str = "dev", root: str | os.PathLike[str] | None = None) -> list[str]:
    """The languages whose topics, qrels and corpus for ``split`` are all present (sorted)."""
    folder = miracl_folder(root)
    prefix = f"miracl-{MIRACL_VERSION}-"
    found = []
    for path in sorted((folder / "miracl").glob(f"{prefix}*")):
        language = path.name.removeprefix(prefix)
        topics, qrels, shards = miracl_files(folder, language, split)
        if topics.is_file() and qrels.is_file() and shards:
            found.append(language)
    return found


def read_topics(path: Path) -> dict[str, str]:
    """``{qid: query}`` from a MIRACL topics file (``qid \\t query`` per line)."""
    topics: dict[str, str] = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        qid, tab, text = line.partition("\t")
        if not tab or not qid or not text.strip():
            raise DataError(path, f"line {number}", line, "is not 'qid<TAB>query'")
        if qid in topics:
            raise DataError(path, f"line {number} qid", qid, "repeats a query id")
        topics[qid] = text
    return topics


def read_trec_qrels(path: Path) -> Qrels:
    """``{qid: {docid: grade}}`` from TREC qrels (``qid Q0 docid grade``, tabs or spaces)."""
    qrels: Qrels = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        columns = line.split()
        if not columns:
            continue
        if len(columns) != QRELS_COLUMNS:
            raise DataError(
                path, f"line {number}", line,
                f"has {len(columns)} columns, not {QRELS_COLUMNS} (qid Q0 docid grade)",
            )  # fmt: skip
        qid, _, docid, grade = columns
        try:
            qrels.setdefault(qid, {})[docid] = int(grade)
        except ValueError:
            raise DataError(path, f"line {number} grade", grade, "is not an integer") from None
    return qrels


def read_corpus(shards: list[Path], language: str) -> list[Candidate]:
    """Every passage of the shards, in order; ``article`` is its Wikipedia article's title (the
    leakage guard's unit: MIRACL's pools are whole Wikipedias, so they hold the articles XQuAD
    and MLQA were built from), or the docid's article part ``X`` of ``X#Y`` without a title."""
    candidates: list[Candidate] = []
    seen: dict[str, str] = {}
    for path in shards:
        for number, line in enumerate(read_text(path).split("\n"), start=1):
            if not line.strip():
                continue
            row = parse_json_line(path, number, line)
            where = f"line {number}"
            docid = get(path, row, "docid", where, str)
            text = get(path, row, "text", where, str)
            title = get(path, row, "title", where, str) if "title" in row else ""
            if docid in seen:
                raise DataError(path, f"{where}.docid", docid, f"repeats a docid of {seen[docid]}")
            seen[docid] = f"{path.name} {where}"
            candidates.append(
                Candidate(docid, language, f"{title} {text}" if title else text,
                          article=title or docid.partition("#")[0])
            )  # fmt: skip
    return candidates


def load_miracl(
    language: str,
    split: str = "dev",
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """MIRACL ``split`` in one language: its topics against its whole corpus.

    Suite name ``f"miracl/{split}/{language}"``; query and passage ids are MIRACL's own (so runs
    compare with Pyserini's), the query's ``parallel_key`` its id. Every judged docid must be in
    the corpus and every judged qid among the topics, else :class:`DataError`.
    """
    folder = miracl_folder(root)
    available = miracl_languages(split, root)
    (lang,) = select_languages(
        [language], available, file=folder,
        unavailable=(
            f"has no MIRACL {split} topics, qrels and corpus under this folder "
            f"(available: {', '.join(available) or 'none'})"
        ),
    )  # fmt: skip
    topics_path, qrels_path, shards = miracl_files(folder, lang, split)
    topics = read_topics(topics_path)
    qrels = read_trec_qrels(qrels_path)
    candidates = read_corpus(shards, lang)
    docids = {candidate.id for candidate in candidates}
    check_judgements(
        qrels_path, qrels,
        query_field="qid", query_ids=topics, queries_name=topics_path.name,
        corpus_field="docid", corpus_ids=docids, corpus_name=f"the {lang} corpus",
    )  # fmt: skip
    queries = [Query(qid, lang, text, qid) for qid, text in topics.items()]
    return RetrievalSuite(
        name=f"miracl/{split}/{lang}",
        queries=queries,
        candidates=candidates,
        qrels=qrels,
        metadata={
            "files": [str(topics_path), str(qrels_path), *map(str, shards)],
            "split": split,
        },
    )


def load_miracl_languages(
    split: str = "dev",
    languages: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> list[RetrievalSuite]:
    """One suite per language (:func:`load_miracl`): each corpus is its own pool, and they
    are large (Arabic 2 M passages), so they are never merged."""
    available = miracl_languages(split, root)
    if not available:
        raise DataError(
            miracl_folder(root), "folder", str(miracl_folder(root)),
            f"holds no MIRACL {split} language (expected miracl/miracl-{MIRACL_VERSION}-xx/ "
            "topics and qrels beside miracl-corpus/)",
        )  # fmt: skip
    langs = select_languages(
        languages, available, file=miracl_folder(root),
        unavailable=f"has no MIRACL {split} data here (available: {', '.join(available)})",
    )  # fmt: skip
    return [load_miracl(lang, split, root) for lang in langs]
