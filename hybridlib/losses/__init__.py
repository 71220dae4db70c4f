"""Contrastive losses for dense retrieval: InfoNCE with in-batch negatives and its GradCache form.

``contrastive_loss`` is a pure function of embeddings and keys and holds all the scoring
logic; ``info_nce`` checks its inputs and hands it the columns of every rank in a
multi-process run (:func:`~hybridlib.losses.distributed.rank_columns`). ``InfoNCELoss`` and
``CachedInfoNCELoss`` only embed a batch and call it; how their encoder runs under several
processes is set from outside (``encoder_runner``, :mod:`hybridlib.training.step`).
"""

from hybridlib.losses.cached import CachedInfoNCELoss
from hybridlib.losses.distributed import gather_objects, gather_with_grad
from hybridlib.losses.info_nce import (
    DEFAULT_TEMPERATURE,
    InfoNCELoss,
    contrastive_loss,
    info_nce,
)

__all__ = [
    "DEFAULT_TEMPERATURE",
    "CachedInfoNCELoss",
    "InfoNCELoss",
    "contrastive_loss",
    "gather_objects",
    "gather_with_grad",
    "info_nce",
]
