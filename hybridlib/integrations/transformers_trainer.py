"""The Hugging Face ``Trainer`` on planned batches, with :class:`hybridlib.losses.InfoNCELoss`.

``PlannedBatchTrainer`` is ``transformers.Trainer`` with two methods replaced: the training
data loader iterates a sampler of :mod:`hybridlib.samplers` over its
:class:`~hybridlib.samplers.ParallelPairs` (collated by ``ParallelPairs.collate``), and the
loss is the model's output, the model being an :class:`~hybridlib.losses.InfoNCELoss` around
an encoder. Everything else (optimizer, schedule, accumulation, checkpoints, logging, mixed
precision, DDP through ``accelerate``) is the Trainer's::

    sampler = HybridBatchSampler(pairs, batch_size=32, alpha=0.5, seed=0)
    trainer = PlannedBatchTrainer(
        model=InfoNCELoss(load_encoder(name), temperature=0.05),
        args=TrainingArguments(output_dir="out", max_steps=80, learning_rate=1e-4,
                               remove_unused_columns=False),
        batch_sampler=sampler)
    trainer.train()

Under several processes the sampler must be built with ``num_replicas`` = the world size and
``rank`` = this process's rank (the sampler slices one global plan per rank; the loader is
not sharded again), and the loss built with ``gather_across_processes=True`` to score every
rank's passages as negatives, as :func:`hybridlib.training.train` does (the default scores
each rank's own batch). ``per_device_train_batch_size`` is ignored: the batch is the sampler's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader
from transformers import Trainer

from hybridlib.samplers.hybrid import HybridBatchSampler
from hybridlib.samplers.parallel_pairs import ParallelPairs


class PlannedLoader(DataLoader):
    """A ``DataLoader`` over a planned batch sampler; the Trainer's ``set_epoch`` reaches it."""

    def set_epoch(self, epoch: int) -> None:
        self.batch_sampler.set_epoch(epoch)  # type: ignore[union-attr]


class PlannedBatchTrainer(Trainer):
    """``transformers.Trainer`` whose training batches are ``batch_sampler``'s plan and whose
    loss is ``model(batch)`` (an :class:`~hybridlib.losses.InfoNCELoss`)."""

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        *,
        batch_sampler: HybridBatchSampler,
        **kwargs: Any,
    ) -> None:
        if "train_dataset" in kwargs:
            raise ValueError(
                "PlannedBatchTrainer trains on batch_sampler.pairs; do not pass train_dataset"
            )
        kwargs.setdefault("data_collator", ParallelPairs.collate)
        super().__init__(model, args, train_dataset=batch_sampler.pairs, **kwargs)
        self.batch_sampler = batch_sampler

    def _check_ranks(self) -> None:
        world, rank = self.args.world_size, self.args.process_index
        sampler = self.batch_sampler
        if (sampler.num_replicas, sampler.rank) != (world, rank):
            raise ValueError(
                f"the batch sampler plans for num_replicas={sampler.num_replicas}, "
                f"rank={sampler.rank}, but this process is rank {rank} of {world}: build it "
                f"with num_replicas={world}, rank={rank}"
            )

    def get_train_dataloader(self) -> DataLoader:
        self._check_ranks()
        return PlannedLoader(
            self.train_dataset,  # type: ignore[arg-type]
            batch_sampler=self.batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
        )

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """``model(inputs)``: the InfoNCE loss of the batch (mean over its queries)."""
        loss = model(inputs)
        return (loss, None) if return_outputs else loss
