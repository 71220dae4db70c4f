"""The trainer: pairs -> sampler -> DataLoader -> InfoNCE -> AdamW; resumable, multi-process.

A run writes into ``output_dir``::

    config.json            the validated config
    train_log.jsonl        one JSON object per optimizer step: step, loss, lr, grad_norm,
                           batch_kind, languages (one per micro-batch), epoch, seconds,
                           cpu_seconds (rank 0; other ranks: train_log.rank{r}.jsonl)
    checkpoints/step-00000500.pt   model, optimizer, scheduler, sampler and RNG states
                           (hybridlib.training.checkpoints)
    validation_log.jsonl   with a validation section: step, val_loss, map_mono, map_cross,
                           map_multi, map_mean (before the first step and every few steps)
    model/                 the final encoder (save_encoder; top layers only with
                           save_top_layers_only)
    provenance.json        code version, config, seed, packages, data hash, final loss

Resuming (``resume=True``) loads the latest checkpoint and continues; the result is bit for
bit the weights of an uninterrupted run (same machine, same thread count). Every file is
written atomically, so a killed process leaves the last complete checkpoint.

Several processes (``torchrun --nproc-per-node N``): each rank takes its slice of every
global batch from a rank-aware sampler (all ranks draw the same batch kind at each step),
scores against the passages of all ranks (:func:`~hybridlib.losses.gather_with_grad`), and
torch's DistributedDataParallel averages the parameter gradients over ranks during the
backward pass, before clipping, so the update is the single-process update of the whole
global batch (:mod:`hybridlib.training.step`). gloo on CPU, nccl on GPU.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from hybridlib.data.pairs import pairs_sha256, read_pairs_file
from hybridlib.data.types import TrainingPair
from hybridlib.io import atomic_write_json, atomic_write_text, provenance
from hybridlib.losses.distributed import world_size_and_rank
from hybridlib.training.checkpoints import (
    CHECKPOINT_DIR,
    checkpoint_paths,
    config_differences,
    newest_valid_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from hybridlib.training.config import ConfigError, DataConfig, TrainConfig
from hybridlib.training.step import Training, build_training, distribute, train_step

if TYPE_CHECKING:
    from hybridlib.models import Encoder
    from hybridlib.samplers.strategies import PlanningSampler
    from hybridlib.training.validation import Validator

LOG_FILE = "train_log.jsonl"
VALIDATION_LOG = "validation_log.jsonl"
MODEL_DIR = "model"


@dataclass
class TrainResult:
    """What a run produced: a finished one its model in ``model_dir``; one paused at
    ``stop_at`` (``finished`` False) a checkpoint at ``steps`` instead, and no model yet."""

    model_dir: Path
    log_file: Path
    steps: int
    final_loss: float
    resumed_from: int | None
    finished: bool = True


# ----------------------------------------------------------------------------- data
def load_training_pairs(data: DataConfig) -> list[TrainingPair]:
    """The training pairs a :class:`DataConfig` names (a training suite of the registry,
    :func:`hybridlib.suites.training_suites`, with languages, articles or fold; or a file)."""
    if data.pairs_file is not None:
        return read_pairs_file(data.pairs_file)
    from hybridlib.data import article_folds
    from hybridlib.suites import suite_spec

    suite = data.suite
    assert suite is not None  # DataConfig holds exactly one of pairs_file and suite
    load = suite_spec(suite).training_pairs
    assert load is not None  # DataConfig admits training suites only

    articles = None if data.articles is None else list(data.articles)
    if data.fold is not None:
        every = load(data.languages, None, data.root)
        folds = article_folds({p.article for p in every}, n_folds=data.n_folds, seed=data.fold_seed)
        articles = list(folds[data.fold])
    try:  # a suite refuses what it never trains on (XM3600: a validation or test image)
        pairs = load(data.languages, articles, data.root)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if data.articles is not None:
        from hybridlib.io import did_you_mean

        known = {p.article for p in load(data.languages, None, data.root)}
        unknown = [a for a in data.articles if a not in known]
        if unknown:
            hint = did_you_mean(unknown[0], known, " (did you mean {!r}?)")
            raise ConfigError(
                f"data.articles: {len(unknown)} article(s) not in {suite} in the chosen "
                f"languages, e.g. {unknown[0]!r}{hint}"
            )
    if not pairs:
        raise ConfigError(f"data: no training pair in {suite} for languages {data.languages} "
                          f"and the chosen articles")  # fmt: skip
    return pairs


# ----------------------------------------------------------------------------- processes
def _setup_distributed(device_setting: str) -> tuple[int, int, torch.device, bool]:
    """Join the torchrun process group when ``WORLD_SIZE > 1``.

    Returns ``(world, rank, device, created)``; ``created``: this call made the group.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_setting == "auto":
        device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(device_setting)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"device {device_setting!r}: this torch ({torch.__version__}) sees no CUDA device; "
                "use 'cpu' or 'auto'"
            )
    created = world > 1 and not dist.is_initialized()
    if created:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world, rank = world_size_and_rank()
    return world, rank, device, created


# ----------------------------------------------------------------------------- states
def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _truncate_log(path: Path, step: int) -> None:
    """Keep the log lines of steps <= ``step`` (drops steps after the checkpoint and a
    line cut short by a kill)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("step", step + 1) <= step:
            kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))


# ----------------------------------------------------------------------------- training
def train(
    config: TrainConfig,
    *,
    pairs: Sequence[TrainingPair] | None = None,
    resume: bool = False,
    show_progress: bool | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train ``config.model`` on ``pairs`` (default: the pairs ``config.data`` names).

    ``resume``: continue from the latest checkpoint in ``config.output_dir`` (start afresh
    when there is none). Without it, an ``output_dir`` that already holds checkpoints or a
    model is an error, so two runs never mix. One run at a time writes an ``output_dir``:
    a second one started while the first runs is refused at once
    (:class:`~hybridlib.io.FolderBusyError`, naming the first); the first process of a
    multi-process run holds the lock.

    ``stop_at``: pause after this optimizer step (below the run's total), leaving a checkpoint
    there and no model; ``resume=True`` later continues it, bit for bit the uninterrupted run
    (successive halving pauses the validation grid's runs this way).
    """
    from hybridlib.io import only_writer

    if stop_at is not None and stop_at < 1:
        raise ConfigError(f"stop_at must be a step >= 1, but got {stop_at}")
    if os.environ.get("RANK", "0") != "0":
        return _train(config, pairs, resume, show_progress, stop_at)
    with only_writer(config.output_dir, "training output"):
        return _train(config, pairs, resume, show_progress, stop_at)


@dataclass(frozen=True)
class _Run:
    """What the steps of one run share: its config, this process's place among the ranks,
    and its files."""

    config: TrainConfig
    world: int
    rank: int
    output_dir: Path
    log_file: Path  # rank 0: train_log.jsonl; rank r: train_log.rank{r}.jsonl


def _train(
    config: TrainConfig,
    pairs: Sequence[TrainingPair] | None,
    resume: bool,
    show_progress: bool | None,
    stop_at: int | None,
) -> TrainResult:
    """:func:`train`'s work, with the output folder's lock held: the output folder checked,
    the data, model and optimizer built, the checkpoint restored, the steps run, the model
    saved with its provenance (or, paused at ``stop_at``, a checkpoint there)."""
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    world, rank, device, created_group = _setup_distributed(config.device)
    output_dir = Path(config.output_dir)
    run = _Run(config, world, rank, output_dir,
               output_dir / (LOG_FILE if rank == 0 else f"train_log.rank{rank}.jsonl"))  # fmt: skip
    checkpoint, skipped = _resume_state(run, resume)
    training_pairs = _training_pairs(config, pairs)
    sampler, loader = _batch_loader(run, training_pairs)
    total_steps = _total_steps(config, sampler)
    encoder = _load_encoder(config, device, training_pairs, show_progress)
    training = build_training(config, encoder, total_steps)
    validator = (
        _validator(config, training_pairs) if config.validation is not None and rank == 0 else None
    )
    step = _start(run, training, sampler, checkpoint)
    del checkpoint
    distribute(training)  # DDP around the encoder when there are several ranks
    resumed_from = step or None
    until = total_steps if stop_at is None else min(stop_at, total_steps)
    loss_value = _run_steps(run, training, sampler, loader, validator, step, total_steps,
                            show_progress, until)  # fmt: skip
    model_dir = output_dir / MODEL_DIR
    finished = until == total_steps
    if not finished:  # paused: the checkpoint at `until` is where it resumes
        if until % config.checkpoint_every and until > step:  # not written by the loop
            save_checkpoint(output_dir, until, config, world, rank, training.encoder,
                            training.optimizer, training.scheduler, sampler)  # fmt: skip
    elif rank == 0:
        parameters = {
            **config.to_dict(), "world_size": world, "total_steps": total_steps,
            "final_loss": loss_value, "resumed_from_step": resumed_from,
            "skipped_checkpoints": skipped,
        }  # fmt: skip
        _save_model(config, encoder, training_pairs, parameters, pairs_given=pairs is not None)
    if world > 1:
        dist.barrier()
    if created_group:
        dist.destroy_process_group()
    return TrainResult(model_dir, run.log_file, until, loss_value, resumed_from, finished)


# ----------------------------------------------------------------------------- the steps
def _resume_state(run: _Run, resume: bool) -> tuple[dict[str, Any] | None, list[str]]:
    """The checkpoint to resume from (None: start afresh) and why newer ones were skipped.

    Removes the temporaries a killed run left; refuses a folder that holds a run unless
    ``resume``, and a checkpoint of another config or another number of processes."""
    from hybridlib.io import remove_stale_temporaries

    output_dir = run.output_dir
    for folder in (output_dir, output_dir / CHECKPOINT_DIR):  # left by a killed run of this step
        remove_stale_temporaries(folder)
    existing = checkpoint_paths(output_dir)
    if not resume and (existing or (output_dir / MODEL_DIR).exists()):
        raise ConfigError(
            f"output_dir {str(output_dir)!r} already holds a run ({len(existing)} checkpoints); "
            "resume it with --resume or choose another output_dir"
        )
    checkpoint: dict[str, Any] | None = None
    skipped: list[str] = []
    if resume and existing:
        latest, checkpoint, skipped = newest_valid_checkpoint(output_dir)
        for reason in skipped:
            print(f"hybridlib train: skipped checkpoint {reason}", file=sys.stderr)
        existing = [latest] if latest is not None else []
    if checkpoint is not None:
        different = config_differences(checkpoint["config"], run.config.to_dict())
        if different:
            raise ConfigError(
                f"cannot resume {existing[-1]}: the config differs in {different}; "
                "use the config of the interrupted run"
            )
        if checkpoint["world_size"] != run.world:
            raise ConfigError(
                f"cannot resume {existing[-1]}: it was written by {checkpoint['world_size']} "
                f"processes, but this run has {run.world}"
            )
    return checkpoint, skipped


def _training_pairs(
    config: TrainConfig, pairs: Sequence[TrainingPair] | None
) -> list[TrainingPair]:
    """``pairs`` when given, else the pairs ``config.data`` names."""
    if pairs is not None:
        return list(pairs)
    if config.data is not None:
        return load_training_pairs(config.data)
    raise ConfigError("no training data: give the config a 'data' section or pass pairs")


def _batch_loader(
    run: _Run, training_pairs: list[TrainingPair]
) -> tuple[PlanningSampler, DataLoader]:
    """This rank's batch sampler over ``training_pairs`` and the loader that collates its
    batches."""
    from hybridlib.samplers import ParallelPairs, make_batch_sampler

    config, world, rank = run.config, run.world, run.rank
    dataset = ParallelPairs(training_pairs)
    sampler = make_batch_sampler(
        config.sampler,
        dataset,
        batch_size=config.batch_size,
        alpha=config.alpha,
        seed=config.seed,
        num_replicas=world,
        rank=rank,
        language_weighting=config.language_weighting,
        size_temperature=config.size_temperature,
        kind_schedule=config.kind_schedule,
        kind_block=_kind_block(config, dataset, world),
        **({} if config.alpha_end is None else {"alpha_end": config.alpha_end}),
    )
    # in-process loading (the sampler's position is then exact); its own generator, because
    # every iter(DataLoader) draws a seed from the given (default: global) RNG, and a
    # resumed run must not draw one where the uninterrupted run did not
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=ParallelPairs.collate,
        num_workers=0,
        generator=torch.Generator().manual_seed(config.seed),
    )
    return sampler, loader


def _kind_block(config: TrainConfig, dataset: Sized, world: int) -> int | None:
    """The sampler's kind block: with the ``exact`` kind schedule, the config's or
    :func:`_run_block`; None otherwise, and for a per-pair sampler (it draws no batch kinds)."""
    from hybridlib.sampler_specs import sampler_spec

    if config.kind_schedule != "exact" or sampler_spec(config.sampler).per_pair:
        return None
    return config.kind_block or _run_block(config, dataset, world)


def _total_steps(config: TrainConfig, sampler: PlanningSampler) -> int:
    """The run's optimizer steps: ``config.steps``, or its epochs of the sampler's batches."""
    if sampler.steps_per_epoch < 1:
        raise ConfigError(f"the sampler has no batch in an epoch: {sampler!r}")
    epochs = config.epochs or 0  # the config holds exactly one of steps and epochs
    total_steps = config.steps or epochs * sampler.steps_per_epoch // config.grad_accumulation_steps
    if total_steps < 1:
        raise ConfigError(
            f"epochs={config.epochs} of {sampler.steps_per_epoch} batches make no optimizer step "
            f"with grad_accumulation_steps={config.grad_accumulation_steps}"
        )
    return total_steps


def _load_encoder(
    config: TrainConfig, device: torch.device, training_pairs: list[TrainingPair],
    show_progress: bool | None,
) -> Encoder:  # fmt: skip
    """``config.model`` on ``device``; with ``train_top_layers`` its bottom frozen, and with
    ``hidden_state_cache`` the frozen part's states of every training text cached."""
    from hybridlib.models import load_encoder, use_hidden_state_cache

    encoder = load_encoder(
        config.model,
        max_length=config.max_length,
        precision=config.precision,
        device=device,
        query_prefix=config.query_prefix,
        passage_prefix=config.passage_prefix,
    )
    if config.train_top_layers is not None:
        encoder.freeze_bottom(config.train_top_layers)
        if config.hidden_state_cache:
            cache = use_hidden_state_cache(encoder, dtype=config.hidden_state_dtype)
            cache.fill([p.query for p in training_pairs], "query", show_progress=show_progress)
            cache.fill([p.passage for p in training_pairs], "passage", show_progress=show_progress)
    return encoder


def _validator(config: TrainConfig, training_pairs: list[TrainingPair]) -> Validator:
    """The learning curve's :class:`~hybridlib.training.validation.Validator` of
    ``config.validation``, whose articles must be held out of ``training_pairs``."""
    from hybridlib.training.validation import Validator

    assert config.validation is not None
    validator = Validator.from_articles(
        config.data.suite if config.data is not None and config.data.suite else "",
        config.validation.articles,
        config.validation.languages or (config.data.languages if config.data else None),
        config.batch_size,
        root=config.data.root if config.data is not None else None,
    )
    overlap = sorted(set(config.validation.articles) & {p.article for p in training_pairs})
    if overlap:
        raise ConfigError(
            f"validation.articles must be held out of training, but {len(overlap)} are "
            f"trained on, e.g. {overlap[0]!r}"
        )
    return validator


def _start(
    run: _Run, training: Training, sampler: PlanningSampler, checkpoint: dict[str, Any] | None
) -> int:
    """Seed this rank, then restore ``checkpoint`` (model, optimizer, schedule, sampler, RNG;
    its log cut back to it) or start afresh (log removed, config written). Returns the step
    the run continues from."""
    _seed_everything(run.config.seed + run.rank)
    if checkpoint is None:
        if run.log_file.exists():
            run.log_file.unlink()
        if run.rank == 0:
            atomic_write_json(run.output_dir / "config.json", run.config.to_dict())
        return 0
    encoder = training.encoder
    encoder.load_state_dict(checkpoint["model"], strict=encoder.top_layers is None)
    training.optimizer.load_state_dict(checkpoint["optimizer"])
    training.scheduler.load_state_dict(checkpoint["scheduler"])
    sampler.load_state_dict(checkpoint["sampler"])
    set_rng_state(checkpoint["rng"][run.rank])
    step = int(checkpoint["step"])
    _truncate_log(run.log_file, step)
    return step


def _run_steps(
    run: _Run, training: Training, sampler: PlanningSampler, loader: DataLoader,
    validator: Validator | None, step: int, total_steps: int, show_progress: bool | None,
    until: int,
) -> float:  # fmt: skip
    """Optimizer steps ``step + 1 .. until`` of the run's ``total_steps``: each logged (every
    ``log_every``), followed by the validation hook and, every ``checkpoint_every``, a
    checkpoint. Returns the last step's loss, the mean over ranks (NaN when no step ran)."""
    config = run.config
    batches = _endless(loader, sampler)
    # tqdm's disable=None: shown on a terminal only
    disable = True if run.rank != 0 else (None if show_progress is None else not show_progress)
    progress = tqdm(total=total_steps, initial=step, desc="training", unit="step", disable=disable)
    loss_value = float("nan")
    run.log_file.parent.mkdir(parents=True, exist_ok=True)
    curve = _LearningCurve(validator, run, step, total_steps) if validator is not None else None
    if step == 0 and curve is not None:
        curve.record(training, step)
    with progress, open(run.log_file, "a", encoding="utf-8") as log:
        while step < until:
            started, started_cpu = time.perf_counter(), time.process_time()
            lr = training.scheduler.get_last_lr()[0]
            micro_batches = [next(batches) for _ in range(config.grad_accumulation_steps)]
            planned = [info for _, info in micro_batches]
            result = train_step(training, [batch for batch, _ in micro_batches])
            step += 1
            loss_value = _mean_over_ranks(result.loss, run.world)
            if step % config.log_every == 0 or step == total_steps:
                record = {
                    "step": step,
                    "loss": loss_value,
                    "lr": lr,
                    "grad_norm": result.grad_norm,
                    "batch_kind": [str(p.kind) for p in planned],
                    "languages": [list(p.languages) for p in planned],
                    "epoch": sampler.epoch,
                    "seconds": round(time.perf_counter() - started, 4),
                    # CPU time of all this process's threads (on a shared machine, the
                    # wall-clock seconds above include waiting for a core)
                    "cpu_seconds": round(time.process_time() - started_cpu, 4),
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
            progress.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", refresh=False)
            progress.update(1)
            if curve is not None:
                curve.record(training, step)
            if step % config.checkpoint_every == 0 and step < total_steps:
                save_checkpoint(run.output_dir, step, config, run.world, run.rank,
                                training.encoder, training.optimizer, training.scheduler,
                                sampler)  # fmt: skip
    return loss_value


def _mean_over_ranks(loss: float, world: int) -> float:
    """The loss of the global batch: this rank's ``loss`` averaged over the ``world`` ranks."""
    if world == 1:
        return loss
    total = torch.tensor([loss], dtype=torch.float64)
    dist.all_reduce(total)
    return total.item() / world


class _LearningCurve:
    """The validation hook: ``validation_log.jsonl``, one line per validated step (before
    the first step, every ``validation.every`` steps and at the last)."""

    def __init__(self, validator: Validator, run: _Run, step: int, total_steps: int) -> None:
        assert run.config.validation is not None
        self.validator, self.total_steps = validator, total_steps
        self.every = run.config.validation.every
        self.file = run.output_dir / VALIDATION_LOG
        if step == 0:  # a fresh run: no curve yet; a resumed one: cut back to its checkpoint
            self.file.unlink(missing_ok=True)
        else:
            _truncate_log(self.file, step)

    def record(self, training: Training, step: int) -> None:
        """Validate at ``step`` when it is due, appending the line."""
        if step % self.every and step != self.total_steps:
            return
        record = {"step": step, **self.validator(training.encoder, training.loss_fn)}
        with open(self.file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def _save_model(
    config: TrainConfig, encoder: Encoder, training_pairs: list[TrainingPair],
    parameters: dict[str, Any], *, pairs_given: bool,
) -> None:  # fmt: skip
    """Rank 0's end of a run: the model (recording what it trained on) under ``model/``, then
    ``provenance.json``: ``parameters`` and what the training data was."""
    # the model carries what it trained on: evaluation's leakage guard reads it (imported
    # here so that importing the trainer pulls in no evaluation package)
    from hybridlib.evaluation.leakage import record_training
    from hybridlib.models import save_encoder
    from hybridlib.models.hidden_states import HiddenStateCache
    from hybridlib.run_records import trained_identity

    output_dir = Path(config.output_dir)
    record_training(
        encoder, (p.article for p in training_pairs), (p.language for p in training_pairs),
        run=trained_identity(config.sampler, config.alpha, config.seed, config.alpha_end),
    )  # fmt: skip
    save_encoder(encoder, output_dir / MODEL_DIR, top_layers_only=config.save_top_layers_only)
    parameters = {
        **parameters,
        "n_training_pairs": len(training_pairs),
        "training_pairs_sha256": pairs_sha256(training_pairs),
        "model_name": encoder.name,
        "training_articles": sorted({p.article for p in training_pairs}),
        "training_languages": sorted({p.language for p in training_pairs}),
        "hidden_state_cache": encoder.hidden_cache.info()
        if isinstance(encoder.hidden_cache, HiddenStateCache)
        else None,
    }
    pairs_file = config.data.pairs_file if not pairs_given and config.data is not None else None
    data_files = {"pairs_file": pairs_file} if pairs_file else None
    atomic_write_json(
        output_dir / "provenance.json",
        provenance(parameters, seed=config.seed, data_files=data_files),
    )


def _run_block(config: TrainConfig, dataset: Sized, world: int) -> int:
    """The sampler's kind block when the config gives none: the run's batches, at most an
    epoch (so a run shorter than an epoch realises alpha exactly)."""
    per_epoch = max(1, len(dataset) // (config.batch_size * world))
    if config.steps is None:
        return per_epoch
    return max(1, min(per_epoch, config.steps * config.grad_accumulation_steps))


def _endless(loader: DataLoader, sampler: Any) -> Iterator[tuple[dict[str, list[str]], Any]]:
    """``(batch, planned batch)`` forever; the sampler moves to the next epoch after each pass."""
    while True:
        for batch in loader:
            yield batch, sampler.last_batch
