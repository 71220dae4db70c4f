"""Language-aware batch sampling over a parallel training set::

    pairs = ParallelPairs(training_pairs)
    sampler = make_batch_sampler("hybrid", pairs, batch_size=32, alpha=0.5, seed=0)
    loader = DataLoader(pairs, batch_sampler=sampler, collate_fn=ParallelPairs.collate)

See :class:`HybridBatchSampler` for what a batch, a step and an epoch are.
"""

from hybridlib.samplers.hybrid import (
    BatchKind,
    HybridBatchSampler,
    PlannedBatch,
    XXBatchSampler,
    XYBatchSampler,
)
from hybridlib.samplers.parallel_pairs import ParallelPairs, passage_content_key
from hybridlib.samplers.per_pair import PerPairMixingSampler
from hybridlib.samplers.strategies import (
    BatchSamplingStrategy,
    make_batch_sampler,
    parse_strategy,
)

__all__ = [
    "BatchKind",
    "BatchSamplingStrategy",
    "HybridBatchSampler",
    "ParallelPairs",
    "PerPairMixingSampler",
    "PlannedBatch",
    "XXBatchSampler",
    "XYBatchSampler",
    "make_batch_sampler",
    "parse_strategy",
    "passage_content_key",
]
