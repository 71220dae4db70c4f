"""Training step throughput, peak memory and FLOP-peak fraction: hybridlib vs sentence-transformers.

Ours: the optimizer step :func:`hybridlib.training.train` takes, called as it calls it
(:func:`hybridlib.training.build_training` and :func:`~hybridlib.training.train_step`, with
the defaults of :class:`~hybridlib.training.TrainConfig`):
``InfoNCELoss`` on the encoder's query and
passage embeddings (temperature 0.05, false negatives masked), ``backward`` (the word
embeddings' gradient through the rows the step uses, :class:`hybridlib.models.RowGradients`,
when they train), gradient clipping to norm 1.0, AdamW (lr 3e-5, weight decay 0.01 on
matrices only) and the linear schedule; the encoder skips the padding in its token-wise
layers (:mod:`hybridlib.models.unpadded`). Each optimisation's "before" is timed too: the
same step with the padded forward, and (all weights) with the plain embedding backward. Peer: a ``SentenceTransformer`` built from the same weights folder
(``Transformer`` + mean ``Pooling`` + ``Normalize``) with ``MultipleNegativesRankingLoss``
(scale 20 = temperature 0.05), the same AdamW, clipping and batches; the texts carry the
same ``"query: "`` / ``"passage: "`` prefixes, so both run on the same tokens.

FLOPs per step: the work the batch requires, i.e. on its real tokens (padding excluded,
so an implementation that computes the padding gets no credit for it), counted as the build's
estimate counts it (:class:`hybridlib.runner.cost.LayerShape`: per layer and text of ``t``
tokens, the linear maps ``2 (4 h^2 + 2 h i) t`` and attention ``4 h t^2``; a training step is
3 forward passes). The peak is the FLOP rate of ``torch.mm`` of two 4096 x 4096 fp32
matrices on the same threads (:func:`hybridlib.runner.cost.matmul_peak_flops`), measured next
to each pair of steps (the fastest of two), since the load of a shared machine changes
within minutes.

Peak memory is measured in a fresh process per variant (``ru_maxrss`` after building the
model and optimizer and taking one step, which allocates the gradients and AdamW's
state), since a process's peak cannot be reset.
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import (
    NUM_THREADS,
    Comparison,
    peak_rss_bytes,
    row,
    rss_bytes,
    time_call,
)
from hybridlib.runner.cost import matmul_peak_flops

BENCHMARK = "training_step"
BATCH_SIZE = 32
MAX_LENGTH = 64
PEAK_MATMUL_SIZE = 4096
Batch = dict[str, list[str]]


# ----------------------------------------------------------------------------- FLOPs
def step_flops(config: Any, text_lengths: Sequence[int]) -> float:
    """FLOPs of a training step (3 forward passes) of texts of ``text_lengths`` real tokens
    through every layer of an encoder of Hugging Face ``config`` (the estimate's count)."""
    from hybridlib.runner.cost import LayerShape, TextStats

    shape = LayerShape(config.hidden_size, config.intermediate_size)
    return 3 * shape.flops(TextStats.of(text_lengths), config.num_hidden_layers)


# ----------------------------------------------------------------------------- batches
def training_batches(n_batches: int, batch_size: int = BATCH_SIZE, seed: int = 0) -> list[Batch]:
    """The first ``n_batches`` batches the trainer would take on XQuAD-R (hybrid sampler)."""
    from hybridlib.data import lareqa_training_pairs
    from hybridlib.samplers import ParallelPairs, make_batch_sampler

    pairs = ParallelPairs(lareqa_training_pairs("xquad-r"))
    sampler = make_batch_sampler("hybrid", pairs, batch_size=batch_size, alpha=0.5, seed=seed)
    batches = []
    for indices in sampler:
        batches.append(ParallelPairs.collate([pairs[i] for i in indices]))
        if len(batches) == n_batches:
            break
    return batches


# ----------------------------------------------------------------------------- the two steps
def _config(model: str, frozen: bool, row_gradients: bool = True, *, top_layers: int | None = None,
            precision: str = "float32", max_length: int = MAX_LENGTH) -> Any:  # fmt: skip
    from hybridlib.training import TrainConfig

    return TrainConfig(
        model=model, steps=1, batch_size=BATCH_SIZE, max_length=max_length,
        freeze_word_embeddings=frozen, embedding_row_gradients=row_gradients,
        num_threads=NUM_THREADS, train_top_layers=top_layers, precision=precision,
    )  # fmt: skip


class HybridlibStep:
    """One optimizer step of hybridlib's trainer (see the module docstring)."""

    name = "hybridlib"

    def __init__(
        self,
        model: str,
        frozen: bool,
        total_steps: int = 100,
        row_gradients: bool = True,
        unpadded: bool = True,
        *,
        top_layers: int | None = None,
        precision: str = "float32",
        max_length: int = MAX_LENGTH,
        cache_root: str | None = None,
    ) -> None:
        from hybridlib.models import load_encoder, use_hidden_state_cache
        from hybridlib.training import build_training

        config = _config(model, frozen, row_gradients, top_layers=top_layers, precision=precision,
                         max_length=max_length)  # fmt: skip
        self.config = config
        self.encoder = load_encoder(model, max_length=config.max_length, precision=precision)
        if top_layers is not None:  # as the trainer: a frozen bottom served by the cache
            self.encoder.freeze_bottom(top_layers)
            use_hidden_state_cache(self.encoder, cache_root)
        self.encoder.unpadded = self.encoder.unpadded and unpadded
        self.training = build_training(config, self.encoder, total_steps)  # the trainer's own

    def __call__(self, batch: Batch) -> float:
        from hybridlib.training import train_step

        return train_step(self.training, [batch]).loss  # the step hybridlib train takes

    def batch_shapes(self, batch: Batch) -> list[tuple[int, int]]:
        """``(n, seq)`` of the padded query and passage batches."""
        shapes = []
        for texts, kind in ((batch["queries"], "query"), (batch["passages"], "passage")):
            shapes.append(tuple(self.encoder.tokenize(texts, kind)["input_ids"].shape))
        return shapes

    def text_shapes(self, batch: Batch) -> list[tuple[int, int]]:
        """``(1, tokens)`` of every query and passage: the real tokens, for the FLOP count."""
        shapes = []
        for texts, kind in ((batch["queries"], "query"), (batch["passages"], "passage")):
            mask = self.encoder.tokenize(texts, kind)["attention_mask"]  # (n, seq)
            shapes += [(1, int(length)) for length in mask.sum(dim=1)]
        return shapes


def model_folder(model: str, workdir: str | Path | None = None) -> Path:
    """A weights folder for ``model`` that both libraries can load.

    ``"embedded"`` is the cached build; ``"tiny"`` is saved into ``workdir`` (default: the
    hybridlib cache, once: no temporary folder is left behind); anything else is taken as a
    folder already.
    """
    if model == "embedded":
        from hybridlib.models import build_embedded_model

        return Path(build_embedded_model())
    if model == "tiny":
        from hybridlib.io import cache_root
        from hybridlib.models import load_encoder, save_encoder

        base = Path(workdir) if workdir is not None else cache_root() / "models"
        folder = base / "tiny"
        if not folder.is_dir():
            save_encoder(load_encoder("tiny"), folder)
        return folder
    return Path(model)


def sentence_transformer(folder: str | Path, max_length: int) -> Any:
    """``SentenceTransformer(Transformer(folder) + mean Pooling + Normalize)`` on the CPU, offline."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    # no pooler: unused by mean pooling, and our Encoder loads without it too
    transformer = Transformer(
        str(folder), max_seq_length=max_length, model_kwargs={"add_pooling_layer": False}
    )
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")


class SentenceTransformersStep:
    """One optimizer step with ``MultipleNegativesRankingLoss`` on the same weights and batch."""

    name = "sentence-transformers"

    def __init__(self, folder: str | Path, frozen: bool, prefixes: tuple[str, str]) -> None:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        from hybridlib.training.step import make_optimizer

        config = _config(str(folder), frozen)
        self.config = config
        self.model = sentence_transformer(folder, config.max_length)
        if frozen:
            self.model[0].auto_model.get_input_embeddings().requires_grad_(False)
        self.model.train()
        self.loss_fn = MultipleNegativesRankingLoss(self.model, scale=1.0 / config.temperature)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(config, self.params)  # the same AdamW as ours
        self.query_prefix, self.passage_prefix = prefixes

    def __call__(self, batch: Batch) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        features = [
            self.model.preprocess([self.query_prefix + t for t in batch["queries"]]),
            self.model.preprocess([self.passage_prefix + t for t in batch["passages"]]),
        ]
        loss = self.loss_fn(features, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.config.clip_norm)
        self.optimizer.step()
        return loss.item()


def alternating(
    steps: dict[str, Callable[[Batch], float]],
    batches: Sequence[Batch],
    peak_size: int = PEAK_MATMUL_SIZE,
) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per step of each of ``steps`` on the same batches, taken in turn, and the
    matmul peak (FLOP/s) measured right before each round (the load of a shared machine
    changes within minutes, so the peak is taken next to the steps it is compared with).

    Batch 0 is a warm-up for all (not returned); on batch ``i`` the order of the steps is
    rotated by ``i``, so none always follows another's memory traffic.
    """
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    peaks: list[float] = []
    names = list(steps)
    for i, batch in enumerate(batches):
        if i > 0:
            peaks.append(matmul_peak_flops("float32", budget=math.inf, size=peak_size, most=2))
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, _ = time_call(lambda: steps[name](batch))  # noqa: B023 (called at once, inside the loop)
            if i > 0:
                seconds[name].append(elapsed)
    return seconds, peaks


# ----------------------------------------------------------------------------- memory
def _memory_probe(
    framework: str, folder: str, frozen: bool, prefixes: tuple[str, str], batches: list[Batch]
) -> dict[str, float]:
    """In a fresh process: RSS after building, and the peak RSS over the steps (bytes)."""
    torch.set_num_threads(NUM_THREADS)
    torch.manual_seed(0)
    if framework == HybridlibStep.name:
        step: Callable[[Batch], float] = HybridlibStep(folder, frozen)
    else:
        step = SentenceTransformersStep(folder, frozen, prefixes)
    built = rss_bytes()
    for batch in batches:
        step(batch)
    return {"rss_built": float(built), "peak_rss": float(peak_rss_bytes())}


def prefixes(model: str) -> tuple[str, str]:
    """The query and passage prefixes of a hybridlib encoder (E5: ``"query: "``, ``"passage: "``)."""
    from hybridlib.models import load_encoder

    encoder = load_encoder(model)
    return encoder.prefix("query"), encoder.prefix("passage")


def peak_memory(
    framework: str, folder: Path, frozen: bool, prefixes: tuple[str, str], batches: list[Batch]
) -> dict[str, float]:
    """:func:`_memory_probe` in a new (spawned) process, which loads only that framework's model."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(
            _memory_probe, framework, str(folder), frozen, prefixes, batches
        ).result()


# ----------------------------------------------------------------------------- benchmark
def run(
    *,
    quick: bool,
    model: str = "embedded",
    repeats: int | None = None,
    memory: bool = True,
    batches: list[Batch] | None = None,
    peak_matmul_size: int = PEAK_MATMUL_SIZE,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the training benchmark and its details (FLOP counts, peak, batch shapes)."""
    repeats = repeats or (2 if quick else 5)
    n_batches = repeats + 1  # one warm-up batch
    if batches is None:
        batches = training_batches(n_batches)
    if len(batches) < n_batches:
        raise ValueError(
            f"need {n_batches} batches (1 warm-up + {repeats} repeats), but got {len(batches)}"
        )
    folder = model_folder(model)
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"model": model, "folder": str(folder), "repeats": repeats}

    for frozen in (False, True):
        variant = "frozen word embeddings" if frozen else "all weights"
        log(f"training step: {variant} ({repeats} repeats + 1 warm-up, batch {BATCH_SIZE})")
        torch.manual_seed(0)
        ours = HybridlibStep(model, frozen)
        text_prefixes = (ours.encoder.prefix("query"), ours.encoder.prefix("passage"))
        peer = SentenceTransformersStep(folder, frozen, text_prefixes)
        steps: dict[str, Callable[[Batch], float]] = {"ours": ours, "peer": peer}
        # each optimisation's "before": the same step without it
        befores = {}
        if ours.encoder.unpadded:
            befores["padded forward"] = HybridlibStep(model, frozen, unpadded=False)
        if ours.training.row_gradients is not None:
            befores["plain embedding backward"] = HybridlibStep(model, frozen, row_gradients=False)
        steps.update(befores)
        config = ours.encoder.transformer.config
        flops = [
            step_flops(config, [t for _, t in ours.text_shapes(b)]) for b in batches[1:n_batches]
        ]
        seconds, peak = alternating(steps, batches[:n_batches], peak_matmul_size)
        ours_s, peer_s = seconds["ours"], seconds["peer"]
        rows.append(row(BENCHMARK, f"torch.mm {peak_matmul_size}^2 fp32, next to the {variant} steps",
                        "peak_gflop_per_s", [p / 1e9 for p in peak]))  # fmt: skip
        rows += Comparison(
            BENCHMARK, f"hybridlib, {variant}", f"sentence-transformers, {variant}", "pairs_per_s",
            [BATCH_SIZE / s for s in ours_s], [BATCH_SIZE / s for s in peer_s],
        ).rows()  # fmt: skip
        for before in befores:
            rows += Comparison(
                BENCHMARK, f"hybridlib, {variant}", f"hybridlib, {variant}, {before}",
                "pairs_per_s", [BATCH_SIZE / s for s in ours_s],
                [BATCH_SIZE / s for s in seconds[before]],
            ).rows()[2:]  # fmt: skip
        ours_frac = [f / s / p for f, s, p in zip(flops, ours_s, peak)]
        peer_frac = [f / s / p for f, s, p in zip(flops, peer_s, peak)]
        rows += Comparison(
            BENCHMARK, f"hybridlib, {variant}", f"sentence-transformers, {variant}", "peak_flop_fraction",
            ours_frac, peer_frac,
        ).rows()  # fmt: skip
        rows.append(row(BENCHMARK, variant, "step_gflop", [f / 1e9 for f in flops]))
        real = [sum(t for _, t in ours.text_shapes(b)) / sum(n * t for n, t in ours.batch_shapes(b))
                for b in batches[1:n_batches]]  # fmt: skip
        rows.append(row(BENCHMARK, variant, "real_token_fraction", real))
        details[variant] = {
            "seconds": {"hybridlib": ours_s, "sentence-transformers": peer_s,
                        **{f"hybridlib, {before}": seconds[before] for before in befores}},
            "step_flops": flops,
            "peak_flop_per_s": peak,
            "batch_shapes": [ours.batch_shapes(b) for b in batches[1:n_batches]],
            "real_token_fraction": real,
        }  # fmt: skip
        del ours, peer, steps, befores
        if memory:
            mem = {}
            for framework in (HybridlibStep.name, SentenceTransformersStep.name):
                log(f"training step: peak memory of {framework}, {variant} (fresh process)")
                mem[framework] = peak_memory(framework, folder, frozen, text_prefixes, batches[1:2])
            rows += Comparison(
                BENCHMARK, f"hybridlib, {variant}", f"sentence-transformers, {variant}", "peak_rss_gib",
                [mem[HybridlibStep.name]["peak_rss"] / 2**30],
                [mem[SentenceTransformersStep.name]["peak_rss"] / 2**30],
            ).rows()  # fmt: skip
            details[variant]["memory_bytes"] = mem
    return rows, details
