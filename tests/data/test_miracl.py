"""MIRACL read from its published layout, on a small copy of that layout the tests write."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from hybridlib.data import DataError, load_miracl, load_miracl_languages, miracl_languages
from hybridlib.evaluation import EvaluationOptions, evaluate_suite


def write_miracl(
    root: Path,
    language: str,
    topics: dict[str, str],
    qrels: list[tuple[str, str, int]],
    shards: list[list[dict[str, str]]],
    split: str = "dev",
) -> Path:
    """The published layout under ``root/miracl``: topics, TREC qrels, gzipped corpus shards."""
    name = f"miracl-v1.0-{language}"
    base = root / "miracl" / "miracl" / name
    (base / "topics").mkdir(parents=True, exist_ok=True)
    (base / "qrels").mkdir(parents=True, exist_ok=True)
    (base / "topics" / f"topics.{name}-{split}.tsv").write_text(
        "".join(f"{qid}\t{text}\n" for qid, text in topics.items()), encoding="utf-8"
    )
    (base / "qrels" / f"qrels.{name}-{split}.tsv").write_text(
        "".join(f"{qid}\tQ0\t{docid}\t{grade}\n" for qid, docid, grade in qrels), encoding="utf-8"
    )
    corpus = root / "miracl" / "miracl-corpus" / f"miracl-corpus-v1.0-{language}"
    corpus.mkdir(parents=True, exist_ok=True)
    for n, rows in enumerate(shards):
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (corpus / f"docs-{n}.jsonl.gz").write_bytes(gzip.compress(lines.encode("utf-8")))
    return root


def doc(docid: str, title: str, text: str) -> dict[str, str]:
    return {"docid": docid, "title": title, "text": text}


FRUIT = ["apfel", "birne", "kirsche", "dattel", "erdbeere", "feige", "guave", "holunder",
         "ingwer", "johannisbeere", "kiwi", "limette"]  # fmt: skip


@pytest.fixture
def miracl_root(tmp_path: Path) -> Path:
    # 12 shards, so shard 10 and 11 must come after shard 2 (numeric, not lexicographic order)
    de_shards = [[doc(f"{n}#0", "Obst", word)] for n, word in enumerate(FRUIT)]
    write_miracl(
        tmp_path, "de", {"1": "kiwi", "2": "kirsche dattel"},
        [("1", "10#0", 1), ("1", "2#0", 0), ("2", "3#0", 1), ("2", "2#0", 0)], de_shards,
    )  # fmt: skip
    write_miracl(
        tmp_path, "fi", {"7": "kissa"},
        [("7", "5#1", 1)],
        [[doc("5#0", "", "koira"), doc("5#1", "Kissa", "kissa on eläin")]],
    )  # fmt: skip
    # a language whose corpus is absent is not available
    (tmp_path / "miracl" / "miracl" / "miracl-v1.0-sw" / "topics").mkdir(parents=True)
    return tmp_path


def test_published_layout_read_as_a_suite(miracl_root: Path) -> None:
    assert miracl_languages("dev", miracl_root) == ["de", "fi"]
    suite = load_miracl("de", root=miracl_root)
    assert suite.name == "miracl/dev/de"
    assert [q.id for q in suite.queries] == ["1", "2"]
    assert [q.parallel_key for q in suite.queries] == ["1", "2"]  # not parallel
    assert {q.language for q in suite.queries} == {"de"}
    assert [c.id for c in suite.candidates] == [f"{n}#0" for n in range(12)]  # shard order
    assert suite.candidates[10].text == "Obst kiwi"  # title + " " + text
    assert suite.candidates[10].article == "Obst"  # the Wikipedia article: its title
    assert suite.qrels["1"] == {"10#0": 1, "2#0": 0}  # judged non-relevant passages kept
    assert len(suite.metadata["files"]) == 2 + 12
    fi = load_miracl("fi", root=miracl_root)
    assert fi.candidates[0].text == "koira"  # no title: the text alone
    assert fi.candidates[0].article == "5"  # and the docid's article part
    both = load_miracl_languages(root=miracl_root)
    assert [s.name for s in both] == ["miracl/dev/de", "miracl/dev/fi"]


def test_mono_per_language_then_the_mean_over_languages(miracl_root: Path) -> None:
    result = evaluate_suite("bm25", "miracl", options=EvaluationOptions(root=miracl_root)).results
    value = {(row.query_language, row.metric): row.value for row in result.itertuples(index=False)}
    assert set(result["setting"]) == {"mono"}
    # de query 1: its relevant passage matches it alone, first; query 2 ("kirsche dattel"): the
    # judged-non-relevant 2#0 and the relevant 3#0 match one word each with equal BM25 scores,
    # so trec_eval's tie rule (docid descending) ranks 3#0 first: nDCG@10 = 1 for both
    assert value[("de", "ndcg@10")] == pytest.approx(1.0)
    assert value[("de", "recall@100")] == pytest.approx(1.0)
    assert value[("fi", "ndcg@10")] == pytest.approx(1.0)
    assert value[("all", "ndcg@10")] == pytest.approx(1.0)
    assert set(result["query_language"]) == {"de", "fi", "all"}
    assert result.loc[result["query_language"] == "all", "n"].tolist() == [3, 3]


def test_a_judged_non_relevant_passage_ranked_first_costs_ndcg(tmp_path: Path) -> None:
    write_miracl(
        tmp_path, "de", {"1": "beta gamma"},
        [("1", "1#0", 0), ("1", "2#0", 1)],
        [[doc("1#0", "", "beta gamma"), doc("2#0", "", "beta delta"), doc("3#0", "", "epsilon")]],
    )  # fmt: skip
    result = evaluate_suite("bm25", "miracl", options=EvaluationOptions(root=tmp_path)).results
    de = result[(result["query_language"] == "de")].set_index("metric")["value"]
    assert de["ndcg@10"] == pytest.approx(1 / math.log2(3))  # the relevant one at rank 2
    assert de["recall@100"] == pytest.approx(1.0)


def test_a_judged_passage_or_query_missing_from_corpus_or_topics_is_named(tmp_path: Path) -> None:
    write_miracl(tmp_path, "de", {"1": "q"}, [("1", "9#9", 1)], [[doc("1#0", "", "x")]])
    with pytest.raises(
        DataError, match=r"qrels\.miracl-v1\.0-de-dev\.tsv: docid = '9#9' is not in the de corpus"
    ):
        load_miracl("de", root=tmp_path)
    write_miracl(tmp_path, "de", {"1": "q"}, [("7", "1#0", 1)], [[doc("1#0", "", "x")]])
    with pytest.raises(
        DataError, match=r"qrels\.miracl-v1\.0-de-dev\.tsv: qid = '7' is not in topics\.miracl"
    ):
        load_miracl("de", root=tmp_path)


def test_bad_files_are_named_with_field_and_value(tmp_path: Path) -> None:
    write_miracl(tmp_path, "de", {"1": "q"}, [("1", "1#0", 1)], [[doc("1#0", "", "x")]])
    qrels = tmp_path / "miracl/miracl/miracl-v1.0-de/qrels/qrels.miracl-v1.0-de-dev.tsv"
    qrels.write_text("1\tQ0\t1#0\tyes\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1 grade = 'yes' is not an integer"):
        load_miracl("de", root=tmp_path)
    qrels.write_text("1\t1#0\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match="has 3 columns, not 4"):
        load_miracl("de", root=tmp_path)
    qrels.write_text("1\tQ0\t1#0\t1\n", encoding="utf-8")
    shard = tmp_path / "miracl/miracl-corpus/miracl-corpus-v1.0-de/docs-0.jsonl.gz"
    shard.write_bytes(gzip.compress(b'{"docid": "1#0"}\n'))
    with pytest.raises(DataError, match=r"docs-0\.jsonl\.gz: line 1\.text = <missing>"):
        load_miracl("de", root=tmp_path)
    shard.write_bytes(gzip.compress(b'{"docid": "1#0", "text": "x"}\n')[:-6])  # truncated
    with pytest.raises(DataError, match=r"docs-0\.jsonl\.gz: gzip stream .* cannot be read"):
        load_miracl("de", root=tmp_path)
    topics = tmp_path / "miracl/miracl/miracl-v1.0-de/topics/topics.miracl-v1.0-de-dev.tsv"
    shard.write_bytes(gzip.compress(b'{"docid": "1#0", "text": "x"}\n'))
    topics.write_text("1 no tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1 = '1 no tab here' is not 'qid<TAB>query'"):
        load_miracl("de", root=tmp_path)


def test_an_absent_language_or_folder_names_what_is_there(
    miracl_root: Path, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"languages = 'sw' has no MIRACL dev .*available: de, fi"):
        load_miracl("sw", root=miracl_root)
    with pytest.raises(DataError, match="holds no MIRACL dev language"):
        load_miracl_languages(root=tmp_path / "empty")


def test_the_articles_a_model_trained_on_leave_the_pool(tmp_path: Path) -> None:
    """A whole Wikipedia holds the training articles: their passages are removed (and named),
    the rest evaluated; LAReQA-style suites still refuse an overlap."""
    write_miracl(
        tmp_path, "en", {"1": "prime numbers", "2": "river delta"},
        [("1", "1#0", 1), ("2", "2#0", 1), ("2", "2#1", 1)],
        [[doc("1#0", "Prime number", "prime numbers are"), doc("2#0", "Amazon River", "river delta"),
          doc("2#1", "Amazon River", "the river")]],
    )  # fmt: skip
    options = EvaluationOptions(root=tmp_path, train_articles=["Prime_number"])
    result = evaluate_suite("bm25", "miracl", options=options)
    rows = result.results[result.results["query_language"] == "en"].set_index("metric")
    assert rows.loc["ndcg@10", "n"] == 1  # query 1's only relevant passage left the pool
    assert set(result.per_query["query_id"]) == {"2"}
    from hybridlib.evaluation.leakage import LeakageError, restrict_articles

    suite = load_miracl("en", root=tmp_path)
    kept = restrict_articles(suite, train_articles=["Prime_number"], drop_training_articles=True)
    assert [c.id for c in kept.candidates] == ["2#0", "2#1"]
    assert kept.metadata["dropped_training_articles"] == ["Prime number"]
    with pytest.raises(LeakageError, match="shares 1 article"):
        restrict_articles(suite, train_articles=["Prime_number"])
