"""hybridlib: hybrid batch training for multilingual dense retrieval.

Samplers (:mod:`hybridlib.samplers`), losses (:mod:`hybridlib.losses`) and metrics
(:mod:`hybridlib.metrics`) are usable on their own; :mod:`hybridlib.data`,
:mod:`hybridlib.models`, :mod:`hybridlib.training` and :mod:`hybridlib.evaluation`
wire them into the experiments of the book. The experiment layer, free of torch: the
protocol (:mod:`hybridlib.protocol`: which articles train, validate and test), the samplers'
specs (:mod:`hybridlib.sampler_specs`: one per sampler, read by config, profiles, names and
reporting), a system's identity (:mod:`hybridlib.systems`), its run record
(:mod:`hybridlib.run_records`) and the steps the notebooks call (:mod:`hybridlib.experiment`);
:mod:`hybridlib.reporting` turns the records and their results into the book's tables, claims
and figures, and :mod:`hybridlib.runner` executes the notebooks and builds the book.
"""

__version__ = "0.1.0"
