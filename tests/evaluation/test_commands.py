"""``hybridlib evaluate`` end to end: tiny model, XQuAD-R in 2 languages and 2 articles."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from hybridlib.cli import main
from hybridlib.evaluation import RESULT_COLUMNS

ARTICLES = ["Super_Bowl_50", "Warsaw"]


@pytest.fixture
def env(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("HYBRIDLIB_CACHE_DIR", str(tmp_path / "cache"))
    articles = tmp_path / "articles.txt"
    articles.write_text("\n".join(ARTICLES) + "\n", encoding="utf-8")
    return tmp_path, articles


def run_cli(out, articles, *extra: str) -> int:
    return main(
        ["evaluate", "--model", "tiny", "--suite", "xquad-r", "--language", "en",
         "--language", "de", "--include-articles", str(articles), "--output", str(out),
         "--threads", "1", *extra]
    )  # fmt: skip


def test_evaluate_writes_results_and_provenance(env, real_data_dir):
    tmp_path, articles = env
    out = tmp_path / "out"
    assert run_cli(out, articles) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "matrix-xquad-r-map.csv", "per_query.csv.gz", "provenance.json", "results.csv"
    ]  # fmt: skip

    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS
    cells = results[results["query_language"] != "all"]
    assert set(cells["setting"]) == {"mono", "cross", "multi"}
    assert set(zip(cells["query_language"], cells["candidate_language"])) == {
        ("en", "en"), ("de", "de"), ("en", "de"), ("de", "en"), ("en", "all"), ("de", "all")
    }  # fmt: skip
    # XQuAD-R is fully parallel: every query of both articles is scored in every cell
    n = cells.groupby("query_language")["n"].unique()
    assert all(len(v) == 1 for v in n) and n["en"][0] == n["de"][0]
    is_distance = results["metric"] == "rank_distance"
    assert (
        results.loc[~is_distance & (results["metric"] != "rank_distance_norm"), "value"]
        .between(0, 1)
        .all()
    )
    assert (results.loc[is_distance, "value"] >= 0).all() and is_distance.sum() == 3

    with gzip.open(out / "per_query.csv.gz", "rt") as handle:
        per_query = pd.read_csv(handle)
    assert per_query["query_id"].str.startswith(("xquad-r/en/", "xquad-r/de/")).all()
    mono_en = per_query[(per_query["setting"] == "mono") & (per_query["query_language"] == "en")
                        & (per_query["metric"] == "map")]  # fmt: skip
    assert len(mono_en) == n["en"][0]

    record = json.loads((out / "provenance.json").read_text())
    assert record["parameters"]["include_articles"] == ARTICLES
    assert record["parameters"]["model_fingerprint"]["model"] == "tiny"
    assert sorted(record["data_sha256"]) == sorted(
        str(real_data_dir / "xquad-r" / f"{lang}.json") for lang in ("de", "en")
    )
    assert set(record["timings_s"]) == {"xquad-r"}

    # a second run reads the embeddings from the cache and gives the same numbers
    cache_files = sorted((tmp_path / "cache").rglob("*"))
    assert run_cli(tmp_path / "again", articles) == 0
    assert sorted((tmp_path / "cache").rglob("*")) == cache_files
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again" / "results.csv"), results)


def test_evaluate_refuses_training_articles(env, capsys):
    tmp_path, articles = env
    train = tmp_path / "train.txt"
    train.write_text("Warsaw\n", encoding="utf-8")
    out = tmp_path / "leaky"
    assert run_cli(out, articles, "--train-articles", str(train)) == 2
    assert "shares 1 article(s) with the training set: 'Warsaw'" in capsys.readouterr().err
    assert not out.exists()  # nothing written


def test_evaluate_names_an_unknown_article(env, capsys):
    tmp_path, _ = env
    typo = tmp_path / "typo.txt"
    typo.write_text("Warsaw\nWarszawa\n", encoding="utf-8")
    assert run_cli(tmp_path / "out", typo) == 2
    assert "include: 1 article(s) not in suite 'xquad-r': 'Warszawa'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluate_refuses_one_language_of_a_cross_only_suite(env, capsys):
    """Issue 29: ``--suite multi30k --language fr`` wrote 0 result rows with exit 0."""
    tmp_path, _ = env
    out = tmp_path / "one-language"
    code = main(["evaluate", "--model", "tiny", "--suite", "multi30k", "--language", "fr",
                 "--output", str(out), "--threads", "1"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("hybridlib evaluate: suite 'multi30k': languages (--language) = ['fr']")
    assert "only setting, Cross, pairs queries and candidates of different languages" in err
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("threads", ["0", "100000", "two"])
def test_evaluate_refuses_a_thread_count_out_of_range(threads, capsys):
    """Issue 29: ``--threads 0`` ended in torch's raw traceback."""
    with pytest.raises(SystemExit) as caught:
        main(["evaluate", "--model", "tiny", "--suite", "xquad-r", "--output", "unused",
              "--threads", threads])  # fmt: skip
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --threads: {threads!r} is not a thread count in [1, 1024]" in err
    assert "Traceback" not in err
