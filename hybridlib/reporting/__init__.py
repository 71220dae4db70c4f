"""Result files -> the book's tables and figures; the experiment protocol the notebooks call."""

from hybridlib.reporting.protocol import (
    evaluation_runs,
    fold_articles,
    held_out_articles,
    model_to_evaluate,
    suite_articles,
)
from hybridlib.reporting.tables import (
    PAPER,
    ablation_alphas,
    alpha_trend,
    claim_check,
    claims_table,
    ablation_figure,
    domain_shift_table,
    domain_shift_verdicts,
    heatmap_figure,
    heatmap_matrix,
    load_tables,
    main_table,
    measure_table,
    pooled_scores,
    seed_summary_table,
    significance_table,
    summarise_verdicts,
    tatoeba_scores,
    tatoeba_table,
    verdict,
)

__all__ = [
    "PAPER", "ablation_alphas", "alpha_trend", "claim_check", "claims_table", "ablation_figure", "domain_shift_table", "domain_shift_verdicts", "evaluation_runs",
    "fold_articles", "heatmap_figure", "heatmap_matrix", "held_out_articles", "load_tables",
    "main_table", "measure_table", "model_to_evaluate", "pooled_scores", "seed_summary_table",
    "significance_table", "suite_articles", "summarise_verdicts", "tatoeba_scores", "tatoeba_table", "verdict",
]
