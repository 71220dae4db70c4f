"""Batch sampling strategies by name (for YAML configs), class or callable."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any, Protocol

from hybridlib.data.types import TrainingPair
from hybridlib.sampler_specs import sampler_setting, sampler_spec
from hybridlib.samplers.parallel_pairs import ParallelPairs

__all__ = ["BatchSamplingStrategy", "make_batch_sampler"]


class BatchSamplingStrategy(StrEnum):
    """The built-in samplers' names (their specs are in :mod:`hybridlib.sampler_specs`, with
    any sampler registered there)."""

    X_X = "x-x"  # every batch monolingual (alpha = 1)
    X_Y = "x-y"  # every batch cross-lingual (alpha = 0)
    HYBRID = "hybrid"  # a share alpha of X-X batches, X-Y otherwise
    PER_PAIR = "per-pair"  # a share alpha of monolingual pairs inside every batch


class PlanningSampler(Protocol):
    """What the trainer needs of a batch sampler (every sampler of this library has it): it
    yields batches of ``(query index, passage index)`` items, ``last_batch`` is the
    :class:`~hybridlib.samplers.PlannedBatch` just yielded, and its position is resumable."""

    epoch: int
    steps_per_epoch: int
    last_batch: Any

    def __iter__(self) -> Iterator[list[tuple[int, int]]]: ...

    def __len__(self) -> int: ...

    def set_epoch(self, epoch: int) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def parse_strategy(name: str) -> BatchSamplingStrategy:
    """``"x-x"``, ``"X_Y"``, ``"hybrid"``, ``"language-specific"``... to the built-in
    strategy (a sampler registered later has a spec, :func:`hybridlib.sampler_specs.sampler_spec`,
    and no member here)."""
    return BatchSamplingStrategy(sampler_spec(name).name)


def make_batch_sampler(
    name_or_class: str | Callable[..., PlanningSampler],  # a class is a callable too
    pairs: ParallelPairs | Sequence[TrainingPair],
    *,
    kind_schedule: str = "exact",
    kind_block: int | None = None,
    **kwargs: Any,
) -> PlanningSampler:
    """A batch sampler over ``pairs``.

    ``name_or_class`` is a sampler's name (a registered :class:`~hybridlib.sampler_specs.SamplerSpec`
    or one of its aliases, ``"language-specific"`` = ``"x-x"``, ``"language-agnostic"`` =
    ``"x-y"``), or a class or callable called as ``name_or_class(pairs, **kwargs)``. ``kwargs``
    go to the spec's factory (:class:`HybridBatchSampler`: ``batch_size``, ``alpha``,
    ``seed``...); ``alpha`` and ``alpha_end`` are checked by
    :func:`~hybridlib.sampler_specs.sampler_setting` first: ``"x-x"`` and ``"x-y"`` fix alpha
    at 1 and 0, and accept ``alpha`` only with that value, so one config can carry ``alpha``
    for every strategy without contradicting itself.

    ``kind_schedule`` (``"exact"`` or ``"coin"``) and ``kind_block`` decide which steps are
    X-X (see :class:`HybridBatchSampler`, "Kinds"); a strategy name always passes them on,
    a class or callable gets them only when they differ from these defaults, so one that
    does not know them keeps working.
    """
    schedule: dict[str, Any] = {"kind_schedule": kind_schedule, "kind_block": kind_block}
    if isinstance(name_or_class, str):
        setting = sampler_setting(
            name_or_class, kwargs.pop("alpha", None), kwargs.pop("alpha_end", None)
        )
        if setting.spec.fixed_alpha is None:
            kwargs["alpha"] = setting.alpha
        if setting.alpha_end is not None:
            kwargs["alpha_end"] = setting.alpha_end
        sampler: PlanningSampler = setting.spec.build(pairs, **schedule, **kwargs)
        return sampler
    if callable(name_or_class):
        if (kind_schedule, kind_block) != ("exact", None):
            kwargs = {**schedule, **kwargs}
        return name_or_class(pairs, **kwargs)
    raise TypeError(
        f"name_or_class must be a strategy name, a class or a callable, but got {name_or_class!r}"
    )
