"""Learning curves on held-out training data: validation loss and validation mAP.

The open choices of the method (temperature, learning rate, number of steps) are made on
these curves, never on a test suite. A :class:`Validator` holds the validation articles of
the training suite and scores an encoder on them:

- ``val_loss``: the mean InfoNCE loss over the first :data:`MAX_LOSS_BATCHES` batches of a
  fixed Hybrid(0.5) sampler (exact alpha, seed 0, the run's batch size): the same batches,
  mixing X-X and X-Y, whichever sampler trains the model, so curves of different samplers
  are comparable (across temperatures they are not: the loss scales with 1 / temperature);
- ``map_mono``, ``map_cross``, ``map_multi``: LAReQA mAP on those articles in the training
  languages (:func:`hybridlib.evaluation.evaluate_settings`), and ``map_mean``, their mean
  (the selection criterion: the method's goal is all three at once).

Scoring runs in eval mode without gradients and draws nothing from the global RNGs, so a
run with validation trains exactly as one without.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hybridlib.data.types import RetrievalSuite, TrainingPair

VALIDATION_SAMPLER_SEED = 0
VALIDATION_ALPHA = 0.5
MAX_LOSS_BATCHES = 8  # batches of the validation loss (the first of the fixed epoch)


class Validator:
    """Scores an encoder on validation pairs and the matching LAReQA suite."""

    def __init__(
        self, pairs: Sequence[TrainingPair], suite: RetrievalSuite, batch_size: int
    ) -> None:
        from hybridlib.samplers import HybridBatchSampler, ParallelPairs

        if not pairs:
            raise ValueError("validation needs at least one pair, but the articles hold none")
        self.pairs = ParallelPairs(list(pairs))
        size = min(batch_size, len(self.pairs.parallel_keys))
        sampler = HybridBatchSampler(
            self.pairs, batch_size=size, alpha=VALIDATION_ALPHA, seed=VALIDATION_SAMPLER_SEED
        )
        self.batches = [
            ParallelPairs.collate([self.pairs[item] for item in batch.pairs])
            for batch in sampler.plan(0)[:MAX_LOSS_BATCHES]
        ]
        self.suite = suite

    @classmethod
    def from_articles(
        cls, suite: str, articles: Sequence[str], languages: Sequence[str] | None,
        batch_size: int, root: str | None = None,
    ) -> Validator:  # fmt: skip
        """The validation pairs and suite of held-out ``articles`` of the training ``suite``
        (its registry entry's ``held_out`` loader: LAReQA articles, XM3600 images)."""
        from hybridlib.suites import suite_spec

        spec = suite_spec(suite)
        if spec.held_out is None:
            raise ValueError(f"suite {suite!r} has no held-out units to validate on")
        pairs, loaded = spec.held_out(
            list(languages) if languages is not None else None, list(articles), root
        )
        return cls(pairs, loaded, batch_size)

    def __call__(self, encoder: Any, loss_fn: Any) -> dict[str, float]:
        was_training = encoder.training
        encoder.eval()
        try:
            with torch.no_grad():
                losses = [float(loss_fn(batch)) for batch in self.batches]
            queries = encoder.encode(
                [q.text for q in self.suite.queries], "query", show_progress=False
            )
            candidates = encoder.encode(
                [c.text for c in self.suite.candidates], "passage", show_progress=False
            )
        finally:
            encoder.train(was_training)
        return {
            "val_loss": float(np.mean(losses)),
            **validation_maps(self.suite, queries, candidates),
        }


def validation_maps(
    suite: RetrievalSuite, queries: np.ndarray, candidates: np.ndarray
) -> dict[str, float]:
    """``map_mono``, ``map_cross``, ``map_multi`` of ``suite`` scored with these embeddings
    (``(n_queries, d)``, ``(n_candidates, d)``), and ``map_mean``, their mean: the criterion
    of every choice made on held-out training data."""
    from hybridlib.evaluation import DenseScorer, evaluate_settings

    result = evaluate_settings(
        suite, DenseScorer(queries, candidates), settings=("mono", "cross", "multi"),
        measures=("map",), suite_name=suite.name,
    )  # fmt: skip
    rows = result.results
    overall = rows[(rows["query_language"] == "all") & (rows["metric"] == "map")]
    maps = {f"map_{r.setting}": float(r.value) for r in overall.itertuples()}
    return {
        **maps,
        "map_mean": float(np.mean([maps[f"map_{s}"] for s in ("mono", "cross", "multi")])),
    }
