"""What a build costs, known before it starts: each execution's work and this machine's speed.

:func:`estimate_plan` gives one row per execution of a plan: its *work* (texts and tokens
through how many encoder layers, training steps of how many texts through how many layers),
the seconds that work takes at this machine's measured *throughput*, and whether the
execution is already done (cached: then it costs nothing).

**Work.** Encoding is counted in tokens through layers, scoring in (query, candidate) pairs
ranked (each pool of a suite, once per setting, times :data:`SCORING_FACTOR` for the measures);
the rest (a kernel's start, loading data and models, BM25's sparse products, tables and
figures) is a constant per execution (:data:`EXECUTION_SECONDS`), per trained model
(:data:`MODEL_SECONDS`) and per evaluated suite (:data:`SUITE_SECONDS`), read off a smoke
build on 2 cores (its tiny model's executions are nearly all overhead):

- ``notebooks/evaluate.ipynb`` (a baseline): ``method: untrained`` encodes every text of its
  ``suites`` (each restricted to its ``suite_languages``) through all layers (with
  ``top_layers`` set it fills the hidden-state cache with the bottom's states and runs the top
  on them: all layers all the same); ``bm25`` only tokenizes (:data:`BM25_SECONDS_PER_TOKEN`).
- ``notebooks/validate.ipynb``: ``len(temperatures) x len(lrs) x len(systems)`` runs of
  ``max_steps`` optimizer steps of ``train.batch_size`` pairs (2 texts each, of the
  direction's training pairs' mean tokens), a step costing ``train_factor`` (forward and
  backward, about 3) forwards through the trained layers (``top_layers`` when set: the
  bottom's states are cached; else all) plus the optimizer's step; and
  ``max_steps // every + 1`` (+1 when ``every`` does not divide ``max_steps``) evaluations
  of the validation articles' texts and of the validation loss's batches; with ``prune_at``
  (successive halving) each stretch of :func:`~hybridlib.experiment.halving_schedule` counts
  only the pairs still trained in it, and each resumed run loads its model again.
- ``notebooks/runs.ipynb``: per seed, the training steps (the validation's choice in its
  ``selection_file`` when that exists; else the validation's ``max_steps``, an upper bound,
  and the work column says so) and the evaluation of its ``suites`` (and ``extra_suites``
  for the ``extra_seeds``) through the trained layers.
- ``notebooks/topk.ipynb`` (approximately): per system and seed, the whole encoder trained
  for the chosen steps (the top-k models are the main runs', reused, when ``steps`` is not
  given) and both models evaluated on ``n_eval_articles`` of the direction's test suite (the
  suite the plan's runs of that direction evaluate), as that share of its articles.
- ``notebooks/debias.ipynb`` (approximately): per model (the untrained one and each
  system's seeds), the fitting texts (``per_language`` of each fitting language, both sides)
  through the trained layers; the suites' embeddings are the evaluations' (cached), so
  their scoring is a constant per suite and method.
- any other notebook (a chapter): the wall time recorded for it by the last build of this
  profile (the runner's ``manifest.json``, as :mod:`hybridlib.reporting.budget` reads it),
  else :data:`CHAPTER_SECONDS` (:data:`BENCHMARK_SECONDS` with ``run_benchmarks``).

The hidden-state cache is filled once per text: the training texts that the untrained
baseline did not encode (other languages or suites) go through the bottom once, charged to
the first execution that trains on them. The cache left by an earlier build (it outlives the
build's folder) is not looked at: the estimate is then an upper bound.

**Arithmetic.** The same work is also counted in FLOPs (:meth:`Work.flops`,
:class:`LayerShape`: the linear maps and attention of every layer a text goes through, a
training step as three forward passes) and divided by the machine's matrix-product peak
(:func:`matmul_peak_flops`, measured with the throughput): the time no implementation of the
design can beat, printed beside the estimate; the efficiency chapter divides the arithmetic
of what ran by its measured wall time (:func:`utilisation_table`).

**Tokens** of a suite's texts are counted with the profile's model's tokenizer and prefixes,
truncated to the evaluation's length (``eval_max_length``, else the model's position limit,
512 for the encoders here; the training's ``train.max_length`` for training pairs), special
tokens included, as :meth:`~hybridlib.models.Encoder.token_ids` makes them. Attention grows
with length, so a text of ``t`` tokens costs ``a * t + b * t**2`` per layer: the counts keep
``sum(t)`` and ``sum(t**2)``. They are cached on disk (``<cache root>/estimates/tokens/``,
:func:`hybridlib.io.cache_root`), keyed by the suite, its languages, the data folder's
files of the suite (their pinned SHA-256 and each file's size and modification time), the
tokenizer (SHA-256 of its serialisation), the prefixes and the length; written atomically
with the SHA-256 of its content; a cache file that does not parse, or whose key, checksum or
counts do not check, is recomputed, never trusted.

**Throughput** (:func:`measure_throughput`): a micro-benchmark of the profile's model in its
resolved precision on the profile's thread count (5 to 10 seconds): its top layer's forward
pass on an evaluation's batch (64 texts of 32 tokens) gives the seconds per token and layer,
split into ``a`` and ``b`` by the layer's FLOPs (the linear maps' ``4 h^2 + 2 h i`` per token
against attention's ``2 t h``: timing long batches against short ones on 2 shared cores was
noise, tens of times the FLOP ratio either way); forward and backward on it gives
``train_factor`` (kept to [:data:`MIN_TRAIN_FACTOR`, :data:`MAX_TRAIN_FACTOR`]: the tiny
model's overheads are not per token); an AdamW step over that
layer gives the optimizer's seconds per trained layer and step; a matrix product and sort of
256 x 4096 scores gives the seconds per pair ranked. The fastest of repeated runs is kept
(other work on the machine only slows a run down). Cached per machine
(``<cache root>/estimates/throughput/``): CPU model and flags, torch's version, threads,
precision and model.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybridlib.io import atomic_write_json, cache_root
from hybridlib.runner.plan import Execution
from hybridlib.systems import steps_of, system_name

FORMAT = 3  # of the cache files; another format is recomputed
SPECIAL_TOKENS = 2  # <s> ... </s>
DEFAULT_MAX_LENGTH = 512
EXECUTION_SECONDS = 12.0  # a kernel's start, imports, loading data and the model
MODEL_SECONDS = 8.0  # per trained model: its pairs and sampler, the validator, saving it
SUITE_SECONDS = 2.0  # per evaluated suite: loading it, writing the tables and records
CHAPTER_SECONDS = 20.0  # a chapter never built on this machine
BENCHMARK_SECONDS = 120.0  # the efficiency chapter with run_benchmarks, never built here
BM25_SECONDS_PER_TOKEN = 2e-6
DEBIAS_SCORING_SECONDS = 2.0  # per suite, method and model: scoring cached embeddings
VALIDATION_LOSS_BATCHES = 8  # hybridlib.training.validation.MAX_LOSS_BATCHES
BENCHMARK_TOKENS = 2048  # per timed batch of the micro-benchmark (64 texts of 32 tokens)
BENCHMARK_VERSION = 3  # of benchmark_model: part of a cached throughput's key
PEAK_MATMUL_SIZE = 2048  # the square matrix product whose FLOP rate is the machine's peak
TRAIN_FLOPS_FACTOR = 3  # a training step's arithmetic in forwards: backward is two
MIN_TRAIN_FACTOR, MAX_TRAIN_FACTOR = 2.0, 4.0  # forward and backward, in forwards
# an evaluation's measures, both directions of a per-language suite, its bookkeeping: seconds
# per scored pair over a bare matrix product and sort (from the smoke book on this machine)
SCORING_FACTOR = 2.0


class EstimateError(RuntimeError):
    """An execution whose work cannot be computed (its data or model missing)."""


# ---------------------------------------------------------------------------------------------
# counts


@dataclasses.dataclass(frozen=True)
class TextStats:
    """``n`` texts of ``tokens`` tokens in all, ``tokens_sq`` the sum of their squares."""

    n: int = 0
    tokens: int = 0
    tokens_sq: int = 0

    @classmethod
    def of(cls, lengths: Iterable[int]) -> TextStats:
        values = [int(v) for v in lengths]
        return cls(len(values), sum(values), sum(v * v for v in values))

    def __add__(self, other: TextStats) -> TextStats:
        return TextStats(
            self.n + other.n, self.tokens + other.tokens, self.tokens_sq + other.tokens_sq
        )

    def scaled(self, factor: float) -> TextStats:
        """This many texts times ``factor`` (a share of them, or a repetition)."""
        return TextStats(
            round(self.n * factor), round(self.tokens * factor), round(self.tokens_sq * factor)
        )

    def check(self) -> None:
        """Raise ValueError unless the counts can be one set of texts' lengths."""
        ints = all(
            isinstance(v, int) and not isinstance(v, bool) for v in dataclasses.astuple(self)
        )
        if not ints or self.n < 0 or self.tokens < self.n or self.tokens_sq < self.tokens:
            raise ValueError(f"inconsistent token counts {self}")
        if self.n and self.tokens_sq * self.n < self.tokens * self.tokens:  # Cauchy-Schwarz
            raise ValueError(f"inconsistent token counts {self}")

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> TextStats:
        if not isinstance(value, dict) or set(value) != {"n", "tokens", "tokens_sq"}:
            raise ValueError(f"not token counts: {value!r}")
        stats = cls(**value)
        stats.check()
        return stats


@dataclasses.dataclass(frozen=True)
class Throughput:
    """This machine's speed for one model, precision and thread count: a forward pass costs
    ``a * tokens + b * tokens**2`` seconds per layer and text (summed over texts); a training
    step ``train_factor`` forwards of its texts through the trained layers plus
    ``optimizer_seconds`` per trained layer; scoring and ranking a (query, candidate) pair
    ``scoring_seconds``."""

    a: float
    b: float
    train_factor: float = 3.0
    optimizer_seconds: float = 0.0
    scoring_seconds: float = 0.0  # per (query, candidate) pair scored and ranked
    measured: str = ""  # what measured it (the machine's key), for the report
    peak_flops: float = 0.0  # FLOP/s of a large matrix product in the precision (0: unmeasured)

    def forward(self, stats: TextStats, layers: int) -> float:
        return layers * (self.a * stats.tokens + self.b * stats.tokens_sq)


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """An encoder layer's widths: ``hidden`` (h) and the feed-forward's ``intermediate`` (i).

    Its arithmetic on texts of ``t`` tokens, in FLOPs (a multiply-add is 2): the linear maps
    ``2 (4 h^2 + 2 h i)`` per token (query, key, value, output; the feed-forward's two) and
    attention ``4 h t`` per token (scores and weighted sum, ``2 t h`` each), so
    ``linear * sum(t) + attention * sum(t^2)`` per layer; norms and activations (a few ``h``
    per token) are left out. 384 / 1536 (multilingual-e5-small): 3.54 MFLOP per token and
    layer plus 1,536 per token of the text's length.
    """

    hidden: int
    intermediate: int

    @property
    def linear(self) -> int:
        return 2 * (4 * self.hidden**2 + 2 * self.hidden * self.intermediate)

    @property
    def attention(self) -> int:
        return 4 * self.hidden

    def flops(self, stats: TextStats, layers: int) -> float:
        """FLOPs of a forward pass of ``stats`` through ``layers`` layers."""
        return float(layers * (self.linear * stats.tokens + self.attention * stats.tokens_sq))


# ---------------------------------------------------------------------------------------------
# the model: tokenizer, prefixes, layers (loaded once, when a count or a benchmark needs it)


class ModelContext:
    """The profile's model as the estimate needs it: loaded on first use, once."""

    def __init__(self, model: str, precision: str, threads: int | None):
        self.model, self.precision, self.threads = model, precision, threads
        self._encoder: Any = None
        self._error: Exception | None = None
        self._tokenizer_sha: str | None = None

    @property
    def encoder(self) -> Any:
        if self._error is not None:
            raise EstimateError(f"model {self.model!r} could not be loaded: {self._error}")
        if self._encoder is None:
            try:
                from hybridlib.models import load_encoder

                self._encoder = load_encoder(self.model, precision=self.precision)
            except Exception as error:  # no network for a hub model, a missing package
                self._error = error
                raise EstimateError(f"model {self.model!r} could not be loaded: {error}") from None
        return self._encoder

    @property
    def n_layers(self) -> int:
        return int(self.encoder.n_layers)

    @property
    def layer_shape(self) -> LayerShape:
        config = self.encoder.transformer.config
        hidden = int(config.hidden_size)
        return LayerShape(hidden, int(getattr(config, "intermediate_size", 4 * hidden)))

    def max_length(self, requested: int | None) -> int:
        """The length texts are cut to: ``requested``, else the model's position limit (as
        :class:`~hybridlib.evaluation.suites.EvaluationSettings` decides), else 512."""
        if requested:
            return int(requested)
        from hybridlib.models.settings import position_limit

        limit = position_limit(self.encoder.transformer.config)
        return int(limit or self.encoder.max_length or DEFAULT_MAX_LENGTH)

    def prefix(self, kind: str, given: str | None) -> str:
        return given if given is not None else str(self.encoder.prefix(kind))

    @property
    def tokenizer_sha256(self) -> str:
        if self._tokenizer_sha is None:
            tokenizer = self.encoder.tokenizer
            backend = getattr(tokenizer, "backend_tokenizer", None)
            if backend is not None:  # its vocabulary and rules; not the truncation and padding
                # that the last call left set on it
                state = json.loads(backend.to_str())
                state.pop("truncation", None)
                state.pop("padding", None)
            text = json.dumps(state, sort_keys=True) if backend is not None else json.dumps(
                [type(tokenizer).__name__, getattr(tokenizer, "name_or_path", ""),
                 sorted(tokenizer.get_vocab().items())]
            )  # fmt: skip
            self._tokenizer_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._tokenizer_sha

    def lengths(self, texts: Sequence[str], prefix: str, max_length: int) -> list[int]:
        """Tokens of each text after ``prefix``, special tokens included, cut at
        ``max_length`` (as the encoder tokenizes)."""
        lengths: list[int] = []
        tokenizer = self.encoder.tokenizer
        for start in range(0, len(texts), 10_000):
            ids = tokenizer(
                [prefix + text for text in texts[start : start + 10_000]],
                truncation=True,
                max_length=max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            lengths += [len(row) for row in ids]
        return lengths


# ---------------------------------------------------------------------------------------------
# token counts, cached


def estimates_dir() -> Path:
    """``<cache root>/estimates`` (:func:`hybridlib.io.cache_root`)."""
    return cache_root() / "estimates"


def data_version(suite: str, root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What the data of ``suite`` are: its folders' pinned SHA-256 (``SHA256SUMS``) and each
    present file's size and modification time, so a changed file changes the key."""
    from hybridlib.data.sources import expected_sha256, resolve_root
    from hybridlib.suites import suite_spec

    folders = suite_spec(suite).folders
    pinned = {
        path: digest
        for path, digest in expected_sha256().items()
        if any(path.startswith(f"{folder}/") for folder in folders)
    }
    files: dict[str, list[int]] = {}
    try:
        base = resolve_root(root)
    except Exception:  # no data folder: the loader will say so
        base = None
    for folder in folders if base is not None else ():
        assert base is not None
        for path in sorted((base / folder).rglob("*")) if (base / folder).is_dir() else ():
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                files[path.relative_to(base).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return {
        "pinned": hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest(),
        "files": hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest(),
        "root": str(base) if base is not None else None,
    }


def _key_file(kind: str, name: str, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return estimates_dir() / kind / f"{safe}-{digest[:20]}.json"


def _content_sha256(key: Any, counts: Any) -> str:
    blob = json.dumps({"key": key, "counts": counts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _cached_counts(
    path: Path, key: dict[str, Any], fields: Sequence[str]
) -> dict[str, TextStats] | None:
    """The counts stored at ``path`` for exactly ``key``; None (recompute) when the file is
    missing, does not parse, is of another format or key, fails its own SHA-256 (an edited or
    damaged file), or holds counts that do not check."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            return None
        wanted = json.loads(json.dumps(key, default=str))
        if stored.get("key") != wanted:
            return None
        counts = stored.get("counts")
        if not isinstance(counts, dict) or set(counts) != set(fields):
            return None
        if stored.get("sha256") != _content_sha256(wanted, counts):
            return None
        return {name: TextStats.from_json(counts[name]) for name in fields}
    except (OSError, ValueError, TypeError):
        return None


def _store_counts(path: Path, key: dict[str, Any], counts: dict[str, TextStats]) -> None:
    """Write ``counts`` for ``key`` atomically, with the SHA-256 of both."""
    stored_key = json.loads(json.dumps(key, default=str))
    stored = {name: value.to_json() for name, value in counts.items()}
    atomic_write_json(path, {"format": FORMAT, "key": stored_key, "counts": stored,
                             "sha256": _content_sha256(stored_key, stored)})  # fmt: skip


def suite_token_counts(
    suite: str,
    languages: Sequence[str] | None,
    context: ModelContext,
    *,
    max_length: int | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
) -> dict[str, TextStats]:
    """``{"queries", "candidates", "articles", "pairs"}``: the token counts of ``suite``'s
    queries and candidates in ``languages`` (None: all), as evaluation encodes them (queries
    with the query prefix, candidates, the sentences, with the passage prefix); in
    ``articles.n`` its distinct articles (for a share of them), in ``pairs.n`` the (query,
    candidate) pairs of its pools times its settings (what scoring ranks). Cached (see the
    module's docstring)."""
    from hybridlib.suites import loader_code_sha256, suite_spec

    length = context.max_length(max_length)
    prefixes = (context.prefix("query", query_prefix), context.prefix("passage", passage_prefix))
    key = {
        "suite": suite,
        "languages": sorted(languages) if languages is not None else None,
        "data": data_version(suite, data_root),
        "tokenizer": context.tokenizer_sha256,
        "prefixes": list(prefixes),
        "max_length": length,
        "loaders": loader_code_sha256(),  # the registry's and the data loaders' code
    }
    path = _key_file("tokens", suite, key)
    fields = ("queries", "candidates", "articles", "pairs")
    cached = _cached_counts(path, key, fields)
    if cached is not None:
        return cached
    spec = suite_spec(suite)
    parts = spec.load(list(languages) if languages is not None else None, data_root)
    pairs = len(spec.settings) * sum(len(part.queries) * len(part.candidates) for part in parts)
    queries = [q.text for part in parts for q in part.queries]
    candidates = [c.text for part in parts for c in part.candidates]
    articles = {c.article for part in parts for c in part.candidates if c.article}
    counts = {
        "queries": TextStats.of(context.lengths(queries, prefixes[0], length)),
        "candidates": TextStats.of(context.lengths(candidates, prefixes[1], length)),
        "articles": TextStats(len(articles), len(articles), len(articles)),
        "pairs": TextStats(pairs, pairs, pairs),
    }
    _store_counts(path, key, counts)
    return counts


def training_token_counts(
    direction_name: str,
    validation_fraction: float,
    validation_seed: int,
    covered_languages: Sequence[str] | None | bool,
    context: ModelContext,
    *,
    max_length: int | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    train_limit: int | None = None,
    validation_limit: int | None = None,
    validation_languages: Sequence[str] | None = None,
) -> dict[str, TextStats]:
    """The token counts of direction ``direction_name``'s training: ``queries`` and
    ``passages`` of its training pairs (the protocol's training articles, its languages);
    ``fill``: its distinct training texts that the untrained baseline does not encode (it
    evaluates the training suite in ``covered_languages``: None all, False not at all), which
    the hidden-state cache computes once; ``val_queries``, ``val_candidates``: the training
    suite's texts of the validation articles (the learning curves). ``train_limit``,
    ``validation_limit``, ``validation_languages``: a profile's cut of XM3600 (its
    ``xm3600_train_images``, ``xm3600_validation_images``, ``xm3600_validation_languages``),
    as the experiment applies it. Cached like :func:`suite_token_counts`."""
    from hybridlib import protocol
    from hybridlib.suites import suite_spec

    chosen = protocol.direction(direction_name)
    train_suite = chosen.train_suite
    languages = list(chosen.languages)
    length = int(max_length or DEFAULT_MAX_LENGTH)
    eval_length = context.max_length(None)
    prefixes = (context.prefix("query", query_prefix), context.prefix("passage", passage_prefix))
    key = {
        "direction": direction_name,
        "train_suite": train_suite,
        "languages": languages,
        "validation": [validation_fraction, validation_seed],
        "covered": covered_languages if isinstance(covered_languages, bool) or covered_languages is None
        else sorted(covered_languages),
        "data": data_version(train_suite, data_root),
        "tokenizer": context.tokenizer_sha256,
        "prefixes": list(prefixes),
        "max_length": [length, eval_length],
        "cut": [train_limit, validation_limit, sorted(validation_languages or []) or None],
    }  # fmt: skip
    path = _key_file("training", direction_name, key)
    fields = ("queries", "passages", "fill", "val_queries", "val_candidates")
    cached = _cached_counts(path, key, fields)
    if cached is not None:
        return cached
    spec = suite_spec(train_suite)
    if spec.training_pairs is None:
        raise EstimateError(f"suite {train_suite!r} has no training pairs")
    root = str(data_root) if data_root is not None else None
    articles = protocol.training_articles(
        direction_name, validation_fraction, validation_seed, root, limit=train_limit
    )
    pairs = spec.training_pairs(languages, articles, data_root)
    query_lengths = context.lengths([p.query for p in pairs], prefixes[0], length)
    passage_lengths = context.lengths([p.passage for p in pairs], prefixes[1], length)
    seen_queries: set[str] = set()
    seen_candidates: set[str] = set()
    if covered_languages is not False:
        covered = None if covered_languages in (None, True) else list(covered_languages)  # type: ignore[arg-type]
        for part in spec.load(covered, data_root):
            seen_queries.update(q.text for q in part.queries)
            seen_candidates.update(c.text for c in part.candidates)
    fill: dict[tuple[str, str], int] = {}
    for pair, q_len, p_len in zip(pairs, query_lengths, passage_lengths):
        if pair.query not in seen_queries:
            fill[("query", pair.query)] = q_len
        if pair.passage not in seen_candidates:
            fill[("passage", pair.passage)] = p_len
    validation = protocol.validation_articles(
        direction_name, validation_fraction, validation_seed, root, limit=validation_limit
    )
    val_queries: list[str] = []
    val_candidates: list[str] = []
    if spec.held_out is not None:  # the texts the Validator scores at every curve point
        _, held_out = spec.held_out(list(validation_languages or languages), validation, root)
        val_queries = [q.text for q in held_out.queries]
        val_candidates = [c.text for c in held_out.candidates]
    counts = {
        "queries": TextStats.of(query_lengths),
        "passages": TextStats.of(passage_lengths),
        "fill": TextStats.of(fill.values()),
        "val_queries": TextStats.of(context.lengths(val_queries, prefixes[0], eval_length)),
        "val_candidates": TextStats.of(context.lengths(val_candidates, prefixes[1], eval_length)),
    }
    _store_counts(path, key, counts)
    return counts


# ---------------------------------------------------------------------------------------------
# throughput


def machine_key(model: str, precision: str, threads: int | None) -> dict[str, Any]:
    """What this machine's throughput depends on: CPU model and flags, torch, threads,
    precision and model."""
    import torch

    name, flags = platform.processor() or platform.machine(), ""
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.startswith("model name") and name in (
                "",
                platform.processor(),
                platform.machine(),
            ):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return {
        "cpu": name,
        "flags": hashlib.sha256(flags.encode()).hexdigest()[:16],
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "threads": threads or torch.get_num_threads(),
        "precision": precision,
        "model": model,
        "benchmark": BENCHMARK_VERSION,  # another benchmark is measured again
    }


def _timed(run: Callable[[], Any], budget: float, most: int = 20) -> float:
    """The fastest of repeated runs of ``run`` after a warm-up (a first call builds kernels),
    repeated while within about ``budget`` seconds (at least once, at most ``most`` times):
    the fastest is the machine's speed, the others are whatever else ran meanwhile."""
    run()
    best, spent, runs = math.inf, 0.0, 0
    while runs < 1 or (spent < budget and runs < most):
        started = time.perf_counter()
        run()
        took = time.perf_counter() - started
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best


def benchmark_model(context: ModelContext, seconds: float = 5.0) -> Throughput:
    """Measure :class:`Throughput` on the model of ``context`` (about ``seconds``)."""
    import torch

    from hybridlib.models.unpadded import supports_unpadding, unpadded_hidden_states

    encoder = context.encoder
    transformer = encoder.transformer
    n_layers = encoder.n_layers
    measured = 1  # the top layer only: a layer costs what any other does
    start = n_layers - measured
    hidden = int(transformer.config.hidden_size)
    previous_threads = torch.get_num_threads()
    if context.threads:
        torch.set_num_threads(int(context.threads))
    # an evaluation's batch: 64 texts of 32 tokens
    shape = (BENCHMARK_TOKENS // 32, 32)
    generator = torch.Generator().manual_seed(0)

    def forward(n: int, s: int) -> torch.Tensor:
        mask = torch.ones(n, s, dtype=torch.long)
        if supports_unpadding(transformer) and start > 0:
            states = torch.randn(n, s, hidden, generator=generator)
            with encoder._autocast():
                return unpadded_hidden_states(
                    transformer, mask, hidden_states=states, start_layer=start
                )
        ids = torch.randint(5, 1000, (n, s), generator=generator)
        with encoder._autocast():
            return transformer(input_ids=ids, attention_mask=mask).last_hidden_state

    layers = measured if supports_unpadding(transformer) and start > 0 else n_layers
    was_training = encoder.training
    try:
        encoder.eval()
        with torch.inference_mode():
            t1 = _timed(functools.partial(forward, *shape), 2 * seconds / 5) / layers
        # per token and layer: the linear maps against attention's per token of length
        # (LayerShape): b / a is their FLOP ratio, the measured time split in that proportion
        ratio = context.layer_shape.attention / context.layer_shape.linear
        n1, s1 = shape
        a = t1 / (n1 * s1 + n1 * s1 * s1 * ratio)
        b = a * ratio
        encoder.train()
        top = list(transformer.encoder.layer)[n_layers - measured :]
        parameters = [p for layer in top for p in layer.parameters()]
        for p in parameters:
            p.requires_grad_(True)

        def step() -> None:
            forward(*shape).float().sum().backward()

        trained = _timed(step, seconds / 5) / layers
        # backward costs about twice the forward; a factor outside [MIN, MAX_TRAIN_FACTOR] is
        # per-call overhead (the tiny model: a hundred) or other work on the machine
        train_factor = min(max(trained / t1, MIN_TRAIN_FACTOR), MAX_TRAIN_FACTOR)
        optimizer = torch.optim.AdamW(parameters, lr=1e-6)
        for p in parameters:
            p.grad = torch.zeros_like(p)
        optimizer_seconds = _timed(optimizer.step, seconds / 10) / measured
        optimizer.zero_grad(set_to_none=True)
        scoring = _scoring_seconds(min(hidden, 768), seconds / 10)
        peak = matmul_peak_flops(encoder.settings.precision, seconds / 5)
    finally:
        encoder.train(was_training)
        torch.set_num_threads(previous_threads)
    return Throughput(a=a, b=b, train_factor=train_factor, optimizer_seconds=optimizer_seconds,
                      scoring_seconds=scoring, peak_flops=peak)  # fmt: skip


def matmul_peak_flops(
    precision: str, budget: float, size: int = PEAK_MATMUL_SIZE, most: int = 5
) -> float:
    """FLOP/s of a ``size``-square matrix product in a profile's ``precision`` (``bfloat16``,
    else float32) on torch's threads (the fastest of up to ``most`` products within about
    ``budget`` seconds, after a warm-up): the physical limit the encoder's arithmetic is
    measured against (2,048: 411 GFLOP/s in bf16 and 138 in float32 on 2 cores of an AMD EPYC
    with AVX-512 BF16)."""
    import torch

    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    return 2 * size**3 / _timed(lambda: torch.mm(a, b), budget, most=most)


def _scoring_seconds(dim: int, budget: float) -> float:
    """Seconds per (query, candidate) pair to score and rank: a matrix product of unit
    vectors and a sort of each query's scores, as an evaluation does per pool."""
    import numpy as np

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((256, dim), dtype=np.float32)
    candidates = rng.standard_normal((4096, dim), dtype=np.float32)
    took = _timed(lambda: np.argsort(-(queries @ candidates.T), axis=1), budget)
    return took / (256 * 4096)


def measure_throughput(
    context: ModelContext, benchmark: Callable[[ModelContext], Throughput] = benchmark_model
) -> Throughput:
    """This machine's :class:`Throughput` for ``context``'s model, precision and threads:
    read from the cache (:func:`machine_key`), else ``benchmark(context)`` and cached."""
    key = machine_key(context.model, context.precision, context.threads)
    path = _key_file("throughput", context.model.replace("/", "_"), key)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") == FORMAT and stored.get("key") == key:
            values = stored["throughput"]
            result = Throughput(**values)
            if all(math.isfinite(v) and v >= 0 for v in (result.a, result.b, result.optimizer_seconds)) \
                    and result.a > 0 and result.train_factor >= 1:  # fmt: skip
                return result
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    result = dataclasses.replace(
        benchmark(context), measured=f"{key['cpu']}, {key['threads']} threads"
    )
    atomic_write_json(path, {"format": FORMAT, "key": key, "throughput": dataclasses.asdict(result),
                             "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")})  # fmt: skip
    return result


# ---------------------------------------------------------------------------------------------
# work


@dataclasses.dataclass
class Work:
    """What one execution computes: ``forward`` (token counts, layers) pairs; ``train``
    (per-step token counts, steps, trained layers); ``pairs`` scored; ``fixed`` seconds;
    ``parts`` describe it."""

    forward: list[tuple[TextStats, int]] = dataclasses.field(default_factory=list)
    train: list[tuple[TextStats, int, int]] = dataclasses.field(default_factory=list)
    fixed: float = 0.0
    parts: list[str] = dataclasses.field(default_factory=list)
    pairs: float = 0.0  # (query, candidate) pairs scored, over the settings

    def seconds(self, throughput: Throughput) -> float:
        total = self.fixed + sum(throughput.forward(s, layers) for s, layers in self.forward)
        total += SCORING_FACTOR * throughput.scoring_seconds * self.pairs
        for per_step, steps, layers in self.train:
            total += steps * (throughput.train_factor * throughput.forward(per_step, layers)
                              + throughput.optimizer_seconds * layers)  # fmt: skip
        return total

    def encode(self, stats: TextStats, layers: int) -> None:
        self.forward.append((stats, layers))

    def flops(self, shape: LayerShape) -> float:
        """The encoder arithmetic of this work (:class:`LayerShape`): every forward pass, and
        each training step as :data:`TRAIN_FLOPS_FACTOR` forwards of its texts; scoring,
        the optimizer and the fixed costs are not counted (they are not the model's)."""
        total = sum(shape.flops(stats, layers) for stats, layers in self.forward)
        return total + sum(
            TRAIN_FLOPS_FACTOR * steps * shape.flops(per_step, layers)
            for per_step, steps, layers in self.train
        )


def _millions(tokens: int) -> str:
    return f"{tokens / 1e6:.2f}M" if tokens >= 10_000 else f"{tokens}"


def _notebook_defaults(path: Path) -> dict[str, Any]:
    """The literal defaults of the notebook's parameters cell."""
    import papermill

    defaults: dict[str, Any] = {}
    for name, entry in papermill.inspect_notebook(str(path)).items():
        try:
            defaults[name] = ast.literal_eval(entry["default"])
        except (ValueError, SyntaxError, KeyError):
            pass
    return defaults


def _steps_per_pair_batch(counts: dict[str, TextStats], batch_size: int) -> TextStats:
    """The texts of one training step: ``batch_size`` queries and passages of mean size."""
    queries, passages = counts["queries"], counts["passages"]
    if not queries.n or not passages.n:
        raise EstimateError("the direction has no training pairs")
    return queries.scaled(batch_size / queries.n) + passages.scaled(batch_size / passages.n)


def _evaluations(max_steps: int, every: int) -> int:
    """Validated steps: before the first, every ``every``, and at the last."""
    return max_steps // every + 1 + (1 if max_steps % every else 0)


class _Estimator:
    """The work of each execution of one plan (see the module's docstring)."""

    def __init__(self, executions: list[Execution], profile: Any, root: Path,
                 context: ModelContext, data_root: str | os.PathLike[str] | None):  # fmt: skip
        self.executions = {e.name: e for e in executions}
        self.profile, self.root, self.context, self.data_root = profile, root, context, data_root
        grid = profile.experiment if profile is not None else None
        self.notebooks = {
            "evaluate": grid.evaluate_notebook if grid else "notebooks/evaluate.ipynb",
            "validate": grid.validate_notebook if grid else "notebooks/validate.ipynb",
            "runs": grid.runs_notebook if grid else "notebooks/runs.ipynb",
            "topk": grid.topk_notebook if grid else "notebooks/topk.ipynb",
            "debias": grid.mixing.debias_notebook if grid and grid.mixing else "notebooks/debias.ipynb",
        }  # fmt: skip
        self.defaults: dict[str, dict[str, Any]] = {}
        self.filled: set[str] = set()  # directions whose training texts are in the cache
        self.covered: dict[str, Sequence[str] | None | bool] = {}  # suite -> untrained's languages
        self.memo: dict[
            str, dict[str, TextStats]
        ] = {}  # training counts, per direction and setting

    def kind(self, execution: Execution) -> str | None:
        for kind, notebook in self.notebooks.items():
            if execution.notebook == notebook:
                return kind
        return None

    def parameters(self, execution: Execution) -> dict[str, Any]:
        """The notebook's defaults, then the profile's offered values, then the explicit ones."""
        if execution.notebook not in self.defaults:
            path = self.root / execution.notebook
            self.defaults[execution.notebook] = _notebook_defaults(path) if path.is_file() else {}
        defaults = self.defaults[execution.notebook]
        offered = {k: v for k, v in execution.offered.items() if k in defaults}
        return {**defaults, **offered, **execution.parameters}

    def layers(self, top_layers: Any) -> int:
        return int(top_layers) if top_layers else self.context.n_layers

    def suite_counts(self, suite: str, p: dict[str, Any]) -> dict[str, TextStats]:
        languages = (p.get("suite_languages") or {}).get(suite)
        return suite_token_counts(
            suite, languages, self.context, max_length=p.get("eval_max_length"),
            query_prefix=p.get("query_prefix"), passage_prefix=p.get("passage_prefix"),
            data_root=self.data_root,
        )  # fmt: skip

    def evaluate_suites(self, work: Work, suites: Sequence[str], p: dict[str, Any], layers: int,
                        share: float = 1.0) -> None:  # fmt: skip
        tokens = 0
        for suite in suites:
            counts = self.suite_counts(suite, p)
            texts = (counts["queries"] + counts["candidates"]).scaled(share)
            work.encode(texts, layers)
            work.pairs += counts["pairs"].n * share * share
            work.fixed += SUITE_SECONDS
            tokens += texts.tokens
        if suites:
            work.parts.append(
                f"evaluate {', '.join(suites)}: {_millions(tokens)} tokens x {layers} layers"
            )

    def training_counts(self, direction_name: str, p: dict[str, Any]) -> dict[str, TextStats]:
        train = p.get("train") or {}
        key = json.dumps([direction_name, p.get("validation_fraction"), p.get("validation_seed"),
                          train.get("max_length"), p.get("query_prefix"), p.get("passage_prefix"),
                          *self._cut(direction_name, p).values()], default=str)  # fmt: skip
        if key not in self.memo:
            self.memo[key] = self._training_counts(direction_name, p)
        return self.memo[key]

    def _training_counts(self, direction_name: str, p: dict[str, Any]) -> dict[str, TextStats]:
        train = p.get("train") or {}
        return training_token_counts(
            direction_name, float(p.get("validation_fraction", 0.1)), int(p.get("validation_seed", 0)),
            self.covered.get(self._train_suite(direction_name), False), self.context,
            max_length=train.get("max_length"), query_prefix=p.get("query_prefix"),
            passage_prefix=p.get("passage_prefix"), data_root=self.data_root,
            **self._cut(direction_name, p),
        )  # fmt: skip

    @staticmethod
    def _cut(direction_name: str, p: dict[str, Any]) -> dict[str, Any]:
        """The profile's cut of XM3600 (images, curve languages), as
        :func:`hybridlib.experiment.train_config` applies it (the protocol ignores the image
        limits of other directions)."""
        from hybridlib.protocol import curve_languages

        return {
            "train_limit": p.get("xm3600_train_images"),
            "validation_limit": p.get("xm3600_validation_images"),
            "validation_languages": curve_languages(
                direction_name, p.get("xm3600_validation_languages")
            ),
        }

    @staticmethod
    def _train_suite(direction_name: str) -> str:
        from hybridlib import protocol

        return protocol.direction(direction_name).train_suite

    def fill(self, work: Work, direction_name: str, p: dict[str, Any], cached: bool) -> None:
        """The bottom's states of the training texts not yet in the cache, once per direction."""
        if not p.get("top_layers") or direction_name in self.filled:
            return
        self.filled.add(direction_name)
        if cached:
            return
        counts = self.training_counts(direction_name, p)
        bottom = self.context.n_layers - int(p["top_layers"])
        if counts["fill"].n:
            work.encode(counts["fill"], bottom)
            work.parts.append(
                f"cache fill {_millions(counts['fill'].tokens)} tokens x {bottom} layers"
            )

    def train(self, work: Work, direction_name: str, p: dict[str, Any], steps: int, runs: int,
              layers: int) -> None:  # fmt: skip
        counts = self.training_counts(direction_name, p)
        batch = int((p.get("train") or {}).get("batch_size", 32))
        per_step = _steps_per_pair_batch(counts, batch)
        work.train.append((per_step, steps * runs, layers))
        work.fixed += MODEL_SECONDS * runs
        work.parts.append(f"train {runs} x {steps} steps x {2 * batch} texts "
                          f"({per_step.tokens} tokens) x {layers} layers")  # fmt: skip

    def selected_steps(self, execution: Execution, p: dict[str, Any]) -> tuple[int, str]:
        """The steps of a main run: given, the validation's choice (its system's own steps
        where the validation trained it), or its ``max_steps``."""
        if p.get("steps") is not None:
            return int(p["steps"]), "given"
        selection = p.get("selection_file") or ""
        path = self.root / selection if selection else None
        if path is not None and path.is_file():
            try:
                chosen = json.loads(path.read_text(encoding="utf-8"))
                if "sampler" not in p:  # not one system's run
                    return int(chosen["steps"]), "chosen"
                system = system_name(p["sampler"], p.get("alpha", 0.5), p.get("alpha_end"))
                return steps_of(chosen, system), "chosen"
            except (ValueError, KeyError, TypeError, OSError):
                pass
        for name in execution.depends_on:
            upstream = self.executions.get(name)
            if upstream is not None and self.kind(upstream) == "validate":
                return int(
                    self.parameters(upstream)["max_steps"]
                ), "validation's max_steps, an upper bound"
        raise EstimateError("no selection file and no validation run to bound the steps")

    # -- one function per notebook ------------------------------------------------------------

    def work(self, execution: Execution, cached: bool) -> Work | None:
        kind = self.kind(execution)
        if kind is None:
            return None
        p = self.parameters(execution)
        work = Work(fixed=EXECUTION_SECONDS)
        getattr(self, f"_{kind}")(execution, p, work, cached)
        return work

    def _evaluate(self, execution: Execution, p: dict[str, Any], work: Work, cached: bool) -> None:
        suites = list(p.get("suites") or [])
        if p.get("method") == "bm25":
            tokens = 0
            for suite in suites:
                counts = self.suite_counts(suite, p)
                tokens += counts["queries"].tokens + counts["candidates"].tokens
                work.fixed += SUITE_SECONDS
            work.fixed += tokens * BM25_SECONDS_PER_TOKEN
            work.parts.append(f"BM25 over {', '.join(suites)}: tokenize {_millions(tokens)} tokens")
            return
        for suite in suites:
            self.covered[suite] = (p.get("suite_languages") or {}).get(suite)
        self.evaluate_suites(work, suites, p, self.context.n_layers)

    def _validate(self, execution: Execution, p: dict[str, Any], work: Work, cached: bool) -> None:
        from hybridlib.experiment.validation import halving_schedule

        direction_name = p["direction"]
        self.fill(work, direction_name, p, cached)
        systems = len(p.get("systems") or [])
        pairs = len(p.get("temperatures") or []) * len(p.get("lrs") or [])
        max_steps, every = int(p["max_steps"]), int(p["every"])
        schedule = halving_schedule(pairs, max_steps, every, p.get("prune_at") or (),
                                    float(p.get("keep", 0.5)))  # fmt: skip
        layers = self.layers(p.get("top_layers"))
        evaluations, before = pairs * systems, 0  # every run's curve starts at step 0
        for stop, alive in schedule:  # each stretch of successive halving
            self.train(work, direction_name, p, stop - before, alive * systems, layers)
            evaluations += (
                alive * systems * (_evaluations(stop, every) - _evaluations(before, every))
            )
            before = stop
        counts = self.training_counts(direction_name, p)
        batch = int((p.get("train") or {}).get("batch_size", 32))
        texts = (counts["val_queries"] + counts["val_candidates"]
                 + _steps_per_pair_batch(counts, batch).scaled(VALIDATION_LOSS_BATCHES))  # fmt: skip
        work.forward.append((texts.scaled(evaluations), layers))
        work.pairs += 3 * counts["val_queries"].n * counts["val_candidates"].n * evaluations
        work.parts.append(
            f"{evaluations} validations of {_millions(texts.tokens)} tokens x {layers} layers"
        )

    def _runs(self, execution: Execution, p: dict[str, Any], work: Work, cached: bool) -> None:
        direction_name = p["direction"]
        self.fill(work, direction_name, p, cached)
        seeds = list(p.get("seeds") or [])
        steps, source = self.selected_steps(execution, p)
        layers = self.layers(p.get("top_layers"))
        self.train(work, direction_name, p, steps, len(seeds), layers)
        work.parts[-1] += f" (steps: {source})"
        suites = list(p.get("suites") or [])
        extra = list(p.get("extra_suites") or [])
        with_extra = sum(seed in (p.get("extra_seeds") or []) for seed in seeds) if extra else 0
        for count, chosen in ((len(seeds) - with_extra, suites), (with_extra, suites + extra)):
            if count:
                part = Work()
                self.evaluate_suites(part, chosen, p, layers)
                work.forward += [(s.scaled(count), layers) for s, layers in part.forward]
                work.fixed += part.fixed * count
                work.pairs += part.pairs * count
                work.parts += [f"{count} x {text}" for text in part.parts]

    def _topk(self, execution: Execution, p: dict[str, Any], work: Work, cached: bool) -> None:
        direction_name = p["direction"]
        runs = len(p.get("systems") or []) * len(p.get("seeds") or [])
        steps, source = self.selected_steps(
            execution, {**p, "selection_file": self._selection(execution)}
        )
        self.train(
            work, direction_name, {**p, "top_layers": None}, steps, runs, self.context.n_layers
        )
        work.parts[-1] += f" (whole encoder; steps: {source})"
        if p.get("steps") is not None:  # the top-k models are trained too
            self.train(work, direction_name, p, steps, runs, self.layers(p.get("top_layers")))
        suite = self._test_suite(execution, direction_name)
        counts = self.suite_counts(suite, p)
        share = min(1.0, int(p.get("n_eval_articles") or 1) / max(counts["articles"].n, 1))
        for layers in (self.layers(p.get("top_layers")), self.context.n_layers):
            part = Work()
            self.evaluate_suites(part, [suite], p, layers, share)
            work.forward += [(s.scaled(runs), n) for s, n in part.forward]
            work.fixed += part.fixed * runs
            work.pairs += part.pairs * runs
            work.parts += [f"{runs} x {text} ({share:.0%} of its articles)" for text in part.parts]

    def _selection(self, execution: Execution) -> str:
        from hybridlib.systems import SELECTION_FILE

        for name in execution.depends_on:
            upstream = self.executions.get(name)
            if upstream is not None and self.kind(upstream) == "validate":
                return f"{self.parameters(upstream)['output_dir']}/{SELECTION_FILE}"
        return ""

    def _test_suite(self, execution: Execution, direction_name: str) -> str:
        """The suite that the plan's runs of ``direction_name`` evaluate first."""
        for other in self.executions.values():
            if self.kind(other) == "runs" and other.parameters.get("direction") == direction_name:
                suites = other.parameters.get("suites") or []
                if suites:
                    return str(suites[0])
        from hybridlib import protocol

        chosen: Any = protocol.direction(direction_name)
        suites = getattr(chosen, "test_suites", None) or (chosen.test_suite,)
        return str(suites[0])

    def _debias(self, execution: Execution, p: dict[str, Any], work: Work, cached: bool) -> None:
        from hybridlib import protocol

        models = 1 + len(p.get("systems") or []) * len(p.get("seeds") or [])
        languages = p.get("fit_languages") or protocol.direction(p["direction"]).languages
        counts = self.training_counts(p["direction"], p)
        per_text = (counts["queries"] + counts["passages"]).scaled(
            1 / max(counts["queries"].n + counts["passages"].n, 1)
        )  # one mean text
        fit = per_text.scaled(2 * int(p.get("per_language", 100)) * len(languages) * models)
        layers = self.layers(p.get("top_layers"))
        work.encode(fit, layers)
        methods = list(p.get("methods") or [])
        ranks = sum(len((p.get("ranks") or {}).get(m, [1])) for m in methods)
        suites = len(p.get("suites") or []) + len(p.get("extra_suites") or [])
        work.fixed += DEBIAS_SCORING_SECONDS * suites * max(ranks, 1) * models
        work.parts.append(f"fit {models} models on {_millions(fit.tokens)} tokens x {layers} layers; "
                          f"score {suites} suites x {ranks} method ranks")  # fmt: skip


def _manifest_seconds(store: Path) -> dict[str, float]:
    """Wall seconds of each execution recorded by the last build in ``store``."""
    try:
        records = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
        return {str(r["name"]): float(r["seconds"]) for r in records}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def estimate_plan(
    executions: list[Execution],
    profile: Any,
    root: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    throughput: Throughput | Callable[[ModelContext], Throughput] | None = None,
    cached: Iterable[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> pd.DataFrame:
    """One row per execution, in plan order: ``name``, ``group``
    (:func:`hybridlib.reporting.budget.execution_group`), ``work`` (what it computes),
    ``seconds`` (estimated; 0 for a cached one), ``cached``, ``last_seconds`` (the last
    build's wall time, NaN if none), ``flops`` (the encoder arithmetic of its work,
    :meth:`Work.flops`, cached or not; 0 for a chapter). ``attrs``: ``total_seconds``,
    ``throughput`` (the :class:`Throughput`, or None where nothing needed it),
    ``total_flops`` and ``bound_seconds`` (the arithmetic of the executions still to run at
    the measured matrix-product peak: no implementation of this design is faster; NaN when
    the peak was not measured) and ``problems`` (executions whose work could not be
    computed, estimated as a chapter).

    ``store``: the folder of executed notebooks (default ``runs/<profile>/notebooks``);
    ``cached``: the names already done (default: the runner's own cache check,
    :func:`hybridlib.runner.execute.cached_executions`; ``force``: none).
    ``throughput``: a :class:`Throughput`, or a benchmark ``(context) -> Throughput`` (the
    default measures this machine, cached).
    """
    from hybridlib.reporting.budget import execution_group
    from hybridlib.runner.profiles import machine_parameters

    root = Path(root).resolve()
    store = Path(store) if store is not None else root / "runs" / profile.name / "notebooks"
    if cached is None:
        from hybridlib.runner.execute import cached_executions

        cached = set() if force else cached_executions(executions, root, store)
    done = set(cached)
    common = machine_parameters(profile.common) if profile is not None else {}
    context = ModelContext(str(common.get("model", "tiny")), str(common.get("precision", "float32")),
                           common.get("num_threads"))  # fmt: skip
    estimator = _Estimator(executions, profile, root, context, data_root)
    last = _manifest_seconds(store)
    measured: Throughput | None = throughput if isinstance(throughput, Throughput) else None
    rows, problems = [], []
    for execution in executions:
        is_cached = execution.name in done
        try:
            work = estimator.work(execution, is_cached)
        except Exception as error:  # an estimate never stops a build: it says what it missed
            problems.append(f"{execution.name}: {error}")
            work = None
        if work is None:
            seconds = last.get(execution.name)
            p = estimator.parameters(execution)
            default = BENCHMARK_SECONDS if p.get("run_benchmarks") else CHAPTER_SECONDS
            described = (f"as its last build ({seconds:.0f} s)" if seconds is not None
                         else f"a chapter never built here: {default:.0f} s")  # fmt: skip
            estimate = float(seconds if seconds is not None else default)
            flops = 0.0
        else:
            if measured is None:
                benchmark = benchmark_model if throughput is None else throughput
                assert not isinstance(benchmark, Throughput)  # a given one is ``measured``
                measured = measure_throughput(context, benchmark)
            estimate = work.seconds(measured)
            flops = work.flops(context.layer_shape)
            described = "; ".join(work.parts)
        rows.append({
            "name": execution.name, "group": execution_group(execution.name), "work": described,
            "seconds": 0.0 if is_cached else estimate, "cached": is_cached,
            "last_seconds": last.get(execution.name, math.nan), "flops": flops,
        })  # fmt: skip
    table = pd.DataFrame(
        rows, columns=["name", "group", "work", "seconds", "cached", "last_seconds", "flops"]
    )
    table.attrs["total_seconds"] = float(table["seconds"].sum())
    to_run = float(table.loc[~table["cached"], "flops"].sum())
    table.attrs["total_flops"] = to_run
    peak = measured.peak_flops if measured is not None else 0.0
    table.attrs["bound_seconds"] = to_run / peak if peak > 0 else math.nan
    table.attrs["throughput"] = measured
    table.attrs["problems"] = problems
    return table


# ---------------------------------------------------------------------------------------------
# budget and report


def budget_minutes(profile: Any) -> float | None:
    """The profile's budget for this machine: ``budget_minutes`` itself, or its entry for the
    resolved precision (:func:`~hybridlib.runner.profiles.machine_parameters`); None: none."""
    from hybridlib.runner.profiles import machine_parameters

    budget = getattr(profile, "budget_minutes", None)
    if isinstance(budget, dict):
        precision = machine_parameters(profile.common).get("precision", "float32")
        value = budget.get(precision)
        return float(value) if value is not None else None
    return float(budget) if budget is not None else None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def estimate_report(table: pd.DataFrame, profile: Any, budget: float | None, *,
                    full: bool = False) -> str:  # fmt: skip
    """The estimate as the book prints it: per group (executions, cached, minutes), the total
    and the budget; ``full``: every execution with its work too."""
    lines = []
    machine = table.attrs.get("throughput")
    precision = ""
    if profile is not None:
        from hybridlib.runner.profiles import machine_parameters

        common = machine_parameters(profile.common)
        precision = f", {common.get('model', '?')} in {common.get('precision', '?')}"
    lines.append(f"estimate of profile {getattr(profile, 'name', '?')}{precision}"
                 + (f" (throughput measured on {machine.measured}: {machine.a * 1e6:.3g} us per "
                    f"token and layer, training x{machine.train_factor:.1f})"
                    if machine is not None and machine.measured else "") + ":")  # fmt: skip
    if full:
        width = max((len(n) for n in table["name"]), default=10)
        peak = machine.peak_flops if machine is not None else 0.0
        for row in table.itertuples():
            state = "cached" if row.cached else _minutes(row.seconds)
            share = (f" [{row.flops / peak / row.seconds:.0%} of peak]"
                     if peak > 0 and row.flops > 0 and row.seconds > 0 else "")  # fmt: skip
            lines.append(f"  {row.name:<{width}}  {state:>9}  {row.work}{share}")
    groups = table.groupby("group", sort=False).agg(
        executions=("name", "size"), cached=("cached", "sum"), seconds=("seconds", "sum")
    )
    width = max((len(str(g)) for g in groups.index), default=10)
    for group, row in groups.iterrows():
        lines.append(f"  {group!s:<{width}}  {int(row.executions):>3} executions "
                     f"({int(row.cached)} cached)  {_minutes(float(row.seconds)):>10}")  # fmt: skip
    total = table.attrs.get("total_seconds", float(table["seconds"].sum()))
    lines.append(f"  {'total':<{width}}  {len(table):>3} executions ({int(table['cached'].sum())} "
                 f"cached)  {_minutes(total):>10}; budget: "
                 + (f"{budget:g} min" if budget is not None else "none"))  # fmt: skip
    bound = table.attrs.get("bound_seconds", math.nan)
    if machine is not None and math.isfinite(bound) and bound > 0:
        flops = table.attrs.get("total_flops", 0.0)
        lines.append(
            f"  arithmetic: {flops / 1e12:.0f} TFLOP through the encoder; at this machine's "
            f"matrix-product peak ({machine.peak_flops / 1e9:.0f} GFLOP/s) at least "
            f"{_minutes(bound)}, the bound no implementation of this design passes "
            f"(the estimate: {bound / max(total, 1e-9):.0%} of the peak over the whole build)"
            + ("; the bound alone exceeds the budget: only a smaller design fits"
               if budget is not None and bound > 60 * budget else "")
        )  # fmt: skip
    for problem in table.attrs.get("problems", []):
        lines.append(f"  not estimated from its work (taken as a chapter): {problem}")
    return "\n".join(lines)


def utilisation_table(
    runs_dir: str | os.PathLike[str], profile_name: str, root: str | os.PathLike[str] = ".", *,
    peak_flops: float | None = None, data_root: str | os.PathLike[str] | None = None,
    throughput: Throughput | None = None, profiles_file: str | os.PathLike[str] = "profiles.yaml",
) -> pd.DataFrame:  # fmt: skip
    """Per group of executions and for the whole build: the encoder arithmetic its work
    did (``tflop``, counted from tokens, layers and steps as the estimate counts it,
    :meth:`hybridlib.runner.cost.Work.flops`), its wall ``minutes`` (the runner's manifest),
    the ``estimated`` minutes of :func:`estimate_plan` for the same executions (this
    machine's throughput; the steps the validation chose; a chapter at its recorded time) and
    ``measured / estimated``, and ``utilisation = FLOPs / (wall seconds x peak)``, the share of the machine's
    matrix-product peak (``peak_flops``, FLOP/s in the profile's precision; default: measured
    now, :func:`hybridlib.runner.cost.matmul_peak_flops`). Executions the manifest does not
    hold are left out; chapters count no arithmetic. ``attrs["peak_flops"]``: the peak.
    ``throughput``: given to :func:`estimate_plan` (default: this machine's, cached);
    ``profiles_file``: where the profile is (relative to ``root``)."""
    import torch

    from hybridlib.runner.plan import plan_profile
    from hybridlib.runner.profiles import load_profile, machine_parameters

    root = Path(root).resolve()
    runs_dir = Path(runs_dir)
    profile = load_profile(root / profiles_file, profile_name)
    common = machine_parameters(profile.common)
    if peak_flops is None:
        torch.set_num_threads(int(common.get("num_threads") or torch.get_num_threads()))
        peak_flops = matmul_peak_flops(str(common.get("precision", "float32")), budget=2.0)
    table = estimate_plan(plan_profile(profile), profile, root, store=runs_dir / "notebooks",
                          cached=(), data_root=data_root, throughput=throughput)  # fmt: skip
    table = table[table["last_seconds"].notna()]
    groups = table.groupby("group", sort=False).agg(
        executions=("name", "size"), flops=("flops", "sum"), seconds=("last_seconds", "sum"),
        estimated=("seconds", "sum"),
    )  # fmt: skip
    groups.loc["whole build"] = (len(table), table["flops"].sum(), table["last_seconds"].sum(),
                                 table["seconds"].sum())  # fmt: skip
    result = pd.DataFrame({
        "executions": groups["executions"].astype(int),
        "tflop": groups["flops"] / 1e12,
        "minutes": groups["seconds"] / 60,
        "estimated": groups["estimated"] / 60,
        "measured / estimated": groups["seconds"] / groups["estimated"].clip(lower=1e-9),
        "utilisation": groups["flops"] / (groups["seconds"].clip(lower=1e-9) * peak_flops),
    })  # fmt: skip
    result.index.name = "group"
    result.attrs["peak_flops"] = float(peak_flops)
    return result


def progress_weights(table: pd.DataFrame) -> dict[str, float]:
    """``{execution: estimated seconds}``: what each advances the build's progress bar by."""
    return {str(name): float(seconds) for name, seconds in zip(table["name"], table["seconds"])}
