"""LAReQA (XQuAD-R, MLQA-R) from its files: relevance, languages, training pairs, folds, the real
counts, and bad input named by file, field and value."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridlib.data import (
    DataError,
    article_folds,
    lareqa_training_pairs,
    load_lareqa,
)

from .conftest import assert_names


@pytest.fixture
def xquad_en(tmp_path: Path, make_paragraph, write_lareqa):
    """Write xquad-r/en.json after ``edit(document)``; return (root, path, document)."""

    def write(edit=lambda document: None) -> tuple[Path, Path]:
        document = {
            "data": [
                {
                    "title": "Letters",
                    "paragraphs": [
                        make_paragraph(
                            ["Alpha is first.", "Beta is second.", "Gamma is third."],
                            [("q1", "Which is second?", "Beta", 16)],
                        )
                    ],
                }
            ]
        }
        edit(document)
        path = tmp_path / "xquad-r" / "en.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
        return tmp_path, path

    return write


def _load_en(root: Path):
    return load_lareqa("xquad-r", languages=["en"], root=root)


def _paragraph(document: dict) -> dict:
    return document["data"][0]["paragraphs"][0]


EN_SENTENCES = ["Alpha is first.", "Beta is second.", "Gamma is third."]


DE_SENTENCES = ["Alpha ist erstens und Beta zweitens.", "Gamma ist drittens."]


@pytest.fixture
def small_xquad(tmp_path: Path, make_paragraph, write_lareqa) -> Path:
    """A two-language xquad-r folder.

    en, article "Letters": one paragraph of 3 sentences; q1's answer is in the 2nd
    sentence, q2's answer starts in the 2nd and crosses into the 3rd, q3's is in the 1st.
    Article "Numbers": one paragraph with q4, whose sentence repeats a sentence of
    "Letters". de: the same questions (same ids) over 2 sentences.
    """
    en = [
        (
            "Letters",
            [
                make_paragraph(
                    EN_SENTENCES,
                    [
                        ("q1", "Which is second?", "Beta", 16),
                        ("q2", "What comes after second?", "second. Gamma", 24),
                        ("q3", "Which is first?", "Alpha", 0),
                    ],
                )
            ],
        ),
        (
            "Numbers",
            [make_paragraph(["One is odd.", "Alpha is first."], [("q4", "Odd?", "One", 0)])],
        ),
    ]
    de = [
        (
            "Letters",
            [
                make_paragraph(
                    DE_SENTENCES,
                    [
                        ("q1", "Was ist zweitens?", "Beta", 22),
                        ("q2", "Was kommt danach?", "Gamma", 37),
                        ("q3", "Was ist erstens?", "Alpha", 0),
                    ],
                )
            ],
        ),
        ("Numbers", [make_paragraph(["Eins ist ungerade."], [("q4", "Ungerade?", "Eins", 0)])]),
    ]
    write_lareqa(tmp_path / "xquad-r" / "en.json", en)
    write_lareqa(tmp_path / "xquad-r" / "de.json", de)
    return tmp_path


XQUAD_CANDIDATES = {
    "ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244,
    "ru": 1219, "th": 852, "tr": 1167, "vi": 1209, "zh": 1196,
}  # fmt: skip


MLQA_CANDIDATES = {
    "ar": 2545, "de": 2362, "en": 6264, "es": 1787, "hi": 2426, "vi": 2828, "zh": 2322
}  # fmt: skip


MLQA_QUESTIONS = {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}


def _oracle_answer_ids(name: str, root: Path) -> dict[str, str]:
    """Independent oracle: query id -> id of the sentence holding answer_start (linear scan)."""
    answers = {}
    for path in sorted((root / name).glob("*.json")):
        lang = path.stem
        for a, article in enumerate(json.loads(path.read_text("utf-8"))["data"]):
            for p, par in enumerate(article["paragraphs"]):
                for qa in par["qas"]:
                    start = qa["answers"][0]["answer_start"]
                    holding = [
                        s for s, (b, e) in enumerate(par["sentence_breaks"]) if b <= start < e
                    ]
                    assert len(holding) == 1
                    answers[f"{name}/{lang}/{qa['id']}"] = f"{name}/{lang}/{a}/{p}/{holding[0]}"
    return answers


def test_valid_small_file_loads(xquad_en) -> None:
    root, _ = xquad_en()
    assert _load_en(root).qrels == {"xquad-r/en/q1": {"xquad-r/en/0/0/1": 1}}


def test_malformed_json(xquad_en) -> None:
    root, path = xquad_en()
    path.write_text('{"data": [{"title": "Letters", "paragraphs": [}]}', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        _load_en(root)
    # the value is the text 20 characters either side of the error (index 46)
    assert_names(caught.value, path, "JSON at line 1, column 47", 'rs", "paragraphs": [}]}')
    assert "is malformed (Expecting value)" in str(caught.value)


def test_empty_file(xquad_en) -> None:
    root, path = xquad_en()
    path.write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty") as caught:
        _load_en(root)
    assert_names(caught.value, path, "file size", 0)


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        (lambda d: _paragraph(d).pop("sentence_breaks"), "data[0].paragraphs[0].sentence_breaks"),
        (lambda d: _paragraph(d)["qas"][0].pop("answers"), "data[0].paragraphs[0].qas[0].answers"),
        (lambda d: d["data"][0].pop("title"), "data[0].title"),
        (lambda d: d.pop("data"), "data"),
    ],
)
def test_missing_field(xquad_en, remove, field: str) -> None:
    root, path = xquad_en(remove)
    with pytest.raises(DataError, match="= <missing> is missing") as caught:
        _load_en(root)
    assert_names(caught.value, path, field, None)


def test_wrong_type(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = "16"

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="is not an integer") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", "16")


@pytest.mark.parametrize(
    ("field", "value"),
    [("question", ""), ("question", " \u200b\ufeff"), ("sentence", "\u200d \u2060")],
)
def test_an_empty_question_or_candidate_text_is_refused(xquad_en, field: str, value: str) -> None:
    """Issue 29: an empty (or whitespace / zero-width only) text was used as it was."""

    def edit(document: dict) -> None:
        paragraph = _paragraph(document)
        if field == "question":
            paragraph["qas"][0]["question"] = value
        else:  # the last sentence, its break and the context kept consistent
            start = len(paragraph["context"]) + 1
            paragraph["context"] += " " + value
            paragraph["sentences"].append(value)
            paragraph["sentence_breaks"].append([start, start + len(value)])

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="is empty") as caught:
        _load_en(root)
    where = "qas[0].question" if field == "question" else "sentences["
    assert caught.value.file == str(path) and where in caught.value.field
    assert caught.value.value == value


def test_answer_start_outside_its_paragraph(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = 9999

    root, path = xquad_en(edit)
    with pytest.raises(DataError) as caught:
        _load_en(root)
    field = "data[0].paragraphs[0].qas[0].answers[0].answer_start"
    assert_names(caught.value, path, field, 9999)
    assert str(caught.value) == (f"{path}: {field} = 9999 is outside its paragraph (length 47)")


def test_answer_start_between_sentence_breaks(xquad_en) -> None:
    def edit(document: dict) -> None:
        _paragraph(document)["qas"][0]["answers"][0]["answer_start"] = 15  # the space

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="falls between sentence breaks") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[0].answers[0].answer_start", 15)


def test_sentence_break_that_does_not_match_its_text(xquad_en) -> None:
    def edit(document: dict) -> None:  # the breaks of sentences 1 and 2 swapped in meaning
        _paragraph(document)["sentences"][1:] = ["Gamma is third.", "Beta is second."]

    root, path = xquad_en(edit)
    with pytest.raises(DataError, match="does not match sentences\\[1\\]") as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].sentence_breaks[1]", [16, 31])


@pytest.mark.parametrize(
    ("breaks", "value"),
    [([[0, 15], [16, 31], [32, 99]], [32, 99]), ([[0, 15], [10, 31], [32, 47]], [10, 31])],
)
def test_sentence_break_outside_or_overlapping(xquad_en, breaks, value) -> None:
    root, path = xquad_en(lambda d: _paragraph(d).update(sentence_breaks=breaks))
    with pytest.raises(DataError, match="is not an ordered span inside its paragraph") as caught:
        _load_en(root)
    field = f"data[0].paragraphs[0].sentence_breaks[{breaks.index(value)}]"
    assert_names(caught.value, path, field, value)


def test_a_near_miss_break_is_a_recorded_quirk(xquad_en) -> None:
    """Like xquad-r/tr.json: the sentence has one character where the context has another."""

    def edit(document: dict) -> None:
        _paragraph(document)["sentences"][1] = "Beta is secönd."

    root, _ = xquad_en(edit)
    suite = _load_en(root)
    assert suite.metadata["break_mismatches"] == [
        "en.json: data[0].paragraphs[0].sentence_breaks[1]"
    ]
    assert suite.candidates[1].text == "Beta is secönd."  # the sentence text is used


def test_repeated_question_id(xquad_en) -> None:
    def edit(document: dict) -> None:
        qas = _paragraph(document)["qas"]
        qas.append(dict(qas[0]))

    root, path = xquad_en(edit)
    with pytest.raises(
        DataError, match=r"repeats the id of data\[0\]\.paragraphs\[0\]\.qas\[0\]"
    ) as caught:
        _load_en(root)
    assert_names(caught.value, path, "data[0].paragraphs[0].qas[1].id", "q1")


@pytest.mark.parametrize(
    ("code", "problem"),
    [("xx", "is not a known language code"), ("fr", "is not a language of xquad-r")],
)
def test_unknown_language_code_lareqa(xquad_en, code: str, problem: str) -> None:
    root, _ = xquad_en()
    with pytest.raises(DataError, match=problem) as caught:
        load_lareqa("xquad-r", languages=["en", code], root=root)
    assert_names(caught.value, root / "xquad-r", "languages", code)


def test_relevance_is_the_sentence_holding_answer_start(small_xquad: Path) -> None:
    suite = load_lareqa("xquad-r", languages=["en", "de"], root=small_xquad)
    # ids are name/lang/article/paragraph/sentence; "Numbers" is article 1
    assert suite.qrels == {
        "xquad-r/de/q1": {"xquad-r/de/0/0/0": 1, "xquad-r/en/0/0/1": 1},
        "xquad-r/de/q2": {"xquad-r/de/0/0/1": 1, "xquad-r/en/0/0/1": 1},
        "xquad-r/de/q3": {"xquad-r/de/0/0/0": 1, "xquad-r/en/0/0/0": 1},
        "xquad-r/de/q4": {"xquad-r/de/1/0/0": 1, "xquad-r/en/1/0/0": 1},
        "xquad-r/en/q1": {"xquad-r/de/0/0/0": 1, "xquad-r/en/0/0/1": 1},
        "xquad-r/en/q2": {"xquad-r/de/0/0/1": 1, "xquad-r/en/0/0/1": 1},
        "xquad-r/en/q3": {"xquad-r/de/0/0/0": 1, "xquad-r/en/0/0/0": 1},
        "xquad-r/en/q4": {"xquad-r/de/1/0/0": 1, "xquad-r/en/1/0/0": 1},
    }
    # languages come in LAReQA's order (ar de el en ...), whatever order was asked for
    assert [c.id for c in suite.candidates] == [
        "xquad-r/de/0/0/0", "xquad-r/de/0/0/1", "xquad-r/de/1/0/0",
        "xquad-r/en/0/0/0", "xquad-r/en/0/0/1", "xquad-r/en/0/0/2",
        "xquad-r/en/1/0/0", "xquad-r/en/1/0/1",
    ]  # fmt: skip
    by_id = {c.id: c for c in suite.candidates}
    assert [by_id[f"xquad-r/en/0/0/{i}"].text for i in range(3)] == EN_SENTENCES
    assert by_id["xquad-r/de/0/0/1"].text == DE_SENTENCES[1]
    assert by_id["xquad-r/en/0/0/2"].context == " ".join(EN_SENTENCES)
    assert {c.article for c in suite.candidates} == {"Letters", "Numbers"}
    query = next(q for q in suite.queries if q.id == "xquad-r/en/q2")
    assert (query.language, query.parallel_key, query.article) == ("en", "q2", "Letters")
    assert suite.metadata["answers_crossing_sentence_boundary"] == {"de": 0, "en": 1}
    # "Alpha is first." occurs in both English articles: kept as two candidates
    assert suite.metadata["repeated_sentences"] == {"de": 0, "en": 1}
    assert suite.metadata["break_mismatches"] == []


def test_one_language_keeps_only_its_own_candidates(small_xquad: Path) -> None:
    suite = load_lareqa("xquad-r", languages="de", root=small_xquad)
    assert suite.languages == ["de"]
    assert suite.qrels["xquad-r/de/q2"] == {"xquad-r/de/0/0/1": 1}


def test_mlqa_articles_are_named_by_their_english_title(
    tmp_path: Path, make_paragraph, write_lareqa
) -> None:
    en = [("Plant cell", [make_paragraph(["Cells grow."], [("a", "Grow?", "Cells", 0)])])]
    de = [
        ("Pflanzenzelle", [make_paragraph(["Zellen wachsen."], [("a", "Wachsen?", "Zellen", 0)])])
    ]
    write_lareqa(tmp_path / "mlqa-r" / "en.json", en)
    write_lareqa(tmp_path / "mlqa-r" / "de.json", de)
    suite = load_lareqa("mlqa-r", languages=["de"], root=tmp_path)
    assert [(q.id, q.article) for q in suite.queries] == [("mlqa-r/de/a", "Plant cell")]
    assert [c.article for c in suite.candidates] == ["Plant cell"]


def test_training_pairs(small_xquad: Path) -> None:
    pairs = lareqa_training_pairs("xquad-r", languages=["en", "de"], root=small_xquad)
    assert [(p.language, p.parallel_key, p.passage) for p in pairs] == [
        ("de", "q1", DE_SENTENCES[0]),
        ("de", "q2", DE_SENTENCES[1]),
        ("de", "q3", DE_SENTENCES[0]),
        ("de", "q4", "Eins ist ungerade."),
        ("en", "q1", EN_SENTENCES[1]),
        ("en", "q2", EN_SENTENCES[1]),
        ("en", "q3", EN_SENTENCES[0]),
        ("en", "q4", "One is odd."),
    ]
    assert pairs[4].query == "Which is second?"
    assert pairs[4].context == " ".join(EN_SENTENCES)
    assert pairs[4].article == "Letters"
    only = lareqa_training_pairs("xquad-r", ["en"], articles=["Numbers"], root=small_xquad)
    assert [(p.parallel_key, p.article) for p in only] == [("q4", "Numbers")]


def test_article_folds_are_a_deterministic_partition() -> None:
    titles = [f"article {i}" for i in range(11)]
    folds = article_folds(titles + titles[:3], n_folds=3, seed=7)  # repeats are ignored
    assert folds == article_folds(list(reversed(titles)), n_folds=3, seed=7)
    assert sorted(t for fold in folds for t in fold) == sorted(titles)
    assert sorted(len(f) for f in folds) == [3, 4, 4]
    assert all(fold == sorted(fold) for fold in folds)
    assert any(article_folds(titles, 3, seed=s) != folds for s in range(8, 12))
    with pytest.raises(ValueError, match="n_folds must be between 2 and the number of articles"):
        article_folds(titles, n_folds=1)
    with pytest.raises(ValueError, match=r"\(11\), but got 12"):
        article_folds(titles, n_folds=12)


@given(
    st.sets(st.text(min_size=1, max_size=5), min_size=2, max_size=30),
    st.integers(2, 5),
    st.integers(0, 2**32 - 1),
)
def test_article_folds_property(titles: set[str], n_folds: int, seed: int) -> None:
    n_folds = min(n_folds, len(titles))
    folds = article_folds(titles, n_folds, seed)
    flat = [t for fold in folds for t in fold]
    assert sorted(flat) == sorted(titles) and len(flat) == len(set(flat))
    assert max(map(len, folds)) - min(map(len, folds)) <= 1


def test_real_xquad_r_counts(real_data_dir: Path) -> None:
    suite = load_lareqa("xquad-r", root=real_data_dir)
    assert len(suite.candidates) == 13014
    assert dict(Counter(c.language for c in suite.candidates)) == XQUAD_CANDIDATES
    assert Counter(q.language for q in suite.queries) == {lang: 1190 for lang in XQUAD_CANDIDATES}
    assert len({c.id for c in suite.candidates}) == 13014
    assert {len(judged) for judged in suite.qrels.values()} == {11}
    for query in suite.queries:  # one relevant per language
        langs = [cid.split("/")[1] for cid in suite.qrels[query.id]]
        assert sorted(langs) == sorted(XQUAD_CANDIDATES)
    assert len({c.article for c in suite.candidates}) == 48
    assert len({(c.article, c.context) for c in suite.candidates if c.language == "en"}) == 240
    # the data README's facts
    crossing = suite.metadata["answers_crossing_sentence_boundary"]
    assert min(crossing.values()) == 2 and max(crossing.values()) == 20
    repeated = suite.metadata["repeated_sentences"]
    assert {lang: n for lang, n in repeated.items() if n} == {
        "zh": 4, "ar": 2, "hi": 1, "ru": 1, "tr": 1
    }  # fmt: skip
    assert suite.metadata["break_mismatches"] == [
        "tr.json: data[9].paragraphs[3].sentence_breaks[2]",
        "tr.json: data[9].paragraphs[3].sentence_breaks[3]",
    ]
    # each query's own-language relevant candidate agrees with an independent linear scan
    oracle = _oracle_answer_ids("xquad-r", real_data_dir)
    for query in suite.queries:
        own = [cid for cid in suite.qrels[query.id] if cid.split("/")[1] == query.language]
        assert own == [oracle[query.id]]


def test_real_mlqa_r_counts(real_data_dir: Path) -> None:
    suite = load_lareqa("mlqa-r", root=real_data_dir)
    assert len(suite.candidates) == 20534
    assert dict(Counter(c.language for c in suite.candidates)) == MLQA_CANDIDATES
    assert dict(Counter(q.language for q in suite.queries)) == MLQA_QUESTIONS
    assert len(suite.queries) == 4199 and len({q.parallel_key for q in suite.queries}) == 1148
    assert {len(judged) for judged in suite.qrels.values()} == {2, 3, 4}
    oracle = _oracle_answer_ids("mlqa-r", real_data_dir)
    by_key: dict[str, set[str]] = {}
    for query in suite.queries:
        by_key.setdefault(query.parallel_key, set()).add(oracle[query.id])
    for query in suite.queries:  # relevant = the answer sentences of all its translations
        assert set(suite.qrels[query.id]) == by_key[query.parallel_key]
    # articles are shared across languages (English titles): 520 English articles
    assert len({q.article for q in suite.queries}) == 520


def test_real_training_pairs_and_folds(real_data_dir: Path) -> None:
    pairs = lareqa_training_pairs("xquad-r", root=real_data_dir)
    assert len(pairs) == 11 * 1190
    articles = sorted({p.article for p in pairs})
    folds = article_folds(articles, n_folds=2, seed=0)
    assert [len(f) for f in folds] == [24, 24]
    held_out = lareqa_training_pairs("xquad-r", articles=folds[0], root=real_data_dir)
    kept = lareqa_training_pairs("xquad-r", articles=folds[1], root=real_data_dir)
    assert len(held_out) + len(kept) == len(pairs)
    assert not {p.parallel_key for p in held_out} & {p.parallel_key for p in kept}
    suite = load_lareqa("xquad-r", root=real_data_dir)
    assert all(p.passage in p.context for p in pairs[:500])
    test_suite = suite.subset(articles=folds[0])
    assert {q.parallel_key for q in test_suite.queries} == {p.parallel_key for p in held_out}
