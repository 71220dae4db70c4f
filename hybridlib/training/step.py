"""One optimizer step of the trainer and what it needs, in one home: ``hybridlib train`` runs
it, the benchmarks time it, and other training code may call it.

    training = build_training(config, encoder, total_steps)   # loss, optimizer, schedule
    distribute(training)                # in a torchrun process group: DDP around the encoder
    result = train_step(training, micro_batches)              # -> StepResult(loss, grad_norm)

Several processes (``torchrun``) train with torch's ``DistributedDataParallel``: it starts
every rank from rank 0's weights and averages the gradients over the ranks in buckets while
the backward pass runs. A step of ``n`` micro-batches (gradient accumulation) synchronises
once, in the backward of its last micro-batch (the others run under ``no_sync``); with
GradCache (:class:`~hybridlib.losses.CachedInfoNCELoss`) only the last replayed chunk of the
step synchronises. Since the loss scores each rank's queries against every rank's passages
(:func:`~hybridlib.losses.distributed.gather_with_grad`), the update equals one process
training on the ranks' batches concatenated (tested with 2 gloo processes).

The word-embedding table, when its gradient goes through
:class:`~hybridlib.models.RowGradients`, is written outside autograd: DDP is told to ignore
it, and its gradient is averaged over the ranks after it is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from hybridlib.losses import CachedInfoNCELoss, InfoNCELoss
from hybridlib.losses.distributed import world_size_and_rank
from hybridlib.models.row_gradients import RowGradients
from hybridlib.training.config import TrainConfig


class DataParallelRunner:
    """The loss's encoder runner in a multi-process run: forward passes through ``module``, a
    ``DistributedDataParallel`` around the encoder, whose backward synchronises the ranks'
    gradients only in the step's last micro-batch (``synchronize``, set by
    :func:`train_step`) and its last pass (``last``); the others run under ``no_sync``."""

    def __init__(self, module: torch.nn.parallel.DistributedDataParallel) -> None:
        self.module = module
        self.synchronize = True

    def __call__(self, features: dict[str, torch.Tensor], *, last: bool = True) -> torch.Tensor:
        if self.synchronize and last:
            return self.module(features)
        with self.module.no_sync():
            return self.module(features)


@dataclasses.dataclass
class Training:
    """What an optimizer step needs. ``loss_fn`` holds the encoder; ``params``: the trainable
    parameters; ``data_parallel``: the ``DistributedDataParallel`` around the encoder and the
    loss's runner through it (:func:`distribute`), None in one process."""

    loss_fn: InfoNCELoss
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    row_gradients: RowGradients | None = None
    clip_norm: float | None = None
    data_parallel: DataParallelRunner | None = None

    @property
    def encoder(self) -> Any:
        return self.loss_fn.encoder


@dataclasses.dataclass(frozen=True)
class StepResult:
    """``loss``: this rank's mean over the step's micro-batches; ``grad_norm``: the norm
    before clipping (None without ``clip_norm``)."""

    loss: float
    grad_norm: float | None


def prepare_word_embeddings(config: TrainConfig, encoder: Any) -> RowGradients | None:
    """Freeze the word embeddings (``config.freeze_word_embeddings``), or route their
    gradient through :class:`~hybridlib.models.RowGradients` (``embedding_row_gradients``)
    where the model allows it. Returns the RowGradients whose ``write()`` must follow each
    step's backward, or None."""
    if config.freeze_word_embeddings or encoder.top_layers is not None:
        encoder.word_embeddings().requires_grad_(False)
        return None
    if not config.embedding_row_gradients:
        return None
    try:
        return encoder.use_row_gradients()
    except TypeError:  # an exotic embedding or model: the plain lookup (same gradient)
        return None


def make_loss(config: TrainConfig, encoder: torch.nn.Module) -> InfoNCELoss:
    """:class:`InfoNCELoss`, or :class:`CachedInfoNCELoss` when ``grad_cache_chunk_size`` is set.

    The loss scores by cosine (unit-length embeddings), so an encoder whose settings say
    ``normalize=False`` (scored by dot product when evaluated) is refused: it would be trained
    on one similarity and evaluated on another.
    """
    settings = getattr(encoder, "settings", None)
    if settings is not None and not settings.normalize:
        raise ValueError(
            f"encoder {settings.name!r} has normalize=False: it is evaluated by dot product, but "
            "the loss scores by cosine (InfoNCE over unit-length embeddings), so it would be "
            "trained on one similarity and evaluated on another; load it with normalize=True "
            "to fine-tune it"
        )
    options: dict[str, Any] = {
        "temperature": config.temperature,
        "symmetric": config.symmetric,
        "margin": config.margin,
        "mask_false_negatives": config.mask_false_negatives,
        # every rank's passages are negatives (the same update as one process; a no-op in one)
        "gather_across_processes": True,
    }
    if config.grad_cache_chunk_size is not None:
        return CachedInfoNCELoss(encoder, mini_batch_size=config.grad_cache_chunk_size, **options)
    return InfoNCELoss(encoder, **options)


def make_optimizer(config: TrainConfig, params: list[torch.nn.Parameter]) -> torch.optim.AdamW:
    """AdamW over the trainable ``params``; the usual split: no weight decay on biases and
    LayerNorm weights (the 1-D tensors).

    The fused implementation (one kernel over all tensors) is used: on 2 CPU threads it made
    the optimizer step of the 118M-parameter embedded model about 5x faster than the default
    ``foreach`` one (benchmarks/optimisations.py), with the same update up to rounding.
    """
    return torch.optim.AdamW(
        [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ],
        lr=config.lr,
        fused=True,
    )


def make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """Linear warm-up (``warmup_steps``, else ``warmup_ratio`` of ``total_steps``), then a
    constant rate or a linear decay to 0 at ``total_steps`` (``lr_schedule``)."""
    from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

    warmup = config.warmup_steps
    if warmup is None:
        warmup = round(config.warmup_ratio * total_steps)
    if config.lr_schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, num_warmup_steps=warmup)
    return get_linear_schedule_with_warmup(
        optimizer, num_warmup_steps=warmup, num_training_steps=total_steps
    )


def build_training(config: TrainConfig, encoder: Any, total_steps: int) -> Training:
    """The loss, optimizer and schedule of ``config`` around ``encoder`` (put in train mode;
    its word embeddings frozen or given row gradients first, :func:`prepare_word_embeddings`)."""
    row_gradients = prepare_word_embeddings(config, encoder)
    encoder.train()
    loss_fn = make_loss(config, encoder)
    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = make_optimizer(config, params)
    return Training(
        loss_fn=loss_fn,
        params=params,
        optimizer=optimizer,
        scheduler=make_scheduler(config, optimizer, total_steps),
        row_gradients=row_gradients,
        clip_norm=config.clip_norm,
    )


def distribute(training: Training) -> None:
    """In a process group of several ranks: wrap the encoder in ``DistributedDataParallel``
    (which broadcasts rank 0's weights) and run the loss's forward passes through it. Call it
    after loading a checkpoint. Does nothing in one process."""
    world, _ = world_size_and_rank()
    if world == 1 or training.data_parallel is not None:
        return
    encoder = training.encoder
    ignored = [
        name for name, p in encoder.named_parameters()
        if training.row_gradients is not None and p is training.row_gradients.weight
    ]  # fmt: skip
    if ignored:  # written by RowGradients after backward, averaged in train_step
        torch.nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            encoder, ignored
        )
        dist.broadcast(training.row_gradients.weight.data, src=0)  # type: ignore[union-attr]
    device = next(encoder.parameters()).device
    # buffers (position ids) are constants: not broadcast at each forward, so rank 0 alone
    # may run the encoder (validation) without the other ranks
    training.data_parallel = DataParallelRunner(
        torch.nn.parallel.DistributedDataParallel(
            encoder, device_ids=[device] if device.type == "cuda" else None, broadcast_buffers=False
        )
    )
    training.loss_fn.encoder_runner = training.data_parallel


def train_step(training: Training, micro_batches: Sequence[Mapping[str, Any]]) -> StepResult:
    """One optimizer step over ``micro_batches`` (gradient accumulation: each micro-batch's
    loss enters as ``loss / n``): backward passes (synchronised over ranks in the last one),
    the row gradients written (and averaged over ranks), clipping, the optimizer and the
    schedule stepped."""
    if not micro_batches:
        raise ValueError("a step needs at least one micro-batch")
    training.optimizer.zero_grad(set_to_none=True)
    losses = []
    n = len(micro_batches)
    runner = training.data_parallel
    for i, batch in enumerate(micro_batches):
        if runner is not None:
            runner.synchronize = i == n - 1
        loss = training.loss_fn(batch)
        (loss / n).backward()
        losses.append(loss.item())
    if runner is not None:
        runner.synchronize = True
    if training.row_gradients is not None:
        training.row_gradients.write()
        world, _ = world_size_and_rank()
        grad = training.row_gradients.weight.grad
        if world > 1 and grad is not None:
            dist.all_reduce(grad, op=dist.ReduceOp.SUM)
            grad /= world
    grad_norm = None
    if training.clip_norm is not None:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(training.params, training.clip_norm))
    training.optimizer.step()
    training.scheduler.step()
    return StepResult(loss=float(np.mean(losses)), grad_norm=grad_norm)
