"""Exact, vectorised IR metrics with trec_eval's tie rule; language bias; significance.

    from hybridlib.metrics import evaluate_scores, mean_scores, rank_distance
    per_query = evaluate_scores(scores, relevance, ["map", "recall@1", "recall@10"], ids)

One ranking function (:mod:`hybridlib.metrics.ranking`) and one tie rule serve every measure:
score descending, ties by candidate id descending (trec_eval). One registry,
:data:`~hybridlib.metrics.measures.MEASURES`, holds every measure's name, cut-off, direction,
display name, digits and function (rank distance included). Significance tests and
confidence intervals live in :mod:`hybridlib.metrics.significance`; the two-level (question
cluster x seed) bootstrap and the non-inferiority claims in :mod:`hybridlib.metrics.clustered`.
"""

from hybridlib.metrics.clustered import (
    ClaimTest,
    ClusteredDraws,
    claim_test,
    claims_table,
    clustered_bootstrap,
    contrast_test,
)
from hybridlib.metrics.language_bias import (
    RankDistance,
    expected_random_rank_distance,
    rank_distance,
    rank_distance_from_ranks,
)
from hybridlib.metrics.measures import (
    MEASURES,
    MeanScore,
    Measure,
    MeasureSpec,
    evaluate_run,
    evaluate_scores,
    higher_is_better,
    mean_scores,
    measure_digits,
    measure_label,
    measure_spec,
    measures_from_ranks,
    parse_measure,
)
from hybridlib.metrics.ranking import RelevantRanks, rank_order, relevant_ranks, tie_break_keys
from hybridlib.metrics.significance import (
    Comparison,
    ConfidenceInterval,
    RandomizationResult,
    SeedSummary,
    adjust_p_values,
    aggregate_seeds,
    bootstrap_ci,
    compare,
    compare_table,
    holm,
    randomization_test,
    seed_summary,
)

__all__ = [
    "MEASURES",
    "ClaimTest",
    "ClusteredDraws",
    "claim_test",
    "claims_table",
    "clustered_bootstrap",
    "contrast_test",
    "Comparison",
    "ConfidenceInterval",
    "MeanScore",
    "Measure",
    "MeasureSpec",
    "RandomizationResult",
    "RankDistance",
    "RelevantRanks",
    "SeedSummary",
    "adjust_p_values",
    "aggregate_seeds",
    "bootstrap_ci",
    "compare",
    "compare_table",
    "evaluate_run",
    "evaluate_scores",
    "expected_random_rank_distance",
    "higher_is_better",
    "holm",
    "mean_scores",
    "measure_digits",
    "measure_label",
    "measure_spec",
    "measures_from_ranks",
    "parse_measure",
    "randomization_test",
    "rank_distance",
    "rank_distance_from_ranks",
    "rank_order",
    "relevant_ranks",
    "seed_summary",
    "tie_break_keys",
]
