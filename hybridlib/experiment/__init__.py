"""The experiment's steps as functions (the notebooks only call these), one module per job.

- :mod:`hybridlib.systems`: one identity per trained system (sampler and alpha),
  ``hybrid-a0.50`` in paths, ``Hybrid(0.50)`` in tables.
- :mod:`~hybridlib.experiment.training`: :func:`train_config`, the training configuration of
  one run of a direction; :func:`train_once`; :func:`train_and_evaluate` over seeds.
- :mod:`~hybridlib.experiment.validation`: :func:`run_validation`, the validation grid of a
  direction (temperature x learning rate x sampler, one seed), its learning curves and
  :func:`choose_settings` on them; :func:`resolve_choices` reads the choice back.
- :mod:`~hybridlib.experiment.evaluation`: :func:`evaluate_run`, one model (or baseline) on
  the suites of the protocol, with its run record (:mod:`hybridlib.run_records`,
  ``run.json``, written last).
- :mod:`~hybridlib.experiment.topk`: :func:`finetuning_comparison`, top-k layers against the
  whole encoder on the same batches.
- :mod:`~hybridlib.experiment.language_structure`: :func:`language_variance_shares`, how
  much of each model's embedding of a test suite lies between the languages' means.
- :mod:`~hybridlib.experiment.debias`: :func:`debias_runs`, training-free removal of
  language identity (centering, LIR, LSAR) fitted on training-side texts, its ranks chosen
  on the validation articles (:func:`choose_debias_ranks`), applied to the untrained
  encoder and to trained models.

Every result is written atomically; a finished model or suite is not recomputed, so an
interrupted execution resumes where it stopped. Importing this package imports neither
torch nor transformers (the steps import them when they run).
"""

from hybridlib.experiment.debias import (
    DEBIAS_SELECTION_FILE,
    DEBIAS_VALIDATION_FILE,
    choose_debias_ranks,
    debias_runs,
    fit_texts,
)
from hybridlib.experiment.evaluation import evaluate_run
from hybridlib.experiment.language_structure import language_variance_shares, study_variance_shares
from hybridlib.experiment.topk import article_sample, finetuning_comparison
from hybridlib.experiment.training import (
    finished_run,
    train_and_evaluate,
    train_config,
    train_once,
    trainer_fields,
)
from hybridlib.experiment.validation import (
    choice_sentence,
    choose_settings,
    halving_schedule,
    rank_pairs,
    read_selection,
    resolve_choices,
    run_validation,
    selection_edges,
)
from hybridlib.systems import (
    SELECTION_FILE,
    canonical,
    debiased_name,
    steps_of,
    system_label,
    system_name,
)

__all__ = [
    "DEBIAS_SELECTION_FILE",
    "DEBIAS_VALIDATION_FILE",
    "SELECTION_FILE",
    "article_sample",
    "canonical",
    "choose_debias_ranks",
    "choice_sentence",
    "choose_settings",
    "halving_schedule",
    "rank_pairs",
    "debias_runs",
    "debiased_name",
    "evaluate_run",
    "finetuning_comparison",
    "finished_run",
    "fit_texts",
    "language_variance_shares",
    "read_selection",
    "resolve_choices",
    "run_validation",
    "selection_edges",
    "steps_of",
    "study_variance_shares",
    "system_label",
    "system_name",
    "train_and_evaluate",
    "train_config",
    "train_once",
    "trainer_fields",
]
