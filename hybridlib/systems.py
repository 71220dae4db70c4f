"""One identity per trained system: a sampler and its alpha.

``canonical`` folds the pure samplers into Hybrid's family (Hybrid(1) is X-X, Hybrid(0) is
X-Y); ``system_label`` names a system in paths (``hybrid-a0.50``), ``system_name`` in tables
(``Hybrid(0.50)``). Free of torch, so the runner stays light.
"""

from __future__ import annotations

SELECTION_FILE = "selection.json"  # the validation's choice, in each direction's folder


def canonical(sampler: str, alpha: float) -> tuple[str, float]:
    """Hybrid(1) is X-X and Hybrid(0) is X-Y: one run serves both."""
    if sampler == "x-x" or (sampler == "hybrid" and alpha == 1.0):
        return "x-x", 1.0
    if sampler == "x-y" or (sampler == "hybrid" and alpha == 0.0):
        return "x-y", 0.0
    if sampler != "hybrid":
        raise ValueError(f"sampler must be 'x-x', 'x-y' or 'hybrid', but got {sampler!r}")
    return "hybrid", float(alpha)


def system_label(sampler: str, alpha: float) -> str:
    """The system's name in paths: ``x-x``, ``x-y``, ``hybrid-a0.50``."""
    sampler, alpha = canonical(sampler, alpha)
    return sampler if sampler != "hybrid" else f"hybrid-a{alpha:.2f}"


def system_name(sampler: str, alpha: float) -> str:
    """The system's name in tables: ``X-X``, ``X-Y``, ``Hybrid(0.50)``; baselines keep theirs."""
    if sampler in ("untrained", "bm25"):
        return sampler
    sampler, alpha = canonical(sampler, alpha)
    return {"x-x": "X-X", "x-y": "X-Y"}.get(sampler, f"Hybrid({alpha:.2f})")
