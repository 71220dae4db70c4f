"""Negatives gathered across processes, with their gradient kept.

In a multi-process run each rank embeds its own ``B`` pairs; the loss of a rank scores its
queries against the passages of every rank (``world * B`` columns). ``gather_with_grad``
gives each rank the concatenation of all ranks' tensors, with its own tensor in its slot
(rows ``rank * B .. (rank + 1) * B``) still attached to its graph.

Its backward sums the incoming gradients over the ranks (``all_reduce``) and hands each
rank the rows of its own slot. So rank ``r``'s embeddings receive the gradient of every
rank's loss, not only of its own: with the trainer's averaging of parameter gradients over
ranks the update equals the single-process gradient of the whole ``world * B`` batch
(``loss = mean over ranks of the rank losses``), with no loss rescaling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


def world_size_and_rank() -> tuple[int, int]:
    """``(world_size, rank)`` of the default process group, ``(1, 0)`` when there is none."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        world, rank = world_size_and_rank()
        ctx.rank, ctx.rows = rank, tensor.shape[0]
        tensor = tensor.contiguous()
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor)
        parts[rank] = tensor  # this rank's slot is its own tensor
        return torch.cat(parts)  # (world * rows, ...)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()  # (world * rows, ...)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows]  # (rows, ...)


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All-gather ``tensor`` ``(rows, ...)`` over the ranks: ``(world * rows, ...)``.

    Rank ``r``'s own rows sit at ``r * rows`` and keep their gradient; the backward sums the
    gradients of all ranks into each slot (see the module docstring). Every rank must pass
    the same shape. Without a process group (or with one process) returns ``tensor``.
    """
    world, _ = world_size_and_rank()
    if world == 1:
        return tensor
    return _GatherWithGrad.apply(tensor)


def gather_objects(items: list[Any]) -> list[Any]:
    """Concatenate a picklable list from every rank, in rank order (no gradient)."""
    world, _ = world_size_and_rank()
    if world == 1:
        return list(items)
    parts: list[Any] = [None] * world
    dist.all_gather_object(parts, list(items))
    return [item for part in parts for item in part]


@dataclass(frozen=True)
class RankColumns:
    """How one rank's ``B`` rows reach the columns of every rank: ``offset`` (``rank * B``;
    row ``i``'s positive is column ``offset + i``), ``gather`` (a ``(rows, ...)`` tensor to
    every rank's ``(world * rows, ...)``, gradient kept) and ``gather_keys`` (a list to every
    rank's, in rank order). In one process: offset 0, and both hand back their input."""

    offset: int
    gather: Callable[[torch.Tensor], torch.Tensor]
    gather_keys: Callable[[list[Any]], list[Any]]


LOCAL_COLUMNS = RankColumns(offset=0, gather=lambda tensor: tensor, gather_keys=list)


def rank_columns(batch: int) -> RankColumns:
    """This rank's :class:`RankColumns` for ``batch`` rows in the default process group;
    :data:`LOCAL_COLUMNS` without one (or with one process)."""
    world, rank = world_size_and_rank()
    if world == 1:
        return LOCAL_COLUMNS
    return RankColumns(offset=rank * batch, gather=gather_with_grad, gather_keys=gather_objects)
