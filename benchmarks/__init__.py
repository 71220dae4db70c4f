"""Benchmarks of hybridlib against the tools its users would otherwise use.

Run them with ``.venv/bin/python -m benchmarks.run [--quick] [--output DIR]``, or from Python
with :func:`benchmarks.run.run_all`. Each benchmark times ours and its reference alternately
in one process and reports the ratio (> 1: ours better) with min / median / max over repeats:

- :mod:`benchmarks.training`: a training step vs sentence-transformers'
  ``MultipleNegativesRankingLoss`` (pairs/s, peak memory, fraction of the FLOP peak);
- :mod:`benchmarks.encoding`: ``Encoder.encode`` vs ``SentenceTransformer.encode``;
- :mod:`benchmarks.evaluation`: the full XQuAD-R evaluation vs a per-query sklearn loop;
- :mod:`benchmarks.search`: exact top-k by matrix product vs faiss ``IndexFlatIP``.

:mod:`benchmarks.profile` shows where a training step spends its time.
"""

__all__ = ["common", "encoding", "evaluation", "profile", "run", "search", "training"]
