"""Retrievers: what evaluation runs, each declaring the settings and inputs it supports.

A :class:`Retriever` gives evaluation one scorer per (restricted) suite and the records of
the provenance; it declares the LAReQA settings it runs (``supported_settings``) and whether
a post-processing of embeddings applies to it (``postprocessing``). Evaluation reads these
declarations, never the model's name:

- :class:`DenseRetriever` wraps an encoder (``hybridlib.models.Encoder``, or any object with
  its ``name`` and ``encode``): cosine of cached embeddings, every setting, post-processing
  and :class:`~hybridlib.evaluation.suites.EvaluationSettings` apply.
- :class:`BM25Retriever` is the BM25 baseline (:mod:`hybridlib.evaluation.bm25`, ``k1`` and
  ``b`` from the :class:`~hybridlib.evaluation.suites.EvaluationOptions`): the Mono setting
  only (lexical matching across scripts is meaningless), no post-processing, no evaluation
  settings (it reads no tokens through an encoder).

A retriever of one's own subclasses :class:`Retriever` (or one of these two, to narrow
``supported_settings``); :func:`load_retriever` passes it through.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from hybridlib.data.types import RetrievalSuite
from hybridlib.evaluation.bm25 import BM25Scorer
from hybridlib.evaluation.embeddings import CandidateInput, embed_suite, model_fingerprint
from hybridlib.evaluation.lareqa import SETTINGS, DenseScorer, Scorer
from hybridlib.evaluation.leakage import training_articles_of

if TYPE_CHECKING:
    from hybridlib.evaluation.debias import SuiteDebiasing

BM25_MODEL = "bm25"  # the model name that loads the BM25 baseline


class RetrieverOptions(Protocol):
    """What a retriever reads of :class:`~hybridlib.evaluation.suites.EvaluationOptions`
    (named here, not imported: evaluation.suites imports this module)."""

    @property
    def batch_size(self) -> int: ...
    @property
    def cache(self) -> str | os.PathLike[str] | None: ...
    @property
    def bm25_k1(self) -> float: ...
    @property
    def bm25_b(self) -> float: ...
    def record(self, *, bm25: bool) -> dict[str, Any]: ...


class RetrieverSettings(Protocol):
    """What a retriever reads of :class:`~hybridlib.evaluation.suites.EvaluationSettings`."""

    @property
    def candidate_input(self) -> CandidateInput: ...
    def apply(self, encoder: Any) -> dict[str, Any]: ...


class Retriever(ABC):
    """A retrieval model as evaluation sees it.

    Declares ``name`` (in messages), ``supported_settings`` (LAReQA settings it runs) and
    ``postprocessing`` (whether a post-processing of embeddings applies); gives one scorer
    per suite (:meth:`scorers`) and its :meth:`fingerprint`. The other methods default to a
    model that takes no evaluation settings, records nothing of itself and fills no cache.
    """

    name: str
    supported_settings: tuple[str, ...] = SETTINGS
    postprocessing: bool = False
    lexical: bool = False  # matches words: runs only a suite's lexical_settings

    @abstractmethod
    def scorers(
        self,
        suites: Sequence[RetrievalSuite],
        *,
        options: RetrieverOptions,
        candidate_input: CandidateInput,
        postprocess: SuiteDebiasing | None,
    ) -> Iterator[Scorer]:
        """One scorer per suite, in order, each made when asked for."""

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """What identifies the model in the provenance: ``{"model": name, ...}``."""

    def configure(self, settings: RetrieverSettings) -> dict[str, Any]:
        """Set ``settings`` on the model; returns their record (here: none are taken)."""
        return {"candidate_input": settings.candidate_input, "model": self.fingerprint()["model"]}

    def training_articles(self, given: Sequence[str] | None) -> tuple[str, ...] | None:
        """The articles the leakage guard holds it to: ``given`` (here: the model records none)."""
        return None if given is None else tuple(given)

    def options_record(self, options: RetrieverOptions) -> dict[str, Any]:
        """The provenance entries of ``options``
        (:meth:`hybridlib.evaluation.suites.EvaluationOptions.record`)."""
        return options.record(bm25=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """What the model records of itself (the provenance's ``model_metadata``)."""
        return {}

    @property
    def hidden_cache(self) -> Any:
        """The hidden-state cache it runs with (None: none)."""
        return None


class DenseRetriever(Retriever):
    """Cosine of ``encoder``'s embeddings, cached per suite (:func:`embed_suite`)."""

    postprocessing = True

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.name = str(getattr(encoder, "name", type(encoder).__name__))

    def scorers(
        self,
        suites: Sequence[RetrievalSuite],
        *,
        options: RetrieverOptions,
        candidate_input: CandidateInput,
        postprocess: SuiteDebiasing | None,
    ) -> Iterator[Scorer]:
        fingerprint = model_fingerprint(self.encoder)  # hashing the weights: once for all suites
        for suite in suites:
            embedded = embed_suite(
                self.encoder, suite, candidate_input=candidate_input,
                batch_size=options.batch_size, cache=options.cache, fingerprint=fingerprint,
            )  # fmt: skip
            queries, candidates = embedded.queries, embedded.candidates
            if postprocess is not None:
                queries, candidates = postprocess.apply(
                    queries, [q.language for q in suite.queries],
                    candidates, [c.language for c in suite.candidates],
                )  # fmt: skip
            yield DenseScorer(queries, candidates)

    def fingerprint(self) -> dict[str, Any]:
        return model_fingerprint(self.encoder)

    def configure(self, settings: RetrieverSettings) -> dict[str, Any]:
        return settings.apply(self.encoder)

    def training_articles(self, given: Sequence[str] | None) -> tuple[str, ...] | None:
        """``given``, then those the encoder records having trained on."""
        return training_articles_of(self.encoder, given)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(getattr(getattr(self.encoder, "settings", None), "metadata", {}))

    @property
    def hidden_cache(self) -> Any:
        return getattr(self.encoder, "hidden_cache", None)


class BM25Retriever(Retriever):
    """The BM25 baseline on XLM-R pieces (:class:`BM25Scorer`): Mono, and Cross where a suite
    declares that a query and its answers in another language may share words (its
    ``lexical_settings``: SciFact's machine-translated claims keep the words the translator
    did not know; TICO-19's segments share names and numbers), where it measures what those
    shared words alone retrieve."""

    name = "BM25"
    supported_settings = ("mono", "cross")
    lexical = True

    def scorers(
        self,
        suites: Sequence[RetrievalSuite],
        *,
        options: RetrieverOptions,
        candidate_input: CandidateInput,
        postprocess: SuiteDebiasing | None,
    ) -> Iterator[Scorer]:
        for suite in suites:
            yield BM25Scorer(suite, k1=options.bm25_k1, b=options.bm25_b)

    def fingerprint(self) -> dict[str, Any]:
        return {"model": BM25_MODEL}

    def options_record(self, options: RetrieverOptions) -> dict[str, Any]:
        return options.record(bm25=True)


def load_retriever(model: Any) -> Retriever:
    """``model`` as a retriever: a :class:`Retriever` itself, ``"bm25"`` the BM25 baseline, another
    name or a folder a ``load_encoder``, any other object an encoder."""
    if isinstance(model, Retriever):
        declared = model.supported_settings
        if not declared or any(s not in SETTINGS for s in declared):
            raise ValueError(
                f"retriever {model.name!r} must support some of the settings {SETTINGS}, "
                f"but declares {declared!r}"
            )
        return model
    if isinstance(model, (str, os.PathLike)):
        if str(model) == BM25_MODEL:
            return BM25Retriever()
        from hybridlib.models import load_encoder

        return DenseRetriever(load_encoder(str(model)))
    return DenseRetriever(model)
