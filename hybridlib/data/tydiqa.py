"""TyDi QA GoldP (Clark et al., 2020), SQuAD-style JSON per language and split
(``{language name}_tydiqa_{split}.json``), native (untranslated) questions.

Retrieval: a question's pool is every distinct paragraph of its language in the split
(identical paragraph texts are one candidate); the relevant candidate is the question's own
paragraph. Candidates of other languages are not relevant: evaluate monolingually
(``RetrievalSuite.subset`` per language). Questions are not parallel: ``parallel_key`` is
the question id.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from hybridlib.data._fields import read_json
from hybridlib.data.errors import DataError
from hybridlib.data.languages import select_languages
from hybridlib.data.sources import expected_sha256, require, resolve_root
from hybridlib.data.squad import answer_start, squad_paragraphs, squad_questions
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite

TYDIQA_FILE_NAMES = {
    "ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
    "ja": "japanese", "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
    "th": "thai",
}  # fmt: skip


def tydiqa_languages(split: str = "dev") -> list[str]:
    """Languages with a pinned GoldP file for ``split`` (dev: 9; train: en, ko, sw)."""
    return sorted(
        lang
        for lang, file_name in TYDIQA_FILE_NAMES.items()
        if f"tydiqa-goldp/{file_name}_tydiqa_{split}.json" in expected_sha256()
    )


def load_tydiqa(
    split: str = "dev",
    languages: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """Question-to-paragraph retrieval on TyDi QA GoldP ``split``.

    Query ids ``f"tydiqa/{split}/{lang}/{question_id}"``; candidate ids
    ``f"tydiqa/{split}/{lang}/p{n}"`` (distinct paragraphs in order of first appearance).
    """
    root = resolve_root(root)
    folder = root / "tydiqa-goldp"
    available = tydiqa_languages(split)
    if not available:
        raise DataError(folder, "split", split, "has no GoldP files (splits: dev, train)")
    langs = select_languages(
        languages,
        available,
        file=folder,
        unavailable=f"has no TyDi QA GoldP {split} file (available: {', '.join(available)})",
    )
    paths = require(
        [f"tydiqa-goldp/{TYDIQA_FILE_NAMES[lang]}_tydiqa_{split}.json" for lang in langs], root
    )
    queries: list[Query] = []
    candidates: list[Candidate] = []
    qrels: Qrels = {}
    for lang, path in zip(langs, paths, strict=True):
        paragraph_id: dict[str, str] = {}  # paragraph text -> candidate id
        for paragraph in squad_paragraphs(path, read_json(path)):
            context, title = paragraph.context, paragraph.title
            if context not in paragraph_id:
                cid = f"tydiqa/{split}/{lang}/p{len(paragraph_id)}"
                paragraph_id[context] = cid
                candidates.append(Candidate(cid, lang, context, article=title))
            for qa in squad_questions(path, paragraph):
                for n in range(len(qa.answers)):
                    answer_start(path, qa, n, context)
                query_id = f"tydiqa/{split}/{lang}/{qa.id}"
                if query_id in qrels:
                    raise DataError(path, f"{qa.where}.id", qa.id, "repeats a question id")
                queries.append(Query(query_id, lang, qa.question, qa.id, title))
                qrels[query_id] = {paragraph_id[context]: 1}
    return RetrievalSuite(
        name=f"tydiqa/{split}",
        queries=queries,
        candidates=candidates,
        qrels=qrels,
        metadata={"files": [str(p) for p in paths], "split": split},
    )
