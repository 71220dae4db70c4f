"""SciFact-MT: BEIR SciFact's claims and corpus machine-translated by Apertium (rule-based),
evaluated with the English qrels of ``beir/scifact``.

``beir/scifact-mt/queries.{lang}.jsonl`` (es ca gl eo fr pt it) and ``corpus.{lang}.jsonl``
(es ca) have BEIR's fields and the English ``_id`` s, plus ``metadata`` with ``route``,
``words`` (of the English source) and ``unknown_words`` (left untranslated by the first
step). Only the claims judged in the split are evaluated (300 in ``test``). Two loaders:

* :func:`load_scifact_mt`: claims in one language against the corpus in one language, BEIR
  ids kept: ``es -> en`` (cross-lingual), ``es -> es`` and ``ca -> ca`` (both translated),
  ``en -> en`` (= BEIR SciFact);
* :func:`load_scifact_mt_pool`: a multilingual pool of the abstracts in several languages
  (default en, es, ca); the versions of one abstract share its id as ``article`` and a claim
  is relevant to every version of each relevant abstract (LAReQA-style Multi).

Per claim ``unknown_words / words`` is in ``metadata["unknown_word_share"]`` ``{query id:
share}`` (translated claims only); the corpus share (sum over the corpus) in
``metadata["corpus_unknown_word_share"]`` ``{lang: share}``.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hybridlib.data._fields import check_judgements, get
from hybridlib.data.beir import document_text, read_qrels, read_records
from hybridlib.data.errors import DataError
from hybridlib.data.languages import select_languages
from hybridlib.data.sources import require, resolve_root
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite

ENGLISH_FOLDER = "beir/scifact"
FOLDER = "beir/scifact-mt"
QUERY_LANGUAGES = ("en", "ca", "eo", "es", "fr", "gl", "it", "pt")
CORPUS_LANGUAGES = ("en", "ca", "es")


@dataclass
class _Parts:
    """What both loaders build from: ``{lang: {id: text}}`` of claims and abstracts."""

    qrels: Qrels
    queries: dict[str, dict[str, str]] = field(default_factory=dict)
    corpora: dict[str, dict[str, str]] = field(default_factory=dict)
    query_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    corpus_shares: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _read_translation(
    path: Path, english: dict[str, str], english_path: Path
) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """``({id: text}, {id: (unknown_words, words)})`` of a translated BEIR file whose ids must
    be exactly those of ``english`` (read from ``english_path``)."""
    texts: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    for row in read_records(path, ("_id", "text"), ("metadata",)):
        where = f"line {row['line']}"
        if row["_id"] not in english:
            raise DataError(path, f"{where}._id", row["_id"], f"is not in {english_path}")
        meta = row["metadata"]
        get(path, meta, "route", f"{where}.metadata", str)
        words = get(path, meta, "words", f"{where}.metadata", int)
        unknown = get(path, meta, "unknown_words", f"{where}.metadata", int)
        if words < 1:
            raise DataError(path, f"{where}.metadata.words", words, "is not positive")
        if not 0 <= unknown <= words:
            raise DataError(
                path, f"{where}.metadata.unknown_words", unknown, f"is not in [0, words={words}]"
            )
        texts[row["_id"]] = document_text(row)
        counts[row["_id"]] = (unknown, words)
    for identifier in english:
        if identifier not in texts:
            raise DataError(path, "_id", identifier, f"is missing (it is in {english_path})")
    return texts, counts


def _parts(
    query_languages: list[str], corpus_languages: list[str], split: str, root: Path
) -> _Parts:
    """Read the English set, its ``split`` qrels and the translations asked for."""
    corpus_path, queries_path, qrels_path = require(
        [f"{ENGLISH_FOLDER}/{name}" for name in ("corpus.jsonl", "queries.jsonl",
                                                  f"qrels/{split}.tsv")],
        root,
    )  # fmt: skip
    english_corpus = {
        r["_id"]: document_text(r) for r in read_records(corpus_path, ("_id", "text"))
    }
    english_queries = {r["_id"]: r["text"] for r in read_records(queries_path, ("_id", "text"))}
    qrels = read_qrels(qrels_path)
    check_judgements(
        qrels_path, qrels,
        query_field="query-id", query_ids=english_queries, queries_name=queries_path.name,
        corpus_field="corpus-id", corpus_ids=english_corpus, corpus_name=corpus_path.name,
    )  # fmt: skip
    parts = _Parts(qrels, files=[str(corpus_path), str(queries_path), str(qrels_path)])
    for kind, languages, english, english_path, target in (
        ("queries", query_languages, english_queries, queries_path, parts.queries),
        ("corpus", corpus_languages, english_corpus, corpus_path, parts.corpora),
    ):
        for lang in languages:
            if lang == "en":
                target[lang] = english
                continue
            (path,) = require([f"{FOLDER}/{kind}.{lang}.jsonl"], root)
            parts.files.append(str(path))
            target[lang], counts = _read_translation(path, english, english_path)
            if kind == "queries":
                parts.query_shares[lang] = {
                    qid: counts[qid][0] / counts[qid][1] for qid in english if qid in qrels
                }
            else:
                unknown = sum(u for u, _ in counts.values())
                parts.corpus_shares[lang] = unknown / sum(w for _, w in counts.values())
    return parts


def _languages(
    languages: str | Iterable[str], available: tuple[str, ...], root: Path, what: str
) -> list[str]:
    return select_languages(
        languages,
        available,
        file=root / FOLDER,
        unavailable=f"has no translated {what} (these languages do: {', '.join(available)})",
    )


def load_scifact_mt(
    query_language: str,
    corpus_language: str = "en",
    split: str = "test",
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """The ``split`` claims in ``query_language`` against the corpus in ``corpus_language``.

    Suite name ``f"beir/scifact-mt/{query_language}-{corpus_language}/{split}"``; BEIR's
    ids; qrels = the English qrels. Metadata: ``files``, ``split``, ``unknown_word_share``
    ``{query id: unknown_words / words}`` (empty for English claims),
    ``corpus_unknown_word_share`` ``{corpus_language: share}`` (empty for English).
    """
    root = resolve_root(root)
    (ql,) = _languages(query_language, QUERY_LANGUAGES, root, "claims")
    (cl,) = _languages(corpus_language, CORPUS_LANGUAGES, root, "corpus")
    parts = _parts([ql], [cl], split, root)
    queries = [
        Query(qid, ql, text, qid) for qid, text in parts.queries[ql].items() if qid in parts.qrels
    ]
    candidates = [Candidate(doc, cl, text) for doc, text in parts.corpora[cl].items()]
    return RetrievalSuite(
        name=f"{FOLDER}/{ql}-{cl}/{split}",
        queries=queries,
        candidates=candidates,
        qrels=parts.qrels,
        metadata={
            "files": parts.files,
            "split": split,
            "unknown_word_share": parts.query_shares.get(ql, {}),
            "corpus_unknown_word_share": parts.corpus_shares,
        },
    )


def load_scifact_mt_pool(
    query_languages: str | Iterable[str] = ("en", "es", "ca"),
    corpus_languages: str | Iterable[str] = ("en", "es", "ca"),
    split: str = "test",
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """The ``split`` claims in each of ``query_languages`` against one pool of the abstracts
    in every one of ``corpus_languages``.

    Query ids ``f"{lang}/{claim id}"`` with ``parallel_key`` = the claim id; candidate ids
    ``f"{lang}/{abstract id}"`` with ``article`` = the abstract id (its parallel key: the
    versions of one abstract). A claim is relevant to every version of each abstract the
    English qrels judge relevant. Metadata as :func:`load_scifact_mt`'s, with
    ``unknown_word_share`` keyed by these query ids.
    """
    root = resolve_root(root)
    qls = _languages(query_languages, QUERY_LANGUAGES, root, "claims")
    cls = _languages(corpus_languages, CORPUS_LANGUAGES, root, "corpus")
    parts = _parts(qls, cls, split, root)
    queries = [
        Query(f"{lang}/{qid}", lang, text, qid)
        for lang in qls
        for qid, text in parts.queries[lang].items()
        if qid in parts.qrels
    ]
    candidates = [
        Candidate(f"{lang}/{doc}", lang, text, article=doc)
        for lang in cls
        for doc, text in parts.corpora[lang].items()
    ]
    qrels: Qrels = {
        query.id: {
            f"{lang}/{doc}": grade
            for lang in cls
            for doc, grade in parts.qrels[query.parallel_key].items()
        }
        for query in queries
    }
    shares = {
        f"{lang}/{qid}": share
        for lang, by_query in parts.query_shares.items()
        for qid, share in by_query.items()
    }
    return RetrievalSuite(
        name=f"{FOLDER}/pool-{'+'.join(qls)}-{'+'.join(cls)}/{split}",
        queries=queries,
        candidates=candidates,
        qrels=qrels,
        metadata={
            "files": parts.files,
            "split": split,
            "unknown_word_share": shares,
            "corpus_unknown_word_share": parts.corpus_shares,
        },
    )


def unknown_word_shares(
    languages: str | Iterable[str] = QUERY_LANGUAGES,
    split: str = "test",
    root: str | os.PathLike[str] | None = None,
) -> dict[str, float]:
    """Per translated claim language: the mean over the ``split``'s judged claims of each
    claim's share of words the translator did not know (left in English); English 0."""
    root = resolve_root(root)
    chosen = _languages(languages, QUERY_LANGUAGES, root, "claims")
    parts = _parts(chosen, [], split, root)
    return {
        lang: 0.0 if lang == "en" else statistics.fmean(parts.query_shares[lang].values())
        for lang in chosen
    }
