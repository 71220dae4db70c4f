"""The data types (hybridlib.data.types): a suite's subsets keep their judgements consistent."""

from __future__ import annotations

from hybridlib.data.types import Candidate, Query, RetrievalSuite


def test_suite_subset_restricts_qrels_to_pool():
    suite = RetrievalSuite(
        name="toy",
        queries=[Query("q1", "en", "who?", "k1", "A"), Query("q2", "de", "wer?", "k1", "A")],
        candidates=[
            Candidate("c1", "en", "he.", article="A"),
            Candidate("c2", "de", "er.", article="A"),
            Candidate("c3", "de", "sie.", article="B"),
        ],
        qrels={"q1": {"c1": 1, "c2": 1}, "q2": {"c1": 1, "c2": 1}},
    )
    german_pool = suite.subset(candidate_languages=["de"])
    assert german_pool.qrels == {"q1": {"c2": 1}, "q2": {"c2": 1}}
    assert [c.id for c in german_pool.candidates] == ["c2", "c3"]
    only_b = suite.subset(articles=["B"])
    assert only_b.queries == [] and only_b.qrels == {}
    assert suite.languages == ["de", "en"]
