"""One identity per trained system: a sampler, its alpha and, for a schedule, the alpha it
ends at; and, for a post-processed system, the training-free method applied to it.

``canonical`` folds the pure samplers into Hybrid's family (Hybrid(1) is X-X, Hybrid(0) is
X-Y; a schedule from alpha to the same alpha is plain Hybrid); ``system_label`` names a system
in paths (``hybrid-a0.50``, ``per-pair-a0.50``, ``hybrid-a1.00-0.00``), ``system_name`` in
tables (``Hybrid(0.50)``, ``Per-pair(0.50)``, ``Schedule(1.00→0.00)``); ``debiased_name``
adds a post-processing (``Hybrid(0.50)+LSAR``). The samplers and their names are the specs
of :mod:`hybridlib.sampler_specs`. Free of torch, so the runner stays light.
"""

from __future__ import annotations

from typing import Any

from hybridlib.sampler_specs import system_of

SELECTION_FILE = "selection.json"  # the validation's choice, in each direction's folder
DEBIAS_METHODS = {"centering": "centering", "lir": "LIR", "lsar": "LSAR"}  # key -> display


def canonical(sampler: str, alpha: float) -> tuple[str, float]:
    """Hybrid(1) is X-X and Hybrid(0) is X-Y: one run serves both. Per-pair keeps its alpha
    (its batches mix inside, so per-pair(1) is not X-X's one-language batches)."""
    system = system_of(sampler, alpha)
    return system.sampler, system.alpha


def system_label(sampler: str, alpha: float, alpha_end: float | None = None) -> str:
    """The system's name in paths: ``x-x``, ``x-y``, ``hybrid-a0.50``, ``per-pair-a0.50``,
    ``hybrid-a1.00-0.00`` (alpha from 1 to 0 over the run)."""
    return system_of(sampler, alpha, alpha_end).label


def system_name(sampler: str, alpha: float, alpha_end: float | None = None) -> str:
    """The system's name in tables: ``X-X``, ``X-Y``, ``Hybrid(0.50)``, ``Per-pair(0.50)``,
    ``Schedule(1.00→0.00)``; baselines keep theirs."""
    if sampler in ("untrained", "bm25"):
        return sampler
    return system_of(sampler, alpha, alpha_end).name


def debiased_name(system: str, method: str) -> str:
    """A system's name with a training-free post-processing: ``Hybrid(0.50)+LSAR``."""
    if method not in DEBIAS_METHODS:
        raise ValueError(f"method must be one of {list(DEBIAS_METHODS)}, but got {method!r}")
    return f"{system}+{DEBIAS_METHODS[method]}"


def steps_of(choices: dict[str, Any], system: str) -> int:
    """The optimizer steps of ``system`` (its table name, ``Hybrid(0.50)``): its own
    early-stopping step where the validation trained it, else the step chosen on the mean
    of the validated samplers' curves (``choices["steps"]``)."""
    return int(choices.get("steps_by_system", {}).get(system, choices["steps"]))
