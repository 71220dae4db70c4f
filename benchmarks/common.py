"""What every benchmark shares: thread limits, interleaved repeats, and the tidy rows.

A benchmark times *ours* and its *reference* alternately in one process (ours, reference,
ours, reference, ...), so slow phases of a shared machine hit both about equally; the
ratio of each repeat's pair is the figure to trust, and its min / median / max over the
repeats shows how stable it was.

Every ratio is oriented so that **> 1 means ours is better**: for throughputs and FLOP
fractions ``ours / reference``, for seconds and bytes ``reference / ours``.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

TABLE_COLUMNS = [
    "benchmark",
    "variant",
    "metric",
    "value",
    "reference",
    "ratio",
    "repeats",
    "min",
    "median",
    "max",
]
# metrics where smaller is better: their ratio is reference / ours
LOWER_IS_BETTER = ("seconds", "gib", "bytes")
NUM_THREADS = 2


@contextlib.contextmanager
def thread_limits(n: int = NUM_THREADS) -> Iterator[None]:
    """Limit torch, BLAS/OpenMP (threadpoolctl) and faiss to ``n`` threads; restore after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    faiss_before = None
    try:
        import faiss

        faiss_before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(n)
    except ImportError:  # pragma: no cover - faiss-cpu is a dependency
        pass
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
        if faiss_before is not None:
            import faiss

            faiss.omp_set_num_threads(faiss_before)


def lower_is_better(metric: str) -> bool:
    return any(metric.endswith(suffix) or metric == suffix for suffix in LOWER_IS_BETTER)


def oriented_ratio(metric: str, ours: float, reference: float) -> float:
    """``ours / reference``, or ``reference / ours`` for lower-is-better metrics (> 1 = ours better)."""
    if lower_is_better(metric):
        return reference / ours if ours else math.inf
    return ours / reference if reference else math.inf


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call (garbage collected first, so no pause lands inside)."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def interleaved(
    candidates: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each candidate, run in turn ``repeats`` times after ``warmup`` rounds.

    Returns ``{name: [seconds of repeat 0, 1, ...]}``; repeat ``r`` of every candidate ran
    next to the others' repeat ``r``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, but got {repeats}")
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            seconds[name].append(time_call(fn)[0])
    return seconds


@dataclass
class Comparison:
    """Repeated measurements of one metric for ours and the reference (paired by repeat)."""

    benchmark: str
    variant: str
    reference_variant: str
    metric: str
    ours: Sequence[float]
    reference: Sequence[float]

    def rows(self) -> list[dict[str, Any]]:
        """Three tidy rows: ours (vs the reference), the reference, and the paired ratio."""
        if len(self.ours) != len(self.reference) or not self.ours:
            raise ValueError(
                f"{self.benchmark}/{self.variant}/{self.metric}: ours and reference need the "
                f"same number (>= 1) of repeats, but got {len(self.ours)} and {len(self.reference)}"
            )
        ours_median = statistics.median(self.ours)
        ref_median = statistics.median(self.reference)
        ratios = [oriented_ratio(self.metric, o, r) for o, r in zip(self.ours, self.reference)]
        return [
            row(self.benchmark, self.variant, self.metric, self.ours, reference=ref_median,
                ratio=oriented_ratio(self.metric, ours_median, ref_median)),
            row(self.benchmark, self.reference_variant, self.metric, self.reference),
            row(self.benchmark, f"{self.variant} vs {self.reference_variant}",
                f"ratio_{self.metric}", ratios, reference=1.0, ratio=statistics.median(ratios)),
        ]  # fmt: skip


def row(
    benchmark: str,
    variant: str,
    metric: str,
    values: Sequence[float],
    *,
    reference: float = math.nan,
    ratio: float = math.nan,
) -> dict[str, Any]:
    """One tidy row: ``value`` is the median of ``values``; min / median / max over them."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError(f"{benchmark}/{variant}/{metric}: no values")
    median = statistics.median(values)
    return {
        "benchmark": benchmark,
        "variant": variant,
        "metric": metric,
        "value": median,
        "reference": float(reference),
        "ratio": float(ratio),
        "repeats": len(values),
        "min": min(values),
        "median": median,
        "max": max(values),
    }


def table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The tidy table (columns :data:`TABLE_COLUMNS`); a row repeated verbatim (the same
    reference compared with two variants) is kept once."""
    frame = pd.DataFrame(list(rows), columns=TABLE_COLUMNS).astype({"repeats": "int64"})
    return frame.drop_duplicates(ignore_index=True)


def rss_bytes() -> int:
    """The process's current resident set size (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        resident_pages = int(handle.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The peak resident set size of this process image (Linux ``VmHWM``).

    Not ``ru_maxrss``: that survives ``exec``, so a spawned child would report its parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    raise OSError("/proc/self/status has no VmHWM line")
