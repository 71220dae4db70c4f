"""Result files -> the book's tables and figures (the protocol, which runs before any
result exists, is :mod:`hybridlib.protocol`).

- :mod:`~hybridlib.reporting.study`: :func:`load_study`, where an analysis chapter starts.
- :mod:`~hybridlib.reporting.results`: runs read back, systems named from their records,
  like-for-like checks.
- :mod:`~hybridlib.reporting.tables`: summaries with intervals and the paper's tables.
- :mod:`~hybridlib.reporting.claims`: the paper's claims as one family of tests.
- :mod:`~hybridlib.reporting.figures`: heatmaps, the ablation, learning curves.

``suite_label`` and ``headline_measures`` (each domain-shift suite's (setting, measure)) are
the suite registry's, :mod:`hybridlib.suites`.
"""

from hybridlib.reporting.claims import (
    MODE_READINGS,
    Claim,
    evaluate_claims,
    evaluate_synergy,
    mixing_claims,
    mode_agreement,
    paper_claims,
    pure_claims,
    shift_claims,
    verdict_counts,
)
from hybridlib.reporting.display import (
    claims_display,
    measure_name,
    readable_index,
    synergy_display,
)
from hybridlib.reporting.figures import (
    ablation_figure,
    curves_figure,
    heatmap_figure,
    language_figure,
    tradeoff_figure,
)
from hybridlib.reporting.publish import glue_figure, glue_table, glue_value
from hybridlib.reporting.results import (
    ComparisonError,
    MixingSystems,
    check_like_for_like,
    comparison_units,
    hybrid_alphas,
    load_results,
    mixing_systems,
    systems_of,
)
from hybridlib.reporting.study import Study, left_out_table, load_study
from hybridlib.reporting.tables import (
    EFFECTS,
    PAPER,
    alpha_trend,
    effect_sizes,
    format_interval,
    headline_sentence,
    language_matrix,
    language_scores,
    main_table,
    measure_table,
    seed_values,
    summarise,
    tatoeba_table,
    untranslated_words_table,
)
from hybridlib.suites import headline_measures, suite_label

__all__ = [
    "PAPER",
    "claims_display",
    "synergy_display",
    "glue_figure",
    "glue_table",
    "glue_value",
    "Study",
    "left_out_table",
    "load_study",
    "measure_name",
    "readable_index",
    "suite_label",
    "headline_measures",
    "Claim",
    "ComparisonError",
    "ablation_figure",
    "alpha_trend",
    "check_like_for_like",
    "comparison_units",
    "curves_figure",
    "tradeoff_figure",
    "effect_sizes",
    "evaluate_claims",
    "evaluate_synergy",
    "MixingSystems",
    "mixing_claims",
    "mode_agreement",
    "MODE_READINGS",
    "EFFECTS",
    "mixing_systems",
    "format_interval",
    "hybrid_alphas",
    "heatmap_figure",
    "language_figure",
    "headline_sentence",
    "language_scores",
    "untranslated_words_table",
    "language_matrix",
    "load_results",
    "main_table",
    "measure_table",
    "paper_claims",
    "pure_claims",
    "shift_claims",
    "seed_values",
    "summarise",
    "systems_of",
    "tatoeba_table",
    "verdict_counts",
]
