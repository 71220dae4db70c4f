"""hybridlib: hybrid batch training for multilingual dense retrieval.

Samplers (:mod:`hybridlib.samplers`), losses (:mod:`hybridlib.losses`) and metrics
(:mod:`hybridlib.metrics`) are usable on their own; :mod:`hybridlib.data`,
:mod:`hybridlib.models`, :mod:`hybridlib.training` and :mod:`hybridlib.evaluation`
wire them into the experiments of the book.
"""

__version__ = "0.1.0"
