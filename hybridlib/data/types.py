"""The few types every benchmark is loaded into.

Relevance judgements use the TREC interchange shape ``{query_id: {candidate_id: grade}}``
(pytrec_eval, ir_measures, ranx), with grade > 0 meaning relevant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Query:
    """One query. ``parallel_key`` is shared by the translations of one query."""

    id: str
    language: str
    text: str
    parallel_key: str
    article: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One retrievable text; ``context`` is the paragraph a sentence came from, if any."""

    id: str
    language: str
    text: str
    context: str | None = None
    article: str | None = None


@dataclass(frozen=True)
class TrainingPair:
    """A (query, positive passage) pair in one language.

    Pairs with the same ``parallel_key`` are translations of each other; the X-Y sampler
    combines the query of one with the passage of another.
    """

    query: str
    passage: str
    language: str
    parallel_key: str
    article: str
    context: str | None = None


@dataclass
class RetrievalSuite:
    """Queries, candidates and their relevance judgements for one benchmark (split)."""

    name: str
    queries: list[Query]
    candidates: list[Candidate]
    qrels: Qrels
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        """Sorted languages of queries and candidates together."""
        return sorted({q.language for q in self.queries} | {c.language for c in self.candidates})

    def subset(
        self,
        *,
        query_languages: Iterable[str] | None = None,
        candidate_languages: Iterable[str] | None = None,
        articles: Iterable[str] | None = None,
        exclude_articles: Iterable[str] | None = None,
        name: str | None = None,
    ) -> RetrievalSuite:
        """A new suite restricted by language and/or article; qrels restricted to match."""
        ql = set(query_languages) if query_languages is not None else None
        cl = set(candidate_languages) if candidate_languages is not None else None
        keep = set(articles) if articles is not None else None
        drop = set(exclude_articles) if exclude_articles is not None else set()

        def article_ok(article: str | None) -> bool:
            if article in drop:
                return False
            return keep is None or article in keep

        queries = [
            q for q in self.queries if (ql is None or q.language in ql) and article_ok(q.article)
        ]
        candidates = [
            c for c in self.candidates if (cl is None or c.language in cl) and article_ok(c.article)
        ]
        candidate_ids = {c.id for c in candidates}
        qrels: Qrels = {}
        for q in queries:
            judged = {cid: g for cid, g in self.qrels.get(q.id, {}).items() if cid in candidate_ids}
            if judged:
                qrels[q.id] = judged
        return RetrievalSuite(
            name=name or self.name,
            queries=queries,
            candidates=candidates,
            qrels=qrels,
            metadata=dict(self.metadata),
        )
