"""Training-free removal of language identity from multilingual embeddings.

Three post-processings, each fitted on embeddings of the *training side* (texts with their
language codes; never the evaluated suite) and then applied to any embeddings:

- :class:`LanguageCentering`: subtract the mean embedding of the text's language,
  ``e' = e - m_l`` with ``m_l = mean of the fitted embeddings of language l``.
- :class:`LanguageInformationRemoval` (LIR; Yang et al., Findings of EMNLP 2021): for each
  language, the top ``rank`` right singular vectors ``C_l`` (``(rank, d)``) of its
  (uncentred) embedding matrix, and ``e' = e - C_l^T C_l e`` for a text of language ``l``.
- :class:`LowRankSubspaceRemoval` (LSAR; Xie et al., 2024): the language means ``M``
  (``(d, L)``), their mean ``mu = M 1 / L``, and the top ``rank`` left singular vectors
  ``U`` (``(d, rank)``) of ``M - mu 1^T``: a subspace where the languages differ. Every text
  is projected onto its orthogonal complement, ``e' = (I - U U^T) e``, whatever its
  language. ``rank <= L - 1`` (the centred means span at most ``L - 1`` directions).

Each ``transform`` returns float32 rows re-normalised to unit length (``normalize=True``,
the default), so cosine retrieval applies unchanged. Shapes: ``embeddings`` ``(n, d)``,
``languages`` ``n`` codes.

:class:`SuiteDebiasing` holds one fitted post-processing per side of a retrieval suite
(queries fitted on training questions, candidates on training sentences: an encoder with
prefixes embeds the two kinds apart); ``hybridlib.evaluation.evaluate(..., postprocess=...)``
applies it to the embeddings before scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "SuiteDebiasing",
    "fit_debiasing",
    "LanguageCentering",
    "LanguageInformationRemoval",
    "LowRankSubspaceRemoval",
    "language_means",
]


def _check(embeddings: np.ndarray, languages: Sequence[str] | None, what: str) -> np.ndarray:
    """``embeddings`` as a finite float64 ``(n, d)`` array, with ``n`` language codes."""
    array = np.asarray(embeddings, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{what}: embeddings must have shape (n, d) with n, d >= 1, but got {array.shape}"
        )
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ValueError(f"{what}: embeddings hold a non-finite value (row {row})")
    if languages is not None:
        if isinstance(languages, str):
            raise TypeError(
                f"{what}: languages must be one code per row, not one string {languages!r}"
            )
        if len(languages) != array.shape[0]:
            raise ValueError(
                f"{what}: languages must have one code per row ({array.shape[0]}), but got {len(languages)}"
            )
    return array


def _finish(array: np.ndarray, normalize: bool) -> np.ndarray:
    if normalize:
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        array = array / np.where(norms > 0, norms, 1.0)
    return array.astype(np.float32)


def language_means(embeddings: np.ndarray, languages: Sequence[str]) -> dict[str, np.ndarray]:
    """``{language: (d,) mean embedding}`` over the rows of each language (sorted by code)."""
    array = _check(embeddings, languages, "language_means")
    codes = np.asarray(languages)
    return {str(lang): array[codes == lang].mean(axis=0) for lang in sorted(set(codes.tolist()))}


def _rows_of(languages: Sequence[str], known: Sequence[str], what: str) -> np.ndarray:
    """Index into ``known`` of each row's language; an unknown code is named."""
    position = {lang: i for i, lang in enumerate(known)}
    unknown = sorted(set(languages) - position.keys())
    if unknown:
        raise ValueError(
            f"{what}: language(s) {unknown} were not fitted (fitted on {list(known)}); "
            "fit on training texts in every language to be transformed"
        )
    return np.array([position[lang] for lang in languages], dtype=np.int64)


@dataclass(frozen=True)
class LanguageCentering:
    """Per-language mean centering: ``e' = e - m_l`` (then unit length)."""

    languages: tuple[str, ...]
    means: np.ndarray  # (L, d), row i = mean of languages[i]

    @classmethod
    def fit(cls, embeddings: np.ndarray, languages: Sequence[str]) -> LanguageCentering:
        means = language_means(embeddings, languages)
        return cls(tuple(means), np.stack(list(means.values())))

    def transform(
        self, embeddings: np.ndarray, languages: Sequence[str], normalize: bool = True
    ) -> np.ndarray:
        array = _check(embeddings, languages, "LanguageCentering.transform")
        rows = _rows_of(languages, self.languages, "LanguageCentering.transform")
        return _finish(array - self.means[rows], normalize)


@dataclass(frozen=True)
class LanguageInformationRemoval:
    """LIR: remove each language's top ``rank`` singular directions from its own texts."""

    languages: tuple[str, ...]
    components: np.ndarray  # (L, rank, d), orthonormal rows per language

    @classmethod
    def fit(
        cls, embeddings: np.ndarray, languages: Sequence[str], rank: int = 1
    ) -> LanguageInformationRemoval:
        array = _check(embeddings, languages, "LanguageInformationRemoval.fit")
        codes = np.asarray(languages)
        known = sorted(set(codes.tolist()))
        parts = []
        for lang in known:
            rows = array[codes == lang]
            if not 1 <= rank <= min(rows.shape):
                raise ValueError(
                    f"LanguageInformationRemoval.fit: rank must be in [1, {min(rows.shape)}] for "
                    f"language {lang!r} ({rows.shape[0]} rows of dimension {rows.shape[1]}), but got {rank}"
                )
            _, _, vt = np.linalg.svd(rows, full_matrices=False)  # vt: (min(n_l, d), d)
            parts.append(vt[:rank])
        return cls(tuple(known), np.stack(parts))

    def transform(
        self, embeddings: np.ndarray, languages: Sequence[str], normalize: bool = True
    ) -> np.ndarray:
        array = _check(embeddings, languages, "LanguageInformationRemoval.transform")
        rows = _rows_of(languages, self.languages, "LanguageInformationRemoval.transform")
        c = self.components[rows]  # (n, rank, d)
        along = np.einsum("nkd,nd->nk", c, array)  # (n, rank)
        return _finish(array - np.einsum("nk,nkd->nd", along, c), normalize)


@dataclass(frozen=True)
class LowRankSubspaceRemoval:
    """LSAR: project every text off the ``rank`` directions where the language means differ."""

    languages: tuple[str, ...]
    basis: np.ndarray  # (d, rank), orthonormal columns U

    @classmethod
    def fit(
        cls, embeddings: np.ndarray, languages: Sequence[str], rank: int = 1
    ) -> LowRankSubspaceRemoval:
        means = language_means(embeddings, languages)
        n_languages = len(means)
        if not 1 <= rank <= n_languages - 1:
            raise ValueError(
                f"LowRankSubspaceRemoval.fit: rank must be in [1, L - 1 = {n_languages - 1}] for "
                f"{n_languages} languages {list(means)}, but got {rank}"
            )
        m = np.stack(list(means.values()), axis=1)  # (d, L)
        centred = m - m.mean(axis=1, keepdims=True)  # (d, L): M - mu 1^T
        u, _, _ = np.linalg.svd(centred, full_matrices=False)  # u: (d, min(d, L))
        return cls(tuple(means), u[:, :rank])

    def transform(
        self, embeddings: np.ndarray, languages: Sequence[str] | None = None, normalize: bool = True
    ) -> np.ndarray:
        """``languages`` is not needed (the projection is the same for every text)."""
        array = _check(embeddings, languages, "LowRankSubspaceRemoval.transform")
        return _finish(array - (array @ self.basis) @ self.basis.T, normalize)


METHODS = ("centering", "lir", "lsar")


def _fit(method: str, embeddings: np.ndarray, languages: Sequence[str], rank: int | None) -> Any:
    if method == "centering":
        if rank is not None:
            raise ValueError("fit_debiasing: centering takes no rank (give rank=None)")
        return LanguageCentering.fit(embeddings, languages)
    if method not in METHODS:
        raise ValueError(
            f"fit_debiasing: method must be one of {list(METHODS)}, but got {method!r}"
        )
    if rank is None:
        raise ValueError(f"fit_debiasing: method {method!r} needs a rank")
    cls = LanguageInformationRemoval if method == "lir" else LowRankSubspaceRemoval
    return cls.fit(embeddings, languages, rank=rank)


@dataclass(frozen=True)
class SuiteDebiasing:
    """One fitted post-processing per side: ``queries`` and ``candidates`` transforms of
    ``method`` (rank ``rank``); ``record`` says what they were fitted on (for provenance)."""

    method: str
    rank: int | None
    queries: Any
    candidates: Any
    record: dict[str, Any] = field(default_factory=dict)

    def apply(
        self,
        queries: np.ndarray,
        query_languages: Sequence[str],
        candidates: np.ndarray,
        candidate_languages: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both sides transformed: ``(n_queries, d)`` and ``(n_candidates, d)``, unit rows."""
        return (
            self.queries.transform(queries, list(query_languages)),
            self.candidates.transform(candidates, list(candidate_languages)),
        )


def fit_debiasing(
    method: str,
    query_embeddings: np.ndarray,
    query_languages: Sequence[str],
    candidate_embeddings: np.ndarray,
    candidate_languages: Sequence[str],
    *,
    rank: int | None = None,
    record: dict[str, Any] | None = None,
) -> SuiteDebiasing:
    """Fit ``method`` (``centering``, ``lir`` or ``lsar``; ``rank`` for the last two) on
    training-side embeddings of each side: questions ``(n_q, d)`` and sentences ``(n_c, d)``
    with their language codes."""
    return SuiteDebiasing(
        method=method,
        rank=rank,
        queries=_fit(method, query_embeddings, query_languages, rank),
        candidates=_fit(method, candidate_embeddings, candidate_languages, rank),
        record={"method": method, "rank": rank, **(record or {})},
    )
