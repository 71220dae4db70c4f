"""The samplers, one spec each: what a sampler is called, which options it takes, how its
systems are named, and the batch sampler that builds its batches.

Every reader asks this registry, never a list of its own: the training config
(:class:`~hybridlib.training.TrainConfig`), the profiles (:mod:`hybridlib.runner.profiles`),
the names of systems (:mod:`hybridlib.systems`), reporting and the trainer (through
:func:`~hybridlib.samplers.make_batch_sampler`). A sampler is added by one
:func:`register_sampler` call::

    register_sampler(SamplerSpec(name="spaced", table_name="Spaced",
                                 factory="mypackage.samplers:SpacedBatchSampler"))

:func:`sampler_setting` is the one place where ``(sampler, alpha, alpha_end)`` is
canonicalised and validated; :meth:`SamplerSetting.system` folds a setting into the system it
is (Hybrid(1) is X-X, Hybrid(0) is X-Y, a schedule from alpha to the same alpha is plain
Hybrid), :attr:`SamplerSetting.label` names it in paths (``hybrid-a0.50``,
``hybrid-a1.00-0.00``) and :attr:`SamplerSetting.name` in tables (``Hybrid(0.50)``,
``Schedule(1.00→0.00)``). Free of torch: the factory is a dotted path imported on use.
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hybridlib.io import did_you_mean

__all__ = [
    "DEFAULT_ALPHA",
    "SAMPLER_SPECS",
    "SamplerSetting",
    "SamplerSettingError",
    "SamplerSpec",
    "register_sampler",
    "sampler_setting",
    "sampler_spec",
    "sampler_specs",
    "system_of",
]

DEFAULT_ALPHA = 0.5  # the paper's best share of X-X batches, when a config gives none


@dataclass(frozen=True)
class SamplerSpec:
    """One sampler.

    ``name``: its name in configs, profiles and run records (``"hybrid"``); ``aliases``:
    other names a config may use. ``table_name``: its name in tables, ``"X-X"`` for a sampler
    with a fixed alpha, else followed by the alpha, ``Hybrid(0.50)``; in paths the name is
    ``x-x`` or ``hybrid-a0.50``. ``fixed_alpha``: the alpha the sampler means (X-X: 1, X-Y:
    0), None when a config chooses it. ``fixed_of``: the sampler this one is at
    ``fixed_alpha`` (X-X is ``"hybrid"`` at 1), so one run serves both. ``alpha_end``: it
    takes a scheduled alpha (``alpha`` to ``alpha_end`` over the run), named
    ``f"{schedule_name}(1.00→0.00)"`` in tables. ``per_pair``: it mixes the kinds inside each
    batch (``kind_block`` does not apply). ``main``: one of the paper's systems, trained in
    every direction of the experiment (``experiment.samplers``); the others are trained in
    ``experiment.mixing``. ``factory``: ``"module:attribute"`` (or the callable itself) called
    as ``factory(pairs, batch_size=..., alpha=..., seed=..., ...)`` (no ``alpha`` when it is
    fixed); it returns a batch sampler (:class:`~hybridlib.samplers.strategies.PlanningSampler`).
    """

    name: str
    table_name: str
    factory: str | Callable[..., Any]
    fixed_alpha: float | None = None
    fixed_of: str | None = None
    alpha_end: bool = False
    per_pair: bool = False
    main: bool = False
    aliases: tuple[str, ...] = ()
    schedule_name: str = "Schedule"
    description: str = ""

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """The batch sampler: ``factory(*args, **kwargs)``, the factory imported on first use."""
        factory = self.factory
        if isinstance(factory, str):
            module, _, attribute = factory.partition(":")
            factory = getattr(importlib.import_module(module), attribute)
        return factory(*args, **kwargs)


SAMPLER_SPECS: dict[str, SamplerSpec] = {}


def register_sampler(spec: SamplerSpec, *, replace: bool = False) -> SamplerSpec:
    """Add ``spec`` to the registry (a name or alias already taken is an error unless
    ``replace``); returns it."""
    for name in (spec.name, *spec.aliases):
        if _key(name) != name:
            raise ValueError(f"a sampler's names are lower case with '-', but got {name!r}")
    if spec.fixed_of is not None and spec.fixed_alpha is None:
        raise ValueError(f"sampler {spec.name!r}: fixed_of needs fixed_alpha")
    taken = {n for s in SAMPLER_SPECS.values() if s.name != spec.name or not replace
             for n in (s.name, *s.aliases)}  # fmt: skip
    clash = sorted(taken & {spec.name, *spec.aliases})
    if clash:
        raise ValueError(f"sampler name(s) {clash} are taken; pass replace=True to replace")
    SAMPLER_SPECS[spec.name] = spec
    return spec


def sampler_specs() -> list[SamplerSpec]:
    """Every registered sampler, in the order of registration."""
    return list(SAMPLER_SPECS.values())


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


class SamplerSettingError(ValueError):
    """A sampler, alpha or alpha_end that cannot be used; ``field`` is ``"sampler"``,
    ``"alpha"`` or ``"alpha_end"`` and ``value`` the value given; the message names both."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.field, self.value = field, value


def sampler_spec(name: str) -> SamplerSpec:
    """The spec of ``name`` (``"x-x"``, ``"X_Y"``, ``"hybrid"``, an alias such as
    ``"language-specific"``); an unknown name is a :class:`SamplerSettingError` that lists the
    valid ones and suggests the closest."""
    if isinstance(name, str):
        key = _key(name)
        for spec in SAMPLER_SPECS.values():
            if key == spec.name or key in spec.aliases:
                return spec
    valid = [s.name for s in SAMPLER_SPECS.values()]
    valid += [alias for s in SAMPLER_SPECS.values() for alias in s.aliases]
    hint = did_you_mean(_key(name), valid) if isinstance(name, str) else ""
    raise SamplerSettingError(
        "sampler",
        name,
        f"sampler: unknown batch sampling strategy {name!r}; expected one of {valid}{hint}",
    )


def _share(field: str, value: Any) -> float:
    """``value`` as a float in [0, 1] (a share of X-X batches or of monolingual pairs)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SamplerSettingError(
            field, value, f"{field} must be a number in [0, 1], but got {value!r}"
        )
    if not 0.0 <= float(value) <= 1.0:  # also refuses nan
        raise SamplerSettingError(field, value, f"{field} must be in [0, 1], but got {value}")
    return float(value)


@dataclass(frozen=True)
class SamplerSetting:
    """A validated ``(sampler, alpha, alpha_end)``: ``alpha`` a float in [0, 1] (the fixed
    one, or :data:`DEFAULT_ALPHA` when none was given), ``alpha_end`` as given (None: no
    schedule; a schedule from alpha to alpha plans like one, its batches are its own)."""

    spec: SamplerSpec
    alpha: float
    alpha_end: float | None = None

    @property
    def sampler(self) -> str:
        return self.spec.name

    def system(self) -> SamplerSetting:
        """The system this setting trains: a schedule that does not move is its sampler at
        alpha; a sampler at the alpha another one fixes is that one (Hybrid(1) is X-X)."""
        if self.alpha_end is not None and self.alpha_end != self.alpha:
            return self
        for spec in SAMPLER_SPECS.values():
            if spec.fixed_of == self.spec.name and spec.fixed_alpha == self.alpha:
                return SamplerSetting(spec, self.alpha)
        return SamplerSetting(self.spec, self.alpha)

    @property
    def label(self) -> str:
        """The system's name in paths: ``x-x``, ``hybrid-a0.50``, ``hybrid-a1.00-0.00``."""
        system = self.system()
        if system.alpha_end is not None:
            return f"{system.sampler}-a{system.alpha:.2f}-{system.alpha_end:.2f}"
        if system.spec.fixed_alpha is not None:
            return system.sampler
        return f"{system.sampler}-a{system.alpha:.2f}"

    @property
    def name(self) -> str:
        """The system's name in tables: ``X-X``, ``Hybrid(0.50)``, ``Schedule(1.00→0.00)``."""
        system = self.system()
        if system.alpha_end is not None:
            return f"{system.spec.schedule_name}({system.alpha:.2f}→{system.alpha_end:.2f})"
        if system.spec.fixed_alpha is not None:
            return system.spec.table_name
        return f"{system.spec.table_name}({system.alpha:.2f})"


def sampler_setting(sampler: str, alpha: Any = None, alpha_end: Any = None) -> SamplerSetting:
    """Canonicalise and validate ``(sampler, alpha, alpha_end)``: the one check of each.

    ``sampler``: a registered name or alias; ``alpha``: in [0, 1], equal to the sampler's
    fixed alpha where it has one (None: that one, or :data:`DEFAULT_ALPHA`); ``alpha_end``:
    None, or in [0, 1] for a sampler that takes a schedule. Raises
    :class:`SamplerSettingError` naming the field and the value.
    """
    spec = sampler_spec(sampler)
    if alpha is None:
        alpha = DEFAULT_ALPHA if spec.fixed_alpha is None else spec.fixed_alpha
    share = _share("alpha", alpha)
    if spec.fixed_alpha is not None and share != spec.fixed_alpha:
        other = f"; use sampler {spec.fixed_of!r} for another alpha" if spec.fixed_of else ""
        raise SamplerSettingError(
            "alpha",
            alpha,
            f"sampler {spec.name!r} means alpha = {spec.fixed_alpha}, but got alpha={alpha}{other}",
        )
    end = None
    if alpha_end is not None:
        if not spec.alpha_end:
            takers = " or ".join(repr(s.name) for s in SAMPLER_SPECS.values() if s.alpha_end)
            raise SamplerSettingError(
                "alpha_end",
                alpha_end,
                f"alpha_end (a scheduled alpha) applies to sampler {takers or 'none'}, but got "
                f"sampler {spec.name!r} (alpha_end={alpha_end})",
            )
        end = _share("alpha_end", alpha_end)
    return SamplerSetting(spec, share, end)


def system_of(sampler: str, alpha: float | None, alpha_end: float | None = None) -> SamplerSetting:
    """The system that a recorded ``(sampler, alpha, alpha_end)`` is (see
    :meth:`SamplerSetting.system`): a fixed-alpha sampler is itself whatever alpha it records,
    and an ``alpha_end`` equal to ``alpha`` is no schedule."""
    spec = sampler_spec(sampler)
    if spec.fixed_alpha is not None:
        alpha = spec.fixed_alpha
    if alpha_end is not None and alpha is not None and float(alpha_end) == float(alpha):
        alpha_end = None
    return sampler_setting(spec.name, alpha, alpha_end).system()


register_sampler(SamplerSpec(
    name="x-x", table_name="X-X", fixed_alpha=1.0, fixed_of="hybrid", main=True,
    aliases=("language-specific",), factory="hybridlib.samplers.hybrid:XXBatchSampler",
    description="every batch monolingual (Hybrid at alpha 1)",
))  # fmt: skip
register_sampler(SamplerSpec(
    name="x-y", table_name="X-Y", fixed_alpha=0.0, fixed_of="hybrid", main=True,
    aliases=("language-agnostic",), factory="hybridlib.samplers.hybrid:XYBatchSampler",
    description="every batch cross-lingual (Hybrid at alpha 0)",
))  # fmt: skip
register_sampler(SamplerSpec(
    name="hybrid", table_name="Hybrid", alpha_end=True, main=True,
    factory="hybridlib.samplers.hybrid:HybridBatchSampler",
    description="a share alpha of X-X batches, X-Y otherwise",
))  # fmt: skip
register_sampler(SamplerSpec(
    name="per-pair", table_name="Per-pair", per_pair=True,
    factory="hybridlib.samplers.per_pair:PerPairMixingSampler",
    description="a share alpha of monolingual pairs inside every batch",
))  # fmt: skip
