"""Language-aware batch samplers: X-X (monolingual), X-Y (cross-lingual) and their hybrid.

The hybrid sampler of Elmahdy et al. (arXiv 2408.10536) makes a share ``alpha`` of the
batches X-X and the others X-Y: exactly ``floor(alpha * b + 0.5)`` X-X steps in every block
of ``b`` steps (``kind_schedule="exact"``, the default), or each step X-X with probability
``alpha`` (``kind_schedule="coin"``). Everything below is decided once per epoch, in
:meth:`HybridBatchSampler.plan`, from a generator seeded by ``(seed, epoch)``; iterating the
sampler hands out that plan one batch at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
from torch.utils.data import Sampler

from hybridlib.data.types import TrainingPair
from hybridlib.sampler_specs import sampler_setting
from hybridlib.samplers.parallel_pairs import ParallelPairs

__all__ = [
    "BatchKind",
    "HybridBatchSampler",
    "PlannedBatch",
    "XXBatchSampler",
    "XYBatchSampler",
]

LANGUAGE_WEIGHTINGS = ("uniform", "size")
KIND_SCHEDULES = ("exact", "coin")


class BatchKind(StrEnum):
    """The kind of one batch."""

    X_X = "x-x"  # monolingual: query and passage of every pair in the batch's one language
    X_Y = "x-y"  # cross-lingual: every query and its passage in two different languages
    MIXED = "mixed"  # both kinds of pair in one batch (PerPairMixingSampler)


@dataclass(frozen=True)
class PlannedBatch:
    """One batch of one rank.

    ``languages`` is ``(language,)`` for an X-X batch (the same on every rank) and, for an
    X-Y batch, the sorted languages of this rank's queries and passages together.
    ``pairs`` is a list of ``(query_idx, passage_idx)`` into :class:`ParallelPairs`.
    """

    kind: BatchKind
    languages: tuple[str, ...]
    pairs: list[tuple[int, int]]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, but got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, but got {value}")
    return int(value)


def _exact_kinds(rng: np.random.Generator, steps: int, alpha: float, block: int) -> np.ndarray:
    """``(steps,)`` bool: X-X steps, exactly ``floor(alpha * b + 0.5)`` in each block.

    The steps are cut into consecutive blocks of ``block`` steps (the last one shorter when
    ``block`` does not divide ``steps``); a block of ``b`` steps holds
    ``floor(alpha * b + 0.5)`` X-X steps (round half up, not Python's half-even ``round``)
    at positions that are a uniform random permutation within the block: a step is X-X when
    its ``rng.random`` draw is among the ``floor(alpha * b + 0.5)`` smallest of its block.
    The "coin" schedule uses the same draws (X-X where the draw is ``< alpha``), so for one
    seed the exact X-X steps are the coin's, plus or minus the steps whose draws lie nearest
    ``alpha``.
    """
    block_of = np.arange(steps) // block  # (steps,)
    order = np.lexsort((rng.random(steps), block_of))  # (steps,) each block shuffled in place
    sizes = np.bincount(block_of)  # (n_blocks,) block lengths, the last one possibly shorter
    n_xx = np.floor(alpha * sizes + 0.5).astype(np.int64)  # (n_blocks,)
    rank_in_block = np.arange(steps) - block_of * block  # (steps,) position in sorted order
    is_xx = np.empty(steps, dtype=bool)
    is_xx[order] = rank_in_block < n_xx[block_of]
    return is_xx


def _alpha_ramp(alpha: float, alpha_end: float, steps: int, block: int) -> np.ndarray:
    """``(steps,)`` the share of X-X at each step: linear from ``alpha`` at a block's first
    step to ``alpha_end`` at its last (a block of one step: ``alpha``)."""
    block_of = np.arange(steps) // block
    position = np.arange(steps) - block_of * block  # (steps,)
    sizes = np.bincount(block_of)[block_of]  # (steps,) length of each step's block
    fraction = np.where(sizes > 1, position / np.maximum(sizes - 1, 1), 0.0)
    return alpha + (alpha_end - alpha) * fraction


def _scheduled_exact_kinds(ramp: np.ndarray, block: int) -> np.ndarray:
    """``(steps,)`` bool: X-X where the rounded running sum of ``ramp`` steps up.

    Within a block, step ``s`` is X-X iff ``floor(C_s + 0.5) > floor(C_{s-1} + 0.5)`` with
    ``C_s = ramp_0 + ... + ramp_s`` (``C_{-1} = 0``): the block holds exactly
    ``floor(C_last + 0.5)`` X-X steps, placed where the schedule asks for them (e.g. a ramp
    1 -> 0 over 4 steps, ``ramp = (1, 2/3, 1/3, 0)``: X-X, X-X, X-Y, X-Y).
    """
    steps = ramp.size
    block_of = np.arange(steps) // block
    out = np.empty(steps, dtype=bool)
    for b in range(int(block_of[-1]) + 1 if steps else 0):
        part = ramp[block_of == b]
        rounded = np.floor(np.cumsum(part) + 0.5)
        out[block_of == b] = np.diff(np.concatenate([[0.0], rounded])) > 0
    return out


def _without_replacement(
    rng: np.random.Generator, n_items: int, n_batches: int, batch: int
) -> np.ndarray:
    """``n_batches * batch`` draws from ``range(n_items)``, without replacement in cycles.

    The stream is a concatenation of random permutations of ``range(n_items)`` (the last one
    cut short), so every ``n_items`` consecutive draws from the start hold each item once.
    Where a permutation ends inside a batch, the items already in that batch are moved to
    the end of the next permutation, so no batch holds an item twice (needs
    ``batch <= n_items``). Returns ``(n_batches * batch,)`` int64.
    """
    if not 1 <= batch <= n_items:
        raise ValueError(f"cannot draw batches of {batch} distinct items from {n_items}")
    length = n_batches * batch
    out = np.empty(length, dtype=np.int64)
    pos = 0
    while pos < length:
        perm = rng.permutation(n_items)
        batch_start = (pos // batch) * batch
        if batch_start < pos:  # this permutation starts inside a batch
            in_batch = np.isin(perm, out[batch_start:pos])
            perm = np.concatenate([perm[~in_batch], perm[in_batch]])
        take = min(n_items, length - pos)
        out[pos : pos + take] = perm[:take]
        pos += take
    return out


class HybridBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of which a share ``alpha`` is X-X and the others X-Y.

    **Kinds.** ``kind_schedule`` decides which steps are X-X:

    - ``"exact"`` (default): the epoch's steps are cut into consecutive blocks of
      ``kind_block`` steps (``None``: one block, the whole epoch; the last block is shorter
      when ``kind_block`` does not divide the epoch). A block of ``b`` steps holds exactly
      ``floor(alpha * b + 0.5)`` X-X steps (``round(alpha * b)`` with halves rounded up),
      in an order drawn uniformly at random within the block. E.g. ``alpha=0.5`` over an
      epoch of 20 steps: exactly 10 X-X steps; ``kind_block=3``: 2 in every block of 3
      (1.5 rounds up). A trainer that runs ``S`` steps, fewer than an epoch, passes
      ``kind_block=S`` to get exactly ``round(alpha * S)`` X-X steps in its run.
    - ``"coin"``: each step is X-X with probability ``alpha``, independently, so the
      realised share varies from seed to seed (binomial: over 20 steps at ``alpha=0.5``,
      from 8 to 12 X-X steps with probability 0.74). ``kind_block`` must be ``None``.

    **Scheduled alpha.** With ``alpha_end`` the share moves linearly over each block (the
    whole epoch for ``"coin"``) from ``alpha`` at its first step to ``alpha_end`` at its
    last: ``alpha=1, alpha_end=0`` is X-X first, then X-Y; the reverse is X-Y first. Under
    ``"exact"`` the X-X steps are where the rounded running sum of the ramp steps up
    (:func:`_scheduled_exact_kinds`; ``round(b * (alpha + alpha_end) / 2)`` in a block of
    ``b`` steps), under ``"coin"`` step ``s`` is X-X with probability ``alpha_s``.

    ``alpha=1`` and ``alpha=0`` give only X-X or only X-Y batches under both schedules.
    The batches of each kind:

    - X-X: one language ``l`` for the whole step, drawn with probability ``p_l``:
      uniform ``1 / L`` (``language_weighting="uniform"``, the paper) or
      ``p_l ∝ n_l ** (1 / size_temperature)`` (``"size"``; ``n_l`` = training pairs in
      ``l``; temperature 1 is proportional to size, large temperatures approach uniform).
      Every item is ``(i, i)`` for a pair ``i`` in ``l``.
    - X-Y: every item is ``(i, j)``, where ``i`` and ``j`` are pairs of one parallel key
      in two different languages ``(a, b)``, drawn uniformly over the ordered pairs of
      distinct languages in which that key exists (the paper leaves the pairing open).
      Keys that exist in one language only are used by X-X batches alone.

    A parallel key never occurs twice in one step, across all ranks together: its
    translations would be false negatives of each other. Where several pairs share a
    language and a key (several positives of one question), one of them is drawn uniformly.

    **Ranks.** ``batch_size`` is per rank; one step draws a global batch of
    ``batch_size * num_replicas`` distinct keys and rank ``r`` takes the ``r``-th slice of
    ``batch_size``. Every rank plans the same global step from the same generator, so all
    ranks draw the same kind (and, for X-X, the same language) at each step, and their
    pairs are disjoint.

    **Epoch.** An epoch has ``n_pairs // (batch_size * num_replicas)`` steps
    (``ceil`` with ``drop_last=False``; every batch is full either way), ``n_pairs`` being
    the training pairs of the selected languages: one epoch uses as many query-passage items
    as there are training pairs, whatever ``alpha``, so strategies compare at equal compute.
    Keys are drawn without replacement: each language's X-X draws, and the X-Y draws, are
    each a stream of random permutations of their keys (see :func:`_without_replacement`).
    Coverage: within one epoch, every ``n`` consecutive draws of a stream over ``n`` keys
    hold each of its keys exactly once.

    **Reproducibility.** The plan of epoch ``e`` depends only on ``(seed, e)`` and the
    arguments: ``np.random.default_rng([seed, e])`` (``"coin"`` plans are those of the
    versions before ``kind_schedule`` existed). Iterating walks through the plan
    of ``self.epoch`` from ``self.position``; a finished pass moves on to the next epoch.
    ``set_epoch(e)`` with a new ``e`` starts it at its first batch; with the current epoch
    it keeps the position, so a trainer that calls ``load_state_dict`` and then
    ``set_epoch`` resumes where it stopped. ``state_dict()`` counts batches handed out and
    ``last_batch`` is the batch handed out last; a multi-worker ``DataLoader`` prefetches,
    so the sampler runs ahead of the trainer: there, save
    ``{"epoch": e, "position": steps_done}`` from the trainer's own counter and read
    ``plan(e)[step]`` (or the languages in the collated batch).

    Usage::

        pairs = ParallelPairs(training_pairs)
        sampler = HybridBatchSampler(pairs, batch_size=32, alpha=0.5, seed=0)
        loader = DataLoader(pairs, batch_sampler=sampler, collate_fn=ParallelPairs.collate)
        for epoch in range(n_epochs):
            sampler.set_epoch(epoch)
            for step, batch in enumerate(loader):
                info = sampler.last_batch  # PlannedBatch: kind and languages
    """

    sampler_name: ClassVar[str] = "hybrid"  # its spec in :mod:`hybridlib.sampler_specs`

    def __init__(
        self,
        pairs: ParallelPairs | Sequence[TrainingPair],
        batch_size: int,
        alpha: float = 0.5,
        seed: int = 0,
        drop_last: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
        language_weighting: str = "uniform",
        size_temperature: float = 1.0,
        languages: Sequence[str] | None = None,
        kind_schedule: str = "exact",
        kind_block: int | None = None,
        alpha_end: float | None = None,
    ) -> None:
        super().__init__()
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(
                f"rank must be < num_replicas = {self.num_replicas}, but got rank={self.rank}"
            )
        self.seed = _check_int("seed", seed, 0)
        setting = sampler_setting(self.sampler_name, alpha, alpha_end)
        self.alpha = setting.alpha
        self.alpha_end: float | None = setting.alpha_end
        self.drop_last = bool(drop_last)
        if language_weighting not in LANGUAGE_WEIGHTINGS:
            raise ValueError(
                f"language_weighting must be one of {LANGUAGE_WEIGHTINGS}, "
                f"but got {language_weighting!r}"
            )
        self.language_weighting = language_weighting
        if not (math.isfinite(size_temperature) and size_temperature > 0):
            raise ValueError(f"size_temperature must be > 0, but got {size_temperature}")
        self.size_temperature = float(size_temperature)
        if kind_schedule not in KIND_SCHEDULES:
            raise ValueError(
                f"kind_schedule must be one of {KIND_SCHEDULES}, but got {kind_schedule!r}"
            )
        self.kind_schedule = kind_schedule
        if kind_block is not None:
            kind_block = _check_int("kind_block", kind_block, 1)
            if kind_schedule != "exact":
                raise ValueError(
                    f"kind_block applies to kind_schedule='exact' only, but got "
                    f"kind_block={kind_block} with kind_schedule={kind_schedule!r}"
                )
        self.kind_block: int | None = kind_block
        self.pairs = pairs if isinstance(pairs, ParallelPairs) else ParallelPairs(pairs)

        if languages is None:
            selected = list(self.pairs.languages)
        else:
            if isinstance(languages, str):
                raise TypeError(f"languages must be a list of codes, but got {languages!r}")
            selected = sorted(set(languages))
            unknown = [lang for lang in selected if lang not in self.pairs.languages]
            if unknown or not selected:
                raise ValueError(
                    f"languages must be a non-empty subset of the training languages "
                    f"{list(self.pairs.languages)}, but got {list(languages)!r}"
                )
        self.languages: tuple[str, ...] = tuple(selected)
        self._index_units()

        n = self.global_batch_size
        self.steps_per_epoch = self.n_pairs // n if self.drop_last else -(-self.n_pairs // n)
        self._check_capacity()
        sizes = np.bincount(
            self._unit_language, weights=self._unit_count, minlength=self.n_languages
        )
        if self.language_weighting == "uniform":
            probs = np.full(self.n_languages, 1.0 / self.n_languages)
        else:
            probs = sizes ** (1.0 / self.size_temperature)
            probs = probs / probs.sum()
        self.language_probabilities: dict[str, float] = dict(
            zip(self.languages, probs.tolist(), strict=True)
        )
        self._probs = probs

        self.epoch = 0
        self.position = 0
        self.last_batch: PlannedBatch | None = None
        self._cache: tuple[int, tuple[np.ndarray, ...]] | None = None

    # ----------------------------------------------------------------------------- set-up
    @property
    def global_batch_size(self) -> int:
        """Items per step over all ranks: ``batch_size * num_replicas``."""
        return self.batch_size * self.num_replicas

    @property
    def n_languages(self) -> int:
        return len(self.languages)

    def _index_units(self) -> None:
        """Group the selected pairs into units ``(language, key)``, by language and by key.

        Units are sorted by (language, key); unit ``u`` owns the pair indices
        ``self._unit_pairs[self._unit_start[u] : self._unit_start[u] + self._unit_count[u]]``.
        """
        code_of = {lang: i for i, lang in enumerate(self.pairs.languages)}
        remap = np.full(len(self.pairs.languages), -1, dtype=np.int64)
        remap[[code_of[lang] for lang in self.languages]] = np.arange(self.n_languages)
        lang = remap[self.pairs.language_codes]  # (n_all_pairs,), -1 where not selected
        idx = np.flatnonzero(lang >= 0)
        lang, key = lang[idx], self.pairs.key_codes[idx]
        order = np.lexsort((idx, key, lang))
        idx, lang, key = idx[order], lang[order], key[order]
        self.n_pairs = int(idx.size)
        new_unit = np.ones(idx.size, dtype=bool)
        new_unit[1:] = (lang[1:] != lang[:-1]) | (key[1:] != key[:-1])
        start = np.flatnonzero(new_unit)
        self._unit_pairs = idx  # (n_pairs,)
        self._unit_start = start  # (n_units,)
        self._unit_count = np.diff(np.append(start, idx.size))  # (n_units,)
        self._unit_language = lang[start]  # (n_units,)
        self._unit_key = key[start]  # (n_units,)
        # X-X: the units of language l are a contiguous range (sorted by language first).
        self._language_unit_start = np.searchsorted(
            self._unit_language, np.arange(self.n_languages)
        )
        self._language_n_keys = np.bincount(self._unit_language, minlength=self.n_languages)
        # X-Y: units sorted by key; a key's units are its languages.
        by_key = np.lexsort((self._unit_language, self._unit_key))
        self._key_units = by_key  # (n_units,) unit ids grouped by key
        sorted_keys = self._unit_key[by_key]
        keys, key_start, key_n_languages = np.unique(
            sorted_keys, return_index=True, return_counts=True
        )
        eligible = key_n_languages >= 2
        self._xy_key_start = key_start[eligible]  # (n_xy_keys,) into self._key_units
        self._xy_key_n_languages = key_n_languages[eligible]  # (n_xy_keys,)
        n_languages_of_key = np.zeros(len(self.pairs.parallel_keys), dtype=np.int64)
        n_languages_of_key[keys] = key_n_languages
        self._language_n_xy_keys = np.bincount(
            self._unit_language[n_languages_of_key[self._unit_key] >= 2],
            minlength=self.n_languages,
        )

    def _check_capacity(self) -> None:
        n = self.global_batch_size
        what = "batch_size" if self.num_replicas == 1 else "batch_size * num_replicas"
        highest = self.alpha if self.alpha_end is None else max(self.alpha, self.alpha_end)
        lowest = self.alpha if self.alpha_end is None else min(self.alpha, self.alpha_end)
        if highest > 0:
            for lang, n_keys in zip(self.languages, self._language_n_keys.tolist(), strict=True):
                if n_keys < n:
                    raise ValueError(
                        f"language {lang!r} has {n_keys} parallel keys, fewer than "
                        f"{what} = {n} that an X-X batch needs (alpha = {highest} > 0)"
                    )
        if lowest < 1:
            for lang, n_keys, n_xy_keys in zip(
                self.languages,
                self._language_n_keys.tolist(),
                self._language_n_xy_keys.tolist(),
                strict=True,
            ):
                if n_xy_keys == 0:
                    raise ValueError(
                        f"language {lang!r} has no parallel partner for X-Y batches: none of "
                        f"its {n_keys} parallel keys occurs in another of the languages "
                        f"{list(self.languages)} (alpha = {lowest} < 1)"
                    )
            n_xy = self._xy_key_start.size
            if n_xy < n:
                raise ValueError(
                    f"{n_xy} parallel keys occur in two or more languages, fewer than "
                    f"{what} = {n} that an X-Y batch needs (alpha = {lowest} < 1)"
                )

    # ---------------------------------------------------------------------------- planning
    def _pick_pairs(self, rng: np.random.Generator, units: np.ndarray) -> np.ndarray:
        """One pair index per unit, uniform among the unit's pairs. Shape of ``units``."""
        offset = rng.integers(0, self._unit_count[units])
        return self._unit_pairs[self._unit_start[units] + offset]

    def _global_plan(self, epoch: int) -> tuple[np.ndarray, ...]:
        """The plan of all ranks for ``epoch`` (:meth:`_make_plan`), cached for the last
        epoch asked."""
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        _check_int("epoch", epoch, 0)
        plan = self._make_plan(np.random.default_rng([self.seed, epoch]))
        self._cache = (epoch, plan)
        return plan

    def _kinds(self, rng: np.random.Generator, steps: int) -> np.ndarray:
        """``(steps,)`` bool: which steps of the epoch are X-X (see "Kinds" above), from the
        first draws of the epoch's generator. A sampler with another rule of kinds overrides
        this alone; the rest of the plan (languages, keys, pairs) follows from it."""
        block = max(steps if self.kind_block is None else self.kind_block, 1)
        if self.alpha_end is not None:
            ramp = _alpha_ramp(self.alpha, self.alpha_end, steps, block)  # (steps,)
            draws = rng.random(steps)
            if self.kind_schedule == "coin":
                return draws < ramp
            return _scheduled_exact_kinds(ramp, block)
        if self.kind_schedule == "coin":
            return rng.random(steps) < self.alpha
        return _exact_kinds(rng, steps, self.alpha, block)

    def _make_plan(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The plan of one epoch from its generator: ``is_xx`` ``(steps,)`` bool,
        ``language`` ``(steps,)`` int (-1 for X-Y), ``queries`` and ``passages``
        ``(steps, batch_size * num_replicas)`` pair indices."""
        steps, n = self.steps_per_epoch, self.global_batch_size
        is_xx = self._kinds(rng, steps)  # (steps,)
        xx_steps, xy_steps = np.flatnonzero(is_xx), np.flatnonzero(~is_xx)
        language = np.full(steps, -1, dtype=np.int64)
        language[xx_steps] = rng.choice(self.n_languages, size=xx_steps.size, p=self._probs)
        queries = np.empty((steps, n), dtype=np.int64)
        passages = np.empty((steps, n), dtype=np.int64)

        for lang in range(self.n_languages):
            lang_steps = xx_steps[language[xx_steps] == lang]
            if lang_steps.size == 0:
                continue
            draws = _without_replacement(rng, int(self._language_n_keys[lang]), lang_steps.size, n)
            units = self._language_unit_start[lang] + draws  # (lang_steps * n,)
            chosen = self._pick_pairs(rng, units).reshape(lang_steps.size, n)
            queries[lang_steps] = chosen
            passages[lang_steps] = chosen

        if xy_steps.size:
            keys = _without_replacement(rng, self._xy_key_start.size, xy_steps.size, n)
            n_langs = self._xy_key_n_languages[keys]  # (xy_steps * n,)
            a = rng.integers(0, n_langs)  # query language, position among the key's languages
            b = rng.integers(0, n_langs - 1)
            b = b + (b >= a)  # passage language: uniform over the others
            start = self._xy_key_start[keys]
            q_units = self._key_units[start + a]
            p_units = self._key_units[start + b]
            queries[xy_steps] = self._pick_pairs(rng, q_units).reshape(xy_steps.size, n)
            passages[xy_steps] = self._pick_pairs(rng, p_units).reshape(xy_steps.size, n)

        return is_xx, language, queries, passages

    def _batch(self, plan: tuple[np.ndarray, ...], step: int) -> PlannedBatch:
        is_xx, language, queries, passages = plan
        q, p = self._rank_rows(queries, passages, step)
        languages: tuple[str, ...]
        if is_xx[step]:
            kind, languages = BatchKind.X_X, (self.languages[language[step]],)
        else:
            kind, languages = BatchKind.X_Y, self._languages_of(q, p)
        return PlannedBatch(kind, languages, list(zip(q.tolist(), p.tolist(), strict=True)))

    def _rank_rows(
        self, queries: np.ndarray, passages: np.ndarray, step: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """This rank's slice ``(batch_size,)`` of a global step's query and passage indices."""
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        return queries[step, lo:hi], passages[step, lo:hi]

    def _languages_of(self, queries: np.ndarray, passages: np.ndarray) -> tuple[str, ...]:
        """The sorted languages of the given pairs' queries and passages together."""
        codes = np.unique(
            np.concatenate(
                [self.pairs.language_codes[queries], self.pairs.language_codes[passages]]
            )
        )
        return tuple(self.pairs.languages[c] for c in codes)

    def plan(self, epoch: int | None = None) -> list[PlannedBatch]:
        """This rank's batches of ``epoch`` (default: the current one), from the first."""
        plan = self._global_plan(self.epoch if epoch is None else epoch)
        return [self._batch(plan, step) for step in range(self.steps_per_epoch)]

    # --------------------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch = self.epoch
        plan = self._global_plan(epoch)
        for step in range(self.position, self.steps_per_epoch):
            batch = self._batch(plan, step)
            self.position = step + 1
            self.last_batch = batch
            yield batch.pairs
        self.epoch, self.position = epoch + 1, 0

    def __len__(self) -> int:
        """Batches left in the current epoch: what the next iteration yields."""
        return self.steps_per_epoch - self.position

    def set_epoch(self, epoch: int) -> None:
        """Plan ``epoch`` next; a new epoch starts at its first batch (see class docstring)."""
        epoch = _check_int("epoch", epoch, 0)
        if epoch != self.epoch:
            self.epoch, self.position = epoch, 0

    # ------------------------------------------------------------------------------- state
    def _fingerprint(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "alpha": self.alpha,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "steps_per_epoch": self.steps_per_epoch,
            "languages": list(self.languages),
            "language_weighting": self.language_weighting,
            "size_temperature": self.size_temperature,
            "kind_schedule": self.kind_schedule,
            "kind_block": self.kind_block,
            "mixing": "whole-batch",  # PerPairMixingSampler: "per-pair"
            "alpha_end": self.alpha_end,
        }

    def state_dict(self) -> dict[str, Any]:
        """``{"epoch", "position"}`` (batches handed out in the epoch) and the settings."""
        return {"epoch": self.epoch, "position": self.position, **self._fingerprint()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at ``state["epoch"]``, batch ``state["position"]``.

        Settings saved in ``state`` must match this sampler's (a position means nothing
        under another batch size or seed); a state holding only epoch and position is
        accepted. A state with settings but without ``kind_schedule`` was saved before that
        argument existed, when every schedule was ``"coin"``: it is read as
        ``kind_schedule="coin"``, ``kind_block=None``.
        """
        if "seed" in state and "kind_schedule" not in state:
            state = {"kind_schedule": "coin", "kind_block": None, **state}
        for name, value in self._fingerprint().items():
            if name in state and state[name] != value:
                raise ValueError(
                    f"sampler state was saved with {name}={state[name]!r}, "
                    f"but this sampler has {name}={value!r}"
                )
        epoch = _check_int("state['epoch']", state["epoch"], 0)
        position = _check_int("state['position']", state["position"], 0)
        if position > self.steps_per_epoch:
            raise ValueError(
                f"state['position'] must be <= steps_per_epoch = {self.steps_per_epoch}, "
                f"but got {position}"
            )
        self.epoch, self.position = epoch, position

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(batch_size={self.batch_size}, alpha={self.alpha}, "
            f"seed={self.seed}, num_replicas={self.num_replicas}, rank={self.rank}, "
            f"languages={list(self.languages)}, kind_schedule={self.kind_schedule!r}, "
            f"kind_block={self.kind_block}, alpha_end={self.alpha_end}, "
            f"steps_per_epoch={self.steps_per_epoch})"
        )


class _PureBatchSampler(HybridBatchSampler):
    """``HybridBatchSampler`` at the alpha its spec fixes (``SamplerSpec.fixed_alpha``)."""

    def __init__(
        self, pairs: ParallelPairs | Sequence[TrainingPair], batch_size: int, **kwargs: Any
    ) -> None:
        alpha = sampler_setting(self.sampler_name).alpha  # the one its spec fixes
        if "alpha" in kwargs or kwargs.get("alpha_end") is not None:
            raise TypeError(
                f"{type(self).__name__} has alpha = {alpha:g}; use HybridBatchSampler for another alpha"
            )
        super().__init__(pairs, batch_size, alpha=alpha, **kwargs)


class XXBatchSampler(_PureBatchSampler):
    """Only X-X (monolingual, "language-specific") batches: ``HybridBatchSampler`` at alpha 1."""

    sampler_name = "x-x"


class XYBatchSampler(_PureBatchSampler):
    """Only X-Y (cross-lingual, "language-agnostic") batches: ``HybridBatchSampler`` at alpha 0."""

    sampler_name = "x-y"
