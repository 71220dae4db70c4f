"""Contrastive losses for dense retrieval: InfoNCE with in-batch negatives and its GradCache form.

``info_nce`` is a pure function of embeddings and holds all the scoring logic;
``InfoNCELoss`` and ``CachedInfoNCELoss`` only embed a batch and call it.
"""

from hybridlib.losses.cached import CachedInfoNCELoss
from hybridlib.losses.distributed import gather_objects, gather_with_grad
from hybridlib.losses.info_nce import DEFAULT_TEMPERATURE, InfoNCELoss, info_nce

__all__ = [
    "DEFAULT_TEMPERATURE",
    "CachedInfoNCELoss",
    "InfoNCELoss",
    "gather_objects",
    "gather_with_grad",
    "info_nce",
]
