"""LAReQA: XQuAD-R and MLQA-R, built exactly as LAReQA (Roy et al., 2020, section 3.1) does.

Every sentence of every paragraph of every language is a candidate (``context`` = its
paragraph); a question's relevant candidate in a language is the sentence of the question's
paragraph, in that language, whose ``sentence_breaks`` span ``[start, end)`` contains the
first answer's ``answer_start``. Translations of a question share its id, which is the
``parallel_key``; so an XQuAD-R question has 11 relevant candidates (one per language) and an
MLQA-R question 2 to 4. Repeated sentences stay separate candidates, as in LAReQA.

Articles: ``article`` is the English title of the article, found through the question ids
shared with ``en.json`` (XQuAD-R titles are English in every file; MLQA-R titles are in the
file's language), so that article-level folds hold across languages.

Sentence breaks are checked against the text: ``context[start:end]`` must equal the sentence.
The published ``xquad-r/tr.json`` has two breaks that miss by a few characters (its context
holds the mojibake ``"â\\x81„"`` for ``"⁄"``, which shifts the later breaks by 2); a break
whose slice is that close to its sentence (difflib similarity >= 0.9) is taken as such a
quirk: the sentence text is used and the location is listed in
``suite.metadata["break_mismatches"]``. Any other mismatch raises :class:`DataError`.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybridlib.data._fields import check_text, get, read_json
from hybridlib.data.errors import DataError
from hybridlib.data.languages import select_languages
from hybridlib.data.sources import require, resolve_root
from hybridlib.data.squad import answer_start, squad_paragraphs, squad_questions
from hybridlib.data.types import Candidate, Qrels, Query, RetrievalSuite, TrainingPair

LAREQA_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xquad-r": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
    "mlqa-r": ("ar", "de", "en", "es", "hi", "vi", "zh"),
}
QUIRK_SIMILARITY = 0.9  # a break slice at least this similar to its sentence is a data quirk


@dataclass(frozen=True)
class _Question:
    qid: str
    text: str
    sentence: int  # index of the sentence holding answer_start
    crosses_boundary: bool  # the answer text runs past the end of that sentence


@dataclass(frozen=True)
class _Paragraph:
    article_index: int
    paragraph_index: int
    title: str
    context: str
    sentences: tuple[str, ...]
    questions: tuple[_Question, ...]


@dataclass(frozen=True)
class _LanguageFile:
    path: Path
    paragraphs: tuple[_Paragraph, ...]
    break_mismatches: tuple[str, ...]  # JSON paths of tolerated break quirks


def _check_breaks(
    path: Path, where: str, context: str, sentences: list, breaks: list
) -> tuple[list[int], list[int], list[str]]:
    """Validate ``sentence_breaks`` against the context and sentences.

    Returns (starts, ends, tolerated mismatch locations).
    """
    if len(breaks) != len(sentences):
        raise DataError(
            path,
            f"{where}.sentence_breaks",
            f"{len(breaks)} breaks",
            f"do not pair with the {len(sentences)} sentences",
        )
    starts, ends, quirks = [], [], []
    previous_end = 0
    for i, (sentence, span) in enumerate(zip(sentences, breaks, strict=True)):
        field = f"{where}.sentence_breaks[{i}]"
        check_text(path, f"{where}.sentences[{i}]", sentence)  # a string, and not empty
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)
        ):
            raise DataError(path, field, span, "is not a [start, end] pair of integers")
        start, end = span
        if not previous_end <= start < end <= len(context):
            raise DataError(
                path,
                field,
                span,
                f"is not an ordered span inside its paragraph (length {len(context)}, "
                f"previous break ends at {previous_end})",
            )
        piece = context[start:end]
        if piece != sentence:
            similarity = difflib.SequenceMatcher(None, piece, sentence, autojunk=False).ratio()
            if similarity < QUIRK_SIMILARITY:
                raise DataError(
                    path,
                    field,
                    span,
                    f"selects {piece[:60]!r} from the paragraph, which does not match "
                    f"sentences[{i}] = {sentence[:60]!r}",
                )
            quirks.append(field)
        starts.append(start)
        ends.append(end)
        previous_end = end
    return starts, ends, quirks


def _read_language_file(path: Path) -> _LanguageFile:
    """Parse and validate one LAReQA file (SQuAD v1.1 JSON plus sentences and breaks)."""
    paragraphs: list[_Paragraph] = []
    quirks: list[str] = []
    seen_qids: dict[str, str] = {}
    for paragraph in squad_paragraphs(path, read_json(path)):
        where, context = paragraph.where, paragraph.context
        sentences = get(path, paragraph.fields, "sentences", where, list)
        breaks = get(path, paragraph.fields, "sentence_breaks", where, list)
        starts, ends, found = _check_breaks(path, where, context, sentences, breaks)
        quirks.extend(found)
        questions = []
        for qa in squad_questions(path, paragraph):
            if qa.id in seen_qids:
                raise DataError(
                    path, f"{qa.where}.id", qa.id, f"repeats the id of {seen_qids[qa.id]}"
                )
            seen_qids[qa.id] = qa.where
            if not qa.answers:
                raise DataError(path, f"{qa.where}.answers", qa.answers, "is empty")
            answer_text = get(path, qa.answers[0], "text", f"{qa.where}.answers[0]", str)
            start = answer_start(path, qa, 0, context)
            s = bisect.bisect_right(starts, start) - 1
            if s < 0 or start >= ends[s]:
                raise DataError(
                    path,
                    f"{qa.where}.answers[0].answer_start",
                    start,
                    "falls between sentence breaks (in no sentence of its paragraph)",
                )
            questions.append(_Question(qa.id, qa.question, s, start + len(answer_text) > ends[s]))
        paragraphs.append(
            _Paragraph(
                paragraph.article,
                paragraph.index,
                paragraph.title,
                context,
                tuple(sentences),
                tuple(questions),
            )
        )
    return _LanguageFile(path, tuple(paragraphs), tuple(quirks))


def _check_name(name: str) -> None:
    if name not in LAREQA_LANGUAGES:
        raise ValueError(f"name must be one of {sorted(LAREQA_LANGUAGES)}, but got {name!r}")


def _select_languages(name: str, languages: Iterable[str] | None, folder: Path) -> list[str]:
    """The requested languages in LAReQA's order; an unknown code raises DataError."""
    available = LAREQA_LANGUAGES[name]
    chosen = select_languages(
        languages,
        available,
        file=folder,
        unavailable=f"is not a language of {name} ({', '.join(available)})",
    )
    return [lang for lang in available if lang in chosen]


def _read(
    name: str, languages: Iterable[str] | None, root: str | os.PathLike[str] | None
) -> tuple[list[str], dict[str, _LanguageFile], dict[str, dict[str, str]]]:
    """Parse the requested language files; also the per-file map title -> English title."""
    _check_name(name)
    root = resolve_root(root)
    langs = _select_languages(name, languages, root / name)
    to_read = sorted(set(langs) | {"en"})
    paths = require([f"{name}/{lang}.json" for lang in to_read], root)
    files = {lang: _read_language_file(path) for lang, path in zip(to_read, paths, strict=True)}
    english_title = {
        q.qid: paragraph.title for paragraph in files["en"].paragraphs for q in paragraph.questions
    }
    titles: dict[str, dict[str, str]] = {}
    for lang, parsed in files.items():
        mapping: dict[str, set[str]] = {}
        for paragraph in parsed.paragraphs:
            found = mapping.setdefault(paragraph.title, set())
            found.update(
                english_title[q.qid] for q in paragraph.questions if q.qid in english_title
            )
        titles[lang] = {}
        for title, english in mapping.items():
            if len(english) > 1:
                raise DataError(
                    parsed.path,
                    "title",
                    title,
                    f"holds questions of several English articles ({sorted(english)[:3]})",
                )
            titles[lang][title] = english.pop() if english else title
    return langs, files, titles


def _candidate_id(name: str, lang: str, paragraph: _Paragraph, sentence: int) -> str:
    return f"{name}/{lang}/{paragraph.article_index}/{paragraph.paragraph_index}/{sentence}"


def load_lareqa(
    name: str,
    languages: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """XQuAD-R (``name="xquad-r"``) or MLQA-R (``"mlqa-r"``) as one pooled retrieval suite.

    Query ids ``f"{name}/{lang}/{qid}"`` (``parallel_key=qid``); candidate ids
    ``f"{name}/{lang}/{article_index}/{paragraph_index}/{sentence_index}"`` (indices in the
    file). ``qrels[query_id]`` holds, with grade 1, the answer sentence of the same ``qid``
    in every loaded language. ``metadata`` records the files, the break quirks, and per
    language the answers that cross a sentence boundary and the repeated sentences.
    """
    langs, files, titles = _read(name, languages, root)
    queries: list[Query] = []
    candidates: list[Candidate] = []
    answer_of: dict[str, list[str]] = {}  # qid -> answer candidate id in each language
    crossing: dict[str, int] = {}
    repeated: dict[str, int] = {}
    for lang in langs:
        parsed, to_english = files[lang], titles[lang]
        crossing[lang] = 0
        texts = []
        for paragraph in parsed.paragraphs:
            article = to_english[paragraph.title]
            for s, sentence in enumerate(paragraph.sentences):
                candidates.append(
                    Candidate(
                        id=_candidate_id(name, lang, paragraph, s),
                        language=lang,
                        text=sentence,
                        context=paragraph.context,
                        article=article,
                    )
                )
                texts.append(sentence)
            for q in paragraph.questions:
                queries.append(Query(f"{name}/{lang}/{q.qid}", lang, q.text, q.qid, article))
                answer_of.setdefault(q.qid, []).append(
                    _candidate_id(name, lang, paragraph, q.sentence)
                )
                crossing[lang] += q.crosses_boundary
        repeated[lang] = len(texts) - len(set(texts))
    qrels: Qrels = {q.id: dict.fromkeys(answer_of[q.parallel_key], 1) for q in queries}
    return RetrievalSuite(
        name=name,
        queries=queries,
        candidates=candidates,
        qrels=qrels,
        metadata={
            "files": [str(files[lang].path) for lang in langs],
            "break_mismatches": [
                f"{files[lang].path.name}: {where}"
                for lang in langs
                for where in files[lang].break_mismatches
            ],
            "answers_crossing_sentence_boundary": crossing,
            "repeated_sentences": repeated,
        },
    )


def lareqa_training_pairs(
    name: str,
    languages: Iterable[str] | None = None,
    articles: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> list[TrainingPair]:
    """One (question, answer sentence, paragraph) pair per question and language.

    ``parallel_key`` is the question id; ``article`` the English article title (see the
    module docstring). ``articles`` keeps only those articles (e.g. one fold of
    :func:`article_folds`). Ordered by language, then file order.
    """
    langs, files, titles = _read(name, languages, root)
    keep = None if articles is None else set(articles)
    pairs = []
    for lang in langs:
        for paragraph in files[lang].paragraphs:
            article = titles[lang][paragraph.title]
            if keep is not None and article not in keep:
                continue
            for q in paragraph.questions:
                pairs.append(
                    TrainingPair(
                        query=q.text,
                        passage=paragraph.sentences[q.sentence],
                        language=lang,
                        parallel_key=q.qid,
                        article=article,
                        context=paragraph.context,
                    )
                )
    return pairs


def normalise_title(title: str) -> str:
    """An article title as both LAReQA sets can be matched on: XQuAD writes
    ``Prime_number``, MLQA ``Prime number``; case and repeated spaces are ignored too."""
    return " ".join(title.replace("_", " ").split()).casefold()


def article_folds(articles: Iterable[str], n_folds: int = 2, seed: int = 0) -> list[list[str]]:
    """Split distinct article titles into ``n_folds`` disjoint folds of near-equal size.

    The sorted distinct titles are permuted by ``numpy.random.default_rng(seed)`` and dealt
    round-robin; each fold is returned sorted. Same input and seed, same folds.
    """
    titles: Sequence[str] = sorted(set(articles))
    if not 2 <= n_folds <= len(titles):
        raise ValueError(
            f"n_folds must be between 2 and the number of articles ({len(titles)}), "
            f"but got {n_folds}"
        )
    order = np.random.default_rng(seed).permutation(len(titles))
    return [sorted(titles[i] for i in order[f::n_folds]) for f in range(n_folds)]
