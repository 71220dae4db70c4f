"""One identity per trained system: a sampler, its alpha and, for a schedule, the alpha it
ends at; and, for a post-processed system, the training-free method applied to it.

``canonical`` folds the pure samplers into Hybrid's family (Hybrid(1) is X-X, Hybrid(0) is
X-Y; a schedule from alpha to the same alpha is plain Hybrid); ``system_label`` names a system
in paths (``hybrid-a0.50``, ``per-pair-a0.50``, ``hybrid-a1.00-0.00``), ``system_name`` in
tables (``Hybrid(0.50)``, ``Per-pair(0.50)``, ``Schedule(1.00→0.00)``); ``debiased_name``
adds a post-processing (``Hybrid(0.50)+LSAR``). Free of torch, so the runner stays light.
"""

from __future__ import annotations

SELECTION_FILE = "selection.json"  # the validation's choice, in each direction's folder
SAMPLERS = ("x-x", "x-y", "hybrid", "per-pair")
# the pure samplers are Hybrid at a fixed alpha: X-X batches only (1), X-Y batches only (0)
PURE_ALPHA: dict[str, float] = {"x-x": 1.0, "x-y": 0.0}
DEBIAS_METHODS = {"centering": "centering", "lir": "LIR", "lsar": "LSAR"}  # key -> display


def canonical(sampler: str, alpha: float) -> tuple[str, float]:
    """Hybrid(1) is X-X and Hybrid(0) is X-Y: one run serves both. Per-pair keeps its alpha
    (its batches mix inside, so per-pair(1) is not X-X's one-language batches)."""
    if sampler in PURE_ALPHA:
        return sampler, PURE_ALPHA[sampler]
    for pure, pure_alpha in PURE_ALPHA.items():
        if sampler == "hybrid" and alpha == pure_alpha:
            return pure, pure_alpha
    if sampler not in ("hybrid", "per-pair"):
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, but got {sampler!r}")
    return sampler, float(alpha)


def _schedule(sampler: str, alpha: float, alpha_end: float | None) -> float | None:
    """``alpha_end`` when it makes a schedule (Hybrid only, another value than alpha), else None."""
    if alpha_end is None or float(alpha_end) == float(alpha):
        return None
    if sampler != "hybrid":
        raise ValueError(
            f"alpha_end (a scheduled alpha) applies to sampler 'hybrid', but got {sampler!r}"
        )
    return float(alpha_end)


def system_label(sampler: str, alpha: float, alpha_end: float | None = None) -> str:
    """The system's name in paths: ``x-x``, ``x-y``, ``hybrid-a0.50``, ``per-pair-a0.50``,
    ``hybrid-a1.00-0.00`` (alpha from 1 to 0 over the run)."""
    end = _schedule(sampler, alpha, alpha_end)
    if end is not None:
        return f"hybrid-a{float(alpha):.2f}-{end:.2f}"
    sampler, alpha = canonical(sampler, alpha)
    return sampler if sampler in ("x-x", "x-y") else f"{sampler}-a{alpha:.2f}"


def system_name(sampler: str, alpha: float, alpha_end: float | None = None) -> str:
    """The system's name in tables: ``X-X``, ``X-Y``, ``Hybrid(0.50)``, ``Per-pair(0.50)``,
    ``Schedule(1.00→0.00)``; baselines keep theirs."""
    if sampler in ("untrained", "bm25"):
        return sampler
    end = _schedule(sampler, alpha, alpha_end)
    if end is not None:
        return f"Schedule({float(alpha):.2f}→{end:.2f})"
    sampler, alpha = canonical(sampler, alpha)
    names = {
        "x-x": "X-X",
        "x-y": "X-Y",
        "hybrid": f"Hybrid({alpha:.2f})",
        "per-pair": f"Per-pair({alpha:.2f})",
    }
    return names[sampler]


def debiased_name(system: str, method: str) -> str:
    """A system's name with a training-free post-processing: ``Hybrid(0.50)+LSAR``."""
    if method not in DEBIAS_METHODS:
        raise ValueError(f"method must be one of {list(DEBIAS_METHODS)}, but got {method!r}")
    return f"{system}+{DEBIAS_METHODS[method]}"
