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
    ablation_figure,
    domain_shift_table,
    heatmap_figure,
    heatmap_matrix,
    load_tables,
    main_table,
    pooled_scores,
    seed_summary_table,
    significance_table,
    verdict,
)

__all__ = [
    "PAPER", "ablation_alphas", "ablation_figure", "domain_shift_table", "evaluation_runs",
    "fold_articles", "heatmap_figure", "heatmap_matrix", "held_out_articles", "load_tables",
    "main_table", "model_to_evaluate", "pooled_scores", "seed_summary_table",
    "significance_table", "suite_articles", "verdict",
]
