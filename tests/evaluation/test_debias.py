"""Training-free language-bias removal: hand-computed cases, toy data with known language
means, and properties (projections are idempotent, the removed directions are gone)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.evaluation.debias import (
    LanguageCentering,
    LanguageInformationRemoval,
    LowRankSubspaceRemoval,
    language_means,
)


def test_language_means_by_hand():
    means = language_means([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]], ["en", "en", "de"])
    assert list(means) == ["de", "en"]
    np.testing.assert_allclose(means["en"], [2.0, 1.0])
    np.testing.assert_allclose(means["de"], [0.0, 5.0])


def test_centering_by_hand():
    centering = LanguageCentering.fit([[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]], ["en", "en", "de"])
    out = centering.transform([[2.0, 1.0], [0.0, 1.0]], ["en", "de"], normalize=False)
    np.testing.assert_allclose(out, [[0.0, 1.0], [0.0, -3.0]])
    np.testing.assert_allclose(centering.transform([[2.0, 1.0]], ["en"]), [[0.0, 1.0]])


def test_centering_maps_translations_together_when_language_is_an_offset():
    """Toy model: e(k, l) = s_k + v_l with the s_k summing to 0. The fitted language means are
    the v_l, and centering leaves s_k: every translation of k lands on the same vector."""
    rng = np.random.default_rng(0)
    semantic = rng.normal(size=(5, 8))
    semantic -= semantic.mean(axis=0)  # (5, 8), mean zero
    offsets = {
        "de": rng.normal(size=8) * 3,
        "en": rng.normal(size=8) * 3,
        "zh": rng.normal(size=8) * 3,
    }
    rows = [semantic[k] + offsets[lang] for lang in offsets for k in range(5)]
    langs = [lang for lang in offsets for _ in range(5)]
    centering = LanguageCentering.fit(rows, langs)
    for lang, offset in offsets.items():
        np.testing.assert_allclose(
            centering.means[centering.languages.index(lang)], offset, atol=1e-12
        )
    out = centering.transform(rows, langs).reshape(3, 5, 8)
    unit = semantic / np.linalg.norm(semantic, axis=1, keepdims=True)
    for block in out:
        np.testing.assert_allclose(block, unit, atol=1e-6)


def test_lir_by_hand():
    # language A: rows (2, 1, 0), (2, -1, 0): A^T A = diag(8, 2, 0), top direction e1
    lir = LanguageInformationRemoval.fit(
        [[2.0, 1.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, 3.0]], ["a", "a", "b"]
    )
    np.testing.assert_allclose(np.abs(lir.components[0, 0]), [1.0, 0.0, 0.0], atol=1e-12)
    out = lir.transform([[3.0, 4.0, 0.0], [1.0, 2.0, 2.0]], ["a", "b"], normalize=False)
    np.testing.assert_allclose(out, [[0.0, 4.0, 0.0], [1.0, 2.0, 0.0]], atol=1e-12)


def test_lsar_by_hand():
    # means: en (1, 1, 0), de (1, -1, 0); mu = (1, 0, 0); centred means +-(0, 1, 0)
    lsar = LowRankSubspaceRemoval.fit(
        [[1.0, 2.0, 0.0], [1.0, 0.0, 0.0], [1.0, -1.0, 0.0]], ["en", "en", "de"]
    )
    np.testing.assert_allclose(np.abs(lsar.basis[:, 0]), [0.0, 1.0, 0.0], atol=1e-12)
    out = lsar.transform([[2.0, 3.0, 5.0]], normalize=False)
    np.testing.assert_allclose(out, [[2.0, 0.0, 5.0]], atol=1e-12)
    np.testing.assert_allclose(lsar.transform([[2.0, 3.0, 0.0]]), [[1.0, 0.0, 0.0]], atol=1e-7)


@st.composite
def fitted_data(draw):
    n_languages = draw(st.integers(2, 4))
    dim = draw(st.integers(n_languages, 8))
    per_language = draw(st.integers(dim, dim + 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    codes = [f"l{i}" for i in range(n_languages)]
    rows = np.concatenate(
        [rng.normal(size=(per_language, dim)) + rng.normal(size=dim) * 2 for _ in codes]
    )
    langs = [code for code in codes for _ in range(per_language)]
    return rows, langs, n_languages


@settings(max_examples=40, deadline=None)
@given(data=fitted_data())
def test_lsar_at_full_rank_makes_every_language_mean_the_same(data):
    rows, langs, n_languages = data
    lsar = LowRankSubspaceRemoval.fit(rows, langs, rank=n_languages - 1)
    out = lsar.transform(rows, normalize=False)
    means = np.stack(list(language_means(out, langs).values()))
    np.testing.assert_allclose(means, np.broadcast_to(means[0], means.shape), atol=1e-6)
    np.testing.assert_allclose(out @ lsar.basis, 0.0, atol=1e-6)  # the subspace is gone
    np.testing.assert_allclose(lsar.transform(out, normalize=False), out, atol=1e-5)  # idempotent


@settings(max_examples=40, deadline=None)
@given(data=fitted_data(), draw=st.data())
def test_lir_removes_each_languages_own_directions_and_is_idempotent(data, draw):
    rows, langs, _ = data
    rank = draw.draw(st.integers(1, rows.shape[1] - 1), label="rank")  # a direction must remain
    lir = LanguageInformationRemoval.fit(rows, langs, rank=rank)
    out = lir.transform(rows, langs, normalize=False)
    for i, lang in enumerate(lir.languages):
        own = out[np.asarray(langs) == lang]
        np.testing.assert_allclose(own @ lir.components[i].T, 0.0, atol=1e-6)
    np.testing.assert_allclose(lir.transform(out, langs, normalize=False), out, atol=1e-5)
    unit = lir.transform(rows, langs)
    assert unit.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: LanguageCentering.fit([[1.0, 0.0]], ["en"]).transform([[1.0, 0.0]], ["de"]),
            ValueError,
            r"LanguageCentering.transform: language\(s\) \['de'\] were not fitted \(fitted on \['en'\]\)",
        ),
        (
            lambda: LowRankSubspaceRemoval.fit([[1.0, 0.0], [0.0, 1.0]], ["en", "de"], rank=2),
            ValueError,
            r"rank must be in \[1, L - 1 = 1\] for 2 languages \['de', 'en'\], but got 2",
        ),
        (
            lambda: LanguageInformationRemoval.fit([[1.0, 0.0]], ["en"], rank=2),
            ValueError,
            r"rank must be in \[1, 1\] for language 'en' \(1 rows of dimension 2\), but got 2",
        ),
        (
            lambda: LanguageCentering.fit([1.0, 2.0], ["en", "en"]),
            ValueError,
            r"embeddings must have shape \(n, d\) with n, d >= 1, but got \(2,\)",
        ),
        (
            lambda: LanguageCentering.fit([[1.0], [np.nan]], ["en", "en"]),
            ValueError,
            r"non-finite value \(row 1\)",
        ),
        (
            lambda: LanguageCentering.fit([[1.0], [2.0]], ["en"]),
            ValueError,
            r"languages must have one code per row \(2\), but got 1",
        ),
        (lambda: LanguageCentering.fit([[1.0], [2.0]], "en"), TypeError, "not one string 'en'"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------- applied in evaluation
def test_fit_debiasing_fits_each_side_on_its_own_texts():
    from hybridlib.evaluation.debias import fit_debiasing

    queries, q_langs = np.array([[1.0, 0.0], [3.0, 0.0]]), ["en", "de"]
    candidates, c_langs = np.array([[0.0, 2.0], [0.0, 4.0]]), ["en", "de"]
    fitted = fit_debiasing(
        "centering", queries, q_langs, candidates, c_langs, record={"fit_suite": "toy"}
    )
    assert fitted.record == {"method": "centering", "rank": None, "fit_suite": "toy"}
    np.testing.assert_allclose(fitted.queries.means, [[3.0, 0.0], [1.0, 0.0]])  # de, en
    np.testing.assert_allclose(fitted.candidates.means, [[0.0, 4.0], [0.0, 2.0]])
    q, c = fitted.apply(np.array([[1.0, 1.0]]), ["en"], np.array([[1.0, 1.0]]), ["de"])
    np.testing.assert_allclose(q, [[0.0, 1.0]])  # (1, 1) - (1, 0)
    np.testing.assert_allclose(c, [[1.0, -3.0]] / np.sqrt(10.0))  # (1, 1) - (0, 4)


@pytest.mark.parametrize(
    "method, rank, message",
    [
        ("centering", 1, "centering takes no rank"),
        ("lir", None, "needs a rank"),
        ("pca", 1, "must be one of"),
    ],
)
def test_fit_debiasing_names_a_bad_method_or_rank(method, rank, message):
    from hybridlib.evaluation.debias import fit_debiasing

    x = np.eye(3)
    with pytest.raises(ValueError, match=message):
        fit_debiasing(method, x, ["en", "de", "fr"], x, ["en", "de", "fr"], rank=rank)


def test_evaluation_with_a_postprocessing_scores_the_transformed_embeddings(
    two_language_suite, tmp_path
):
    """Equivalence: evaluate_suite(postprocess=...) == scoring the transformed embeddings by hand;
    and the cache holds the raw embeddings (a second, plain evaluation gives the plain scores)."""
    from hybridlib.evaluation import (
        DenseScorer,
        EvaluationOptions,
        embed_suite,
        evaluate_settings,
        evaluate_suite,
    )
    from hybridlib.evaluation.debias import fit_debiasing
    from hybridlib.models import tiny_encoder

    encoder = tiny_encoder(seed=0)
    raw = embed_suite(encoder, two_language_suite, cache=tmp_path)
    q_langs = [q.language for q in two_language_suite.queries]
    c_langs = [c.language for c in two_language_suite.candidates]
    fitted = fit_debiasing("lir", raw.queries, q_langs, raw.candidates, c_langs, rank=1)
    post = evaluate_suite(encoder, "xquad-r", suites=[two_language_suite], settings=("mono", "cross", "multi"),
                          options=EvaluationOptions(cache=tmp_path), postprocess=fitted)  # fmt: skip
    q, c = fitted.apply(raw.queries, q_langs, raw.candidates, c_langs)
    spec_measures = ("map", "recall@1", "recall@10")
    by_hand = evaluate_settings(two_language_suite, DenseScorer(q, c), settings=("mono", "cross", "multi"),
                                measures=spec_measures, multi_measures=("rank_distance", "rank_distance_norm"),
                                suite_name="xquad-r")  # fmt: skip
    pd_cols = ["setting", "query_language", "candidate_language", "metric"]
    left = post.results.sort_values(pd_cols).reset_index(drop=True)
    right = by_hand.results[by_hand.results["metric"].isin(left["metric"].unique())]
    right = right.sort_values(pd_cols).reset_index(drop=True)
    np.testing.assert_allclose(
        left["value"].to_numpy(), right["value"].to_numpy(), rtol=0, atol=1e-12
    )
    plain = evaluate_suite(
        encoder, "xquad-r", suites=[two_language_suite], settings=("multi",),
        options=EvaluationOptions(cache=tmp_path),
    )  # fmt: skip
    plain_by_hand = evaluate_settings(two_language_suite, DenseScorer(raw.queries, raw.candidates),
                                      settings=("multi",), measures=spec_measures, suite_name="xquad-r")  # fmt: skip
    maps = [r[(r["metric"] == "map") & (r["query_language"] == "all")]["value"].iloc[0]
            for r in (plain.results, plain_by_hand.results)]  # fmt: skip
    assert maps[0] == pytest.approx(maps[1], abs=1e-12)


def test_bm25_refuses_a_postprocessing(two_language_suite):
    from hybridlib.evaluation import evaluate_suite
    from hybridlib.evaluation.debias import fit_debiasing

    x = np.eye(2)
    fitted = fit_debiasing("centering", x, ["en", "de"], x, ["en", "de"])
    with pytest.raises(ValueError, match="does not apply to BM25"):
        evaluate_suite("bm25", "xquad-r", suites=[two_language_suite], postprocess=fitted)


def test_centering_of_an_unfitted_language_is_an_error_naming_it():
    from hybridlib.evaluation.debias import fit_debiasing

    x = np.eye(2)
    fitted = fit_debiasing("centering", x, ["en", "de"], x, ["en", "de"])
    with pytest.raises(ValueError, match=r"\['fi'\] were not fitted"):
        fitted.apply(x, ["en", "fi"], x, ["en", "de"])
