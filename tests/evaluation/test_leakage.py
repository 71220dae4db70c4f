"""The leakage guard refuses to evaluate on training articles."""

from __future__ import annotations

import pytest

from hybridlib.evaluation import LeakageError, check_no_overlap, read_articles, restrict_articles
from hybridlib.evaluation.suites import EvaluationOptions, evaluate_suite


def test_overlap_is_refused_with_the_articles_named(two_language_suite):
    with pytest.raises(LeakageError, match=r"shares 2 article\(s\).*'A', 'C'"):
        check_no_overlap(["C", "A", "Z"], two_language_suite)
    check_no_overlap(["Z", "Y"], two_language_suite)  # no overlap: fine


def test_only_the_first_few_articles_are_named(two_language_suite):
    from hybridlib.data.types import Candidate, RetrievalSuite

    many = RetrievalSuite(
        "many", [], [Candidate(f"c{i}", "en", "x", article=f"art{i:02d}") for i in range(12)], {}
    )
    with pytest.raises(LeakageError, match=r"shares 12 article\(s\).*'art04' and 7 more;"):
        check_no_overlap([f"art{i:02d}" for i in range(12)], many)


def test_restrict_then_check(two_language_suite):
    kept = restrict_articles(two_language_suite, exclude=["A"], train_articles=["A"])
    assert {q.id for q in kept.queries} == {"q2-en", "q3-de"}
    assert {c.article for c in kept.candidates} == {"B", "C"}
    assert "q1-en" not in kept.qrels
    only_b = restrict_articles(two_language_suite, include=["B"])
    assert [q.id for q in only_b.queries] == ["q2-en"]
    with pytest.raises(LeakageError, match="'B'"):
        restrict_articles(two_language_suite, exclude=["A"], train_articles=["A", "B"])
    with pytest.raises(ValueError, match=r"include: 1 article\(s\) not in suite 'toy': 'Q'"):
        restrict_articles(two_language_suite, include=["B", "Q"])


def test_evaluate_suite_refuses_before_encoding(two_language_suite):
    class NeverEncode:
        name = "never"

        def encode(self, *args, **kwargs):
            raise AssertionError("the encoder must not run on a leaking suite")

    with pytest.raises(LeakageError):
        evaluate_suite(
            NeverEncode(), "xquad-r", suites=[two_language_suite],
            options=EvaluationOptions(train_articles=["B"]),
        )  # fmt: skip


def test_a_model_is_held_to_the_articles_it_records(two_language_suite, tmp_path):
    """The trainer records the training articles in the saved encoder; evaluation refuses a
    suite holding one of them without being told, and records the articles it held the model
    to (given first, then the model's own)."""
    from hybridlib.evaluation.leakage import (
        record_training,
        recorded_training_articles,
        training_articles_of,
    )
    from hybridlib.models import load_encoder, save_encoder

    encoder = load_encoder("tiny")
    assert recorded_training_articles(encoder) == [] and training_articles_of(encoder, None) is None
    record_training(encoder, ["C", "A", "C"], ["en"])
    record_training(encoder, ["Z"], ["de"])  # fine-tuned again: both trainings count
    assert encoder.settings.metadata["training"] == {
        "articles": ["A", "C", "Z"],
        "languages": ["de", "en"],
    }
    save_encoder(encoder, tmp_path / "model")
    saved = load_encoder(tmp_path / "model")
    assert recorded_training_articles(saved) == ["A", "C", "Z"]
    assert training_articles_of(saved, ["Q", "A"]) == ("Q", "A", "C", "Z")
    assert training_articles_of("bm25", ["Q"]) == ("Q",)
    with pytest.raises(LeakageError, match=r"shares 2 article\(s\).*'A', 'C'"):
        evaluate_suite(saved, "xquad-r", suites=[two_language_suite])
    kept = evaluate_suite(
        saved, "xquad-r", suites=[two_language_suite],
        options=EvaluationOptions(exclude_articles=["A", "C"]),
    )  # fmt: skip
    assert set(kept.per_query["query_id"]) == {"q2-en"}


def test_read_articles(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("# fold 0\nSuper_Bowl_50\n\n  Warsaw \n", encoding="utf-8")
    assert read_articles(path) == ["Super_Bowl_50", "Warsaw"]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_articles(tmp_path / "missing.txt")
