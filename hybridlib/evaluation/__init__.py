"""Evaluation: LAReQA settings, domain-shift suites, embedding cache, search, BM25, leakage guard.

- :mod:`~hybridlib.evaluation.embeddings`: embeddings cached per (model, suite, kind).
- :mod:`~hybridlib.evaluation.search`: exact scores (matmul) and top-k (matmul or faiss).
- :mod:`~hybridlib.evaluation.lareqa`: Mono / Cross / Multi settings -> tidy frames.
- :mod:`~hybridlib.evaluation.suites`: the suites, ``evaluate_suite`` and ``evaluate``, and
  their inputs ``EvaluationOptions`` (what is evaluated) and ``EvaluationSettings`` (how).
- :mod:`~hybridlib.evaluation.retrievers`: what is evaluated (dense, BM25, one's own), each
  declaring the settings it supports.
- :mod:`~hybridlib.evaluation.bm25`: the BM25 baseline on XLM-R pieces.
- :mod:`~hybridlib.evaluation.leakage`: refuse evaluation on training articles.
- :mod:`~hybridlib.evaluation.debias`: training-free removal of language identity
  (centering, LIR, LSAR), fitted on training texts.
"""

from hybridlib.evaluation.bm25 import BM25Scorer, bm25_scores, xlmr_pieces
from hybridlib.evaluation.debias import (
    LanguageCentering,
    LanguageInformationRemoval,
    LowRankSubspaceRemoval,
)
from hybridlib.evaluation.embeddings import (
    SuiteEmbeddings,
    cache_dir,
    embed_suite,
    encode_cached,
    model_fingerprint,
)
from hybridlib.evaluation.lareqa import (
    LAREQA_MEASURES,
    RESULT_COLUMNS,
    SETTINGS,
    DenseScorer,
    SettingsResult,
    evaluate_settings,
    language_matrix,
)
from hybridlib.evaluation.leakage import (
    LeakageError,
    check_no_overlap,
    read_articles,
    restrict_articles,
)
from hybridlib.evaluation.retrievers import (
    BM25Retriever,
    DenseRetriever,
    Retriever,
    load_retriever,
)
from hybridlib.evaluation.search import iter_score_blocks, run_from_top_k, score_matrix, top_k
from hybridlib.evaluation.suites import (
    EvaluationOptions,
    EvaluationSettings,
    evaluate,
    evaluate_suite,
    load_suite,
)
from hybridlib.suites import SUITES

__all__ = [
    "BM25Retriever",
    "BM25Scorer",
    "DenseRetriever",
    "DenseScorer",
    "EvaluationOptions",
    "EvaluationSettings",
    "LAREQA_MEASURES",
    "LanguageCentering",
    "LanguageInformationRemoval",
    "LowRankSubspaceRemoval",
    "LeakageError",
    "RESULT_COLUMNS",
    "Retriever",
    "SETTINGS",
    "SUITES",
    "SettingsResult",
    "SuiteEmbeddings",
    "bm25_scores",
    "cache_dir",
    "check_no_overlap",
    "embed_suite",
    "encode_cached",
    "evaluate",
    "evaluate_settings",
    "evaluate_suite",
    "iter_score_blocks",
    "language_matrix",
    "load_retriever",
    "load_suite",
    "model_fingerprint",
    "read_articles",
    "restrict_articles",
    "run_from_top_k",
    "score_matrix",
    "top_k",
    "xlmr_pieces",
]
