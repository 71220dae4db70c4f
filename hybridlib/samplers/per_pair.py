"""Per-pair mixing: the Hybrid data mixture inside every batch instead of across batches.

:class:`HybridBatchSampler` makes whole batches monolingual (X-X) or cross-lingual (X-Y).
:class:`PerPairMixingSampler` keeps the same share ``alpha`` of monolingual pairs but mixes
the two kinds inside each batch: every batch holds both. Comparing the two separates "the
data mixture" from "the homogeneity of batches", the paper's real claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hybridlib.data.types import TrainingPair
from hybridlib.samplers.hybrid import (
    BatchKind,
    HybridBatchSampler,
    PlannedBatch,
    _exact_kinds,
    _without_replacement,
)
from hybridlib.samplers.parallel_pairs import ParallelPairs

__all__ = ["PerPairMixingSampler"]


class PerPairMixingSampler(HybridBatchSampler):
    """Batches in which each pair is monolingual with share ``alpha``, cross-lingual otherwise.

    Every step draws ``batch_size * num_replicas`` distinct parallel keys among the keys that
    exist in at least two of the selected languages (without replacement, in cycles, as the
    X-Y batches of :class:`HybridBatchSampler` do). For each key, a query language ``a`` is
    drawn uniformly among the key's languages; a **monolingual** item is ``(i, i)`` for a pair
    ``i`` of (``a``, key), a **cross-lingual** item ``(i, j)`` with ``j`` a pair of the same key
    in a language ``b != a`` drawn uniformly among the others.

    Which items are monolingual: ``kind_schedule="exact"`` (default) makes exactly
    ``floor(alpha * N + 0.5)`` of the ``N`` items of every global step monolingual, at
    uniformly random positions; ``"coin"`` makes each item monolingual with probability
    ``alpha``, independently. ``kind_block`` does not apply (the unit is the batch).

    Everything else is :class:`HybridBatchSampler`'s contract: the epoch length, ranks (rank
    ``r`` takes the ``r``-th slice of each global step), a parallel key at most once per step
    over all ranks, the plan of epoch ``e`` a function of ``(seed, e)``, ``state_dict`` /
    ``load_state_dict`` for resumption. A batch's :class:`PlannedBatch` has kind
    ``BatchKind.MIXED`` and the sorted languages of its queries and passages.
    """

    sampler_name = "per-pair"  # its spec in :mod:`hybridlib.sampler_specs`

    def __init__(
        self,
        pairs: ParallelPairs | Sequence[TrainingPair],
        batch_size: int,
        alpha: float = 0.5,
        seed: int = 0,
        kind_schedule: str = "exact",
        kind_block: int | None = None,
        **kwargs: Any,
    ) -> None:
        if kind_block is not None:
            raise ValueError(
                f"kind_block applies to whole-batch kinds only; PerPairMixingSampler mixes "
                f"inside each batch, but got kind_block={kind_block}"
            )
        if "language_weighting" in kwargs and kwargs["language_weighting"] != "uniform":
            raise ValueError("PerPairMixingSampler draws languages uniformly per key: "
                             f"language_weighting={kwargs['language_weighting']!r} does not apply")  # fmt: skip
        super().__init__(
            pairs, batch_size, alpha=alpha, seed=seed, kind_schedule=kind_schedule, **kwargs
        )

    def _check_capacity(self) -> None:
        n, n_xy = self.global_batch_size, int(self._xy_key_start.size)
        if n_xy < n:
            what = "batch_size" if self.num_replicas == 1 else "batch_size * num_replicas"
            raise ValueError(
                f"{n_xy} parallel keys occur in two or more languages, fewer than {what} = {n} "
                "that a per-pair mixed batch needs"
            )

    def _make_plan(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``is_mono``, ``queries`` and ``passages``, each ``(steps, N)``: whether item ``i``
        of step ``s`` is monolingual, and its pair indices; ``N = batch_size * num_replicas``."""
        steps, n = self.steps_per_epoch, self.global_batch_size
        if self.kind_schedule == "coin":
            is_mono = rng.random((steps, n)) < self.alpha
        else:  # exact per step: a block of n items with floor(alpha * n + 0.5) monolingual
            is_mono = _exact_kinds(rng, steps * n, self.alpha, n).reshape(steps, n)
        keys = _without_replacement(rng, self._xy_key_start.size, steps, n)  # (steps * n,)
        n_langs = self._xy_key_n_languages[keys]
        a = rng.integers(0, n_langs)  # query language: position among the key's languages
        b = rng.integers(0, n_langs - 1)
        b = b + (b >= a)  # another language, uniform over the others
        b = np.where(is_mono.reshape(-1), a, b)
        start = self._xy_key_start[keys]
        queries = self._pick_pairs(rng, self._key_units[start + a]).reshape(steps, n)
        cross = self._pick_pairs(rng, self._key_units[start + b]).reshape(steps, n)
        passages = np.where(is_mono, queries, cross)
        return is_mono, queries, passages

    def _batch(self, plan: tuple[np.ndarray, ...], step: int) -> PlannedBatch:
        is_mono, queries, passages = plan
        q, p = self._rank_rows(queries, passages, step)
        pairs = list(zip(q.tolist(), p.tolist(), strict=True))
        return PlannedBatch(BatchKind.MIXED, self._languages_of(q, p), pairs)

    def monolingual_share(self, epoch: int | None = None) -> float:
        """The realised share of monolingual items over this rank's batches of ``epoch``."""
        is_mono = self._global_plan(self.epoch if epoch is None else epoch)[0]
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        return float(is_mono[:, lo:hi].mean())

    def _fingerprint(self) -> dict[str, Any]:
        return {**super()._fingerprint(), "mixing": "per-pair"}
