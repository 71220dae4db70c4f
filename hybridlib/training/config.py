"""The training configuration: a dataclass read from YAML and validated.

A config file holds the fields of :class:`TrainConfig`; the training data go in a ``data:``
section (:class:`DataConfig`). Unknown keys are errors that name the key and suggest the
closest valid one; wrong types and values are errors that name the field and the value::

    model: embedded
    output_dir: runs/hybrid-seed0
    data: {suite: xquad-r, languages: [en, de, ar], fold: 0}
    sampler: hybrid
    alpha: 0.5
    batch_size: 32
    steps: 1000
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from hybridlib.io import MAX_THREADS, did_you_mean
from hybridlib.sampler_specs import SamplerSettingError, sampler_setting
from hybridlib.suites import training_suites

# a run seeds Python, torch and numpy's legacy generator, which takes seeds below 2**32 only
SEED_LIMIT = 2**32


class ConfigError(ValueError):
    """A config file or mapping that cannot be used; the message names the field and value."""


@dataclass
class DataConfig:
    """Where the training pairs come from: a LAReQA suite, or a JSON-lines file of pairs.

    ``fold``: train on the articles of fold ``fold`` of
    ``article_folds(all articles of the suite, n_folds, fold_seed)`` (the other folds are
    held out for evaluation). ``pairs_file``: one JSON object per line with the fields of
    :class:`~hybridlib.data.types.TrainingPair` (``query``, ``passage``, ``language``,
    ``parallel_key``, ``article``, optional ``context``).
    """

    suite: str | None = None
    languages: list[str] | None = None
    articles: list[str] | None = None
    fold: int | None = None
    n_folds: int = 2
    fold_seed: int = 0
    pairs_file: str | None = None
    root: str | None = None

    def __post_init__(self) -> None:
        if (self.suite is None) == (self.pairs_file is None):
            raise ConfigError(
                f"data: give exactly one of 'suite' or 'pairs_file', but got "
                f"suite={self.suite!r}, pairs_file={self.pairs_file!r}"
            )
        if self.suite is not None and self.suite not in training_suites():
            raise ConfigError(
                f"data.suite must be one of {list(training_suites())}, but got {self.suite!r}"
            )
        if self.fold is not None:
            if self.suite is None or self.articles is not None:
                raise ConfigError("data.fold needs data.suite and no data.articles")
            if not 0 <= self.fold < self.n_folds:
                raise ConfigError(
                    f"data.fold must be in [0, n_folds = {self.n_folds}), but got {self.fold}"
                )
        if self.n_folds < 2:
            raise ConfigError(f"data.n_folds must be >= 2, but got {self.n_folds}")
        if self.languages is not None and not self.languages:
            raise ConfigError("data.languages must be a non-empty list (or absent for all)")


@dataclass
class ValidationConfig:
    """Learning curves on held-out training data (never a test suite).

    Every ``every`` optimizer steps (and before the first), the run scores the pairs of
    ``articles`` (articles of ``data.suite`` that the run does not train on): the InfoNCE
    loss over fixed batches of a Hybrid(0.5) sampler (seed 0, the run's batch size, so
    every sampler is scored on the same batches; its first few batches), and mAP in the LAReQA Mono, Cross and Multi
    settings on those articles in the training languages. Written to ``validation_log.jsonl``.
    """

    articles: list[str]
    every: int = 50
    languages: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.articles:
            raise ConfigError("validation.articles must be a non-empty list of article titles")
        _at_least("validation.every", self.every, 1)


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved with the run's provenance).

    Length of the run: ``steps`` optimizer steps, or ``epochs`` passes over the sampler's
    epoch (``steps = epochs * steps_per_epoch // grad_accumulation_steps``); give one.
    ``sampler`` is a registered sampler's name (:mod:`hybridlib.sampler_specs`); ``alpha`` is
    P(X-X batch) of the hybrid sampler (default 0.5, the paper's best), or the share of
    monolingual pairs in every batch of ``per-pair``; for ``x-x`` / ``x-y`` it is 1 / 0 and may
    be left out (:func:`~hybridlib.sampler_specs.sampler_setting` checks all three).
    ``data`` may be left out when the pairs are passed to :func:`~hybridlib.training.train`.
    ``batch_size`` is pairs per rank per micro-batch. ``grad_cache_chunk_size`` switches to
    :class:`~hybridlib.losses.CachedInfoNCELoss` (exact gradients, memory of a chunk);
    ``grad_accumulation_steps`` sums gradients of several batches (each batch its own
    negatives). ``warmup_ratio`` of the steps warm the learning rate up linearly from 0, then
    it decays linearly to 0. ``num_threads`` sets ``torch.set_num_threads`` when given.
    ``freeze_word_embeddings`` leaves the token table out of training; otherwise
    ``embedding_row_gradients`` computes its gradient through the rows each step uses
    (:class:`~hybridlib.models.RowGradients`: the same dense AdamW update, without a dense
    embedding backward per forward pass), where the model allows it.

    ``train_top_layers = k`` trains only the top ``k`` layers (top-k fine-tuning,
    :meth:`~hybridlib.models.Encoder.freeze_bottom`); with ``hidden_state_cache`` the frozen
    bottom's states come from the disk cache (:mod:`hybridlib.models.hidden_states`), filled
    for every training text before the first step, and ``save_top_layers_only`` writes the
    model as its top layers plus a reference to the base. ``precision = "bfloat16"`` runs the
    forward pass under bf16 autocast (fp32 weights, optimizer and loss). ``lr_schedule``:
    ``"linear"`` decays to 0 at the last step; ``"constant"`` holds the peak after warm-up, so
    a run stopped at step ``s`` equals a run of ``s`` steps (early stopping on the validation
    curve). ``symmetric`` and ``margin``: LaBSE's bidirectional loss and additive margin
    (:func:`~hybridlib.losses.info_nce`). ``warmup_steps`` (when given) replaces ``warmup_ratio``. ``kind_schedule`` /
    ``kind_block``: see :class:`~hybridlib.samplers.HybridBatchSampler` (``kind_block`` None:
    the run's steps, at most an epoch, so the run realises alpha exactly). ``alpha_end``
    (a sampler that takes a schedule: ``hybrid``): alpha moves linearly from ``alpha`` to ``alpha_end`` over the
    run (X-X first then X-Y: ``alpha: 1, alpha_end: 0``).
    """

    data: DataConfig | None = None
    model: str = "tiny"
    output_dir: str = "runs/train"
    max_length: int | None = None
    sampler: str = "hybrid"
    alpha: float | None = None
    language_weighting: Literal["uniform", "size"] = "uniform"
    size_temperature: float = 1.0
    batch_size: int = 32
    steps: int | None = None
    epochs: int | None = None
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None
    lr_schedule: Literal["linear", "constant"] = "linear"
    temperature: float = 0.05
    symmetric: bool = False
    margin: float = 0.0
    mask_false_negatives: bool = True
    freeze_word_embeddings: bool = False
    embedding_row_gradients: bool = True
    grad_cache_chunk_size: int | None = None
    grad_accumulation_steps: int = 1
    clip_norm: float | None = 1.0
    seed: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 1
    num_threads: int | None = None
    device: str = "auto"
    train_top_layers: int | None = None
    hidden_state_cache: bool = True
    hidden_state_dtype: Literal["float16", "float32"] = "float16"
    save_top_layers_only: bool = False
    precision: Literal["float32", "bfloat16"] = "float32"
    query_prefix: str | None = None  # None: the model's own (EncoderSettings)
    passage_prefix: str | None = None
    kind_schedule: Literal["exact", "coin"] = "exact"
    kind_block: int | None = None
    alpha_end: float | None = None
    validation: ValidationConfig | None = None

    def __post_init__(self) -> None:
        try:  # the one check of sampler, alpha and alpha_end
            setting = sampler_setting(self.sampler, self.alpha, self.alpha_end)
        except SamplerSettingError as error:
            raise ConfigError(str(error)) from None
        self.sampler, self.alpha, self.alpha_end = setting.sampler, setting.alpha, setting.alpha_end
        if (self.steps is None) == (self.epochs is None):
            raise ConfigError(
                f"give exactly one of 'steps' or 'epochs', but got steps={self.steps}, "
                f"epochs={self.epochs}"
            )
        _at_least("steps", self.steps, 1)
        _at_least("epochs", self.epochs, 1)
        _at_least("batch_size", self.batch_size, 2)
        _at_least("max_length", self.max_length, 2)
        _at_least("grad_cache_chunk_size", self.grad_cache_chunk_size, 1)
        _at_least("grad_accumulation_steps", self.grad_accumulation_steps, 1)
        if not 0 <= self.seed < SEED_LIMIT:
            raise ConfigError(f"seed must be in [0, 2**32), but got {self.seed}")
        _at_least("checkpoint_every", self.checkpoint_every, 1)
        _at_least("keep_checkpoints", self.keep_checkpoints, 1)
        _at_least("log_every", self.log_every, 1)
        if self.num_threads is not None and not 1 <= self.num_threads <= MAX_THREADS:
            raise ConfigError(
                f"num_threads must be in [1, {MAX_THREADS}] (or null), but got {self.num_threads}"
            )
        _at_least("warmup_steps", self.warmup_steps, 0)
        _at_least("train_top_layers", self.train_top_layers, 1)
        _at_least("kind_block", self.kind_block, 1)
        if self.save_top_layers_only and self.train_top_layers is None:
            raise ConfigError("save_top_layers_only needs train_top_layers (a frozen bottom)")
        if setting.spec.per_pair and self.kind_block is not None:
            raise ConfigError(
                f"kind_block applies to whole-batch kinds; sampler {self.sampler!r} mixes inside "
                f"each batch, but got kind_block={self.kind_block}"
            )
        for name in ("lr", "temperature", "size_temperature"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be > 0, but got {value}")
        if not (math.isfinite(self.margin) and self.margin >= 0):
            raise ConfigError(f"margin must be >= 0, but got {self.margin}")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, but got {self.weight_decay}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1), but got {self.warmup_ratio}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ConfigError(
                f"clip_norm must be > 0 (or null for no clipping), but got {self.clip_norm}"
            )
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ConfigError(
                f"device must be 'auto', 'cpu' or 'cuda[:N]', but got {self.device!r}"
            )

    # ------------------------------------------------------------------------ reading
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> TrainConfig:
        """Validate a mapping (e.g. parsed YAML); errors start with ``source``."""
        try:
            return _build(cls, data, prefix="")
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a YAML file (safe loader; a key given twice is an error) and validate it."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the config ({error.strerror})") from None
        from hybridlib.io import load_yaml

        try:
            data = load_yaml(text, str(path))
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML ({error})") from None
        except ValueError as error:  # a key given twice
            raise ConfigError(str(error)) from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path}: the config must be a mapping of keys, but got {type(data).__name__}"
            )
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-ready); ``from_dict(to_dict())`` gives an equal config."""
        return dataclasses.asdict(self)


def _at_least(name: str, value: int | None, minimum: int) -> None:
    if value is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, but got {value}")


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, but got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = did_you_mean(str(key), fields, "{}")  # the closest key, or ""
            hint = f"; did you mean {prefix}{close!r}?" if close else ""
            raise ConfigError(
                f"unknown key {prefix}{key!r}{hint} (valid keys: {', '.join(sorted(fields))})"
            )
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing required key {prefix}{name!r}")
            continue
        values[name] = _convert(data[name], hints[name], f"{prefix}{name}")
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(str(error)) from None


def _convert(value: Any, annotation: Any, name: str) -> Any:
    """Check ``value`` against a type annotation; returns the (possibly converted) value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, name)
    if dataclasses.is_dataclass(annotation):
        return _build(typing.cast(type, annotation), value, prefix=f"{name}.")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{name} must be one of {list(args)}, but got {value!r}")
        return value
    if origin is list:
        (inner,) = args
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list, but got {value!r}")
        return [_convert(item, inner, f"{name}[{i}]") for i, item in enumerate(value)]
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, but got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, but got {value!r}")
        return value
    if annotation is float:
        # YAML 1.1 reads "3e-5" (no dot) as a string: accept numeric strings for floats
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, but got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, but got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {annotation!r} for {name}")  # a bug, not a user error
