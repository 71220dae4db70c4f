"""sentence-transformers: the planned batches of :mod:`hybridlib.samplers` and the masked
InfoNCE loss inside ``SentenceTransformerTrainer``.

``SentenceTransformerTrainer`` reads rows of a ``datasets.Dataset`` by integer index, while a
sampler of this library plans items ``(query_idx, passage_idx)``: the query of one training
pair with the passage of a translation of it. :class:`PlannedRows` lays out every item a
sampler can plan as one row (``anchor``, ``positive``, ``label``) and turns each planned
batch into row indices::

    rows = PlannedRows(training_pairs)
    args = SentenceTransformerTrainingArguments(
        output_dir="out", per_device_train_batch_size=32, max_steps=80,
        batch_sampler=rows.batch_sampler(HybridBatchSampler, alpha=0.5, seed=0))
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=rows.dataset(),
        loss=MaskedMultipleNegativesRankingLoss(model, temperature=0.05))

The dataset has one row per ordered pair of training pairs that share a parallel key:
``sum_k m_k ** 2`` rows for keys with ``m_k`` pairs (all languages of a question: 81 rows per
question of XQuAD's nine training languages). ``label`` is ``[parallel key id, passage text
id]``: the loss masks an in-batch passage that is a translation of a row's positive or has its
text, as :func:`hybridlib.losses.info_nce` does in the library's own trainer.

One process only: under several processes the trainer's ``accelerate`` shards batches across
them (one process takes whole steps), which would break the sampler's rule that all ranks
share a step's kind; use :mod:`hybridlib.training` (one global plan sliced per rank) there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from hybridlib.data.types import TrainingPair
from hybridlib.losses.info_nce import DEFAULT_TEMPERATURE, InfoNCELoss
from hybridlib.samplers.hybrid import HybridBatchSampler, PlannedBatch
from hybridlib.samplers.parallel_pairs import ParallelPairs, passage_content_key

COLUMNS = ("anchor", "positive", "label")


class PlannedRows:
    """Every item a sampler can plan over ``pairs``, as rows of a table.

    Row ``r`` is the item ``items[r] = (query_idx, passage_idx)``: both pairs share a parallel
    key. Rows run over the keys in the order of ``ParallelPairs.parallel_keys`` and, within a
    key, over its pairs' indices (query-major), so the same pairs always give the same rows.
    """

    def __init__(self, pairs: ParallelPairs | Sequence[TrainingPair]) -> None:
        self.pairs = pairs if isinstance(pairs, ParallelPairs) else ParallelPairs(pairs)
        items: list[tuple[int, int]] = []
        for members in self.pairs.indices_by_key().values():
            items.extend((int(q), int(p)) for q in members for p in members)
        self.items: list[tuple[int, int]] = items
        self.row_of: dict[tuple[int, int], int] = {item: r for r, item in enumerate(items)}

    def __len__(self) -> int:
        return len(self.items)

    def rows(self, batch: Iterable[tuple[int, int]]) -> list[int]:
        """Row indices of a planned batch of ``(query_idx, passage_idx)`` items."""
        try:
            return [self.row_of[(int(q), int(p))] for q, p in batch]
        except KeyError as error:
            raise ValueError(
                f"item {error.args[0]} is not a row of this table: its two pairs do not "
                "share a parallel key, or the sampler was built on other training pairs"
            ) from None

    def columns(self) -> dict[str, list[Any]]:
        """The table as columns: ``anchor`` (query text), ``positive`` (passage text) and
        ``label`` (``[parallel key id, passage text id]``, int64)."""
        training = self.pairs.training_pairs
        text_ids: dict[str, int] = {}
        anchors, positives, labels = [], [], []
        for q, p in self.items:
            passage = training[p].passage
            content = text_ids.setdefault(passage_content_key(passage), len(text_ids))
            anchors.append(training[q].query)
            positives.append(passage)
            labels.append([int(self.pairs.key_codes[q]), content])
        return {"anchor": anchors, "positive": positives, "label": labels}

    def dataset(self) -> Any:
        """The rows as a ``datasets.Dataset`` (columns :data:`COLUMNS`)."""
        from datasets import Dataset

        return Dataset.from_dict(self.columns())

    def batch_sampler(
        self, sampler_class: type[HybridBatchSampler] = HybridBatchSampler, **options: Any
    ) -> Callable[..., RowBatchSampler]:
        """A ``batch_sampler`` for ``SentenceTransformerTrainingArguments``.

        ``sampler_class(self.pairs, batch_size=..., seed=..., **options)`` is built when the
        trainer asks for it, with the trainer's per-device batch size and, unless ``options``
        give one, its seed. E.g. ``rows.batch_sampler(HybridBatchSampler, alpha=0.5)`` or
        ``rows.batch_sampler(PerPairMixingSampler, alpha=0.5, seed=3)``.
        """
        if "batch_size" in options:
            raise ValueError(
                "batch_size comes from the trainer's per_device_train_batch_size; "
                f"do not pass it here (got batch_size={options['batch_size']!r})"
            )

        def build(
            dataset: Any,
            batch_size: int,
            drop_last: bool = False,
            valid_label_columns: list[str] | None = None,
            generator: torch.Generator | None = None,
            seed: int = 0,
        ) -> RowBatchSampler:
            self.check_dataset(dataset)
            kwargs = {"seed": seed, **options}
            sampler = sampler_class(self.pairs, batch_size=batch_size, **kwargs)
            return RowBatchSampler(sampler, self)

        return build

    def check_dataset(self, dataset: Any) -> None:
        """Refuse a dataset that is not this table (other pairs, other order, other columns)."""
        names = list(getattr(dataset, "column_names", []))
        if names != list(COLUMNS):
            raise ValueError(
                f"the training dataset must have the columns {list(COLUMNS)} of "
                f"PlannedRows.dataset(), but got {names}"
            )
        if len(dataset) != len(self):
            raise ValueError(
                f"the training dataset has {len(dataset)} rows, but these training pairs "
                f"give {len(self)}: build it with PlannedRows(pairs).dataset() from the same pairs"
            )
        training = self.pairs.training_pairs
        for r in sorted({0, len(self) // 2, len(self) - 1}):
            q, p = self.items[r]
            row = dataset[r]
            if row["anchor"] != training[q].query or row["positive"] != training[p].passage:
                raise ValueError(
                    f"row {r} of the training dataset is not item {(q, p)} of these training "
                    "pairs: build it with PlannedRows(pairs).dataset() from the same pairs"
                )


class RowBatchSampler(torch.utils.data.Sampler[list[int]]):
    """A sampler of :mod:`hybridlib.samplers` whose batches are row indices of
    :class:`PlannedRows`; ``len``, ``set_epoch``, ``state_dict`` and ``last_batch`` are the
    wrapped sampler's."""

    def __init__(self, sampler: HybridBatchSampler, rows: PlannedRows) -> None:
        super().__init__()
        self.sampler = sampler
        self.table = rows

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.sampler:
            yield self.table.rows(batch)

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    @property
    def last_batch(self) -> PlannedBatch | None:
        return self.sampler.last_batch

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)


def _token_keys(features: dict[str, torch.Tensor]) -> list[str]:
    """One key per row of tokenized texts: equal for equal token sequences."""
    ids = features["input_ids"].cpu().numpy()
    mask = features.get("attention_mask")
    lengths = mask.sum(dim=1).cpu().numpy() if mask is not None else np.full(len(ids), ids.shape[1])
    return [
        hashlib.blake2b(row[:n].astype(np.int64).tobytes(), digest_size=16).hexdigest()
        for row, n in zip(ids, lengths, strict=True)
    ]


class MaskedMultipleNegativesRankingLoss(torch.nn.Module):
    """:func:`hybridlib.losses.info_nce` as a sentence-transformers loss.

    ``forward(sentence_features, labels)``: ``sentence_features`` are the tokenized
    ``anchor`` and ``positive`` columns (``B`` rows each); scores are ``cos / temperature``
    (``temperature=0.05`` is ``MultipleNegativesRankingLoss``'s ``scale=20``). In-batch
    passage ``j`` is masked out of row ``i`` as a false negative where

    - ``labels[j, 0] == labels[i, 0]``: a translation of row ``i``'s positive (same parallel
      key), and
    - ``labels[j, 1] == labels[i, 1]``: the same passage text,

    with ``labels`` of shape ``(B, 2)`` from :meth:`PlannedRows.dataset`. With ``labels``
    of shape ``(B,)`` it is the parallel key only; without labels (a dataset of plain
    ``anchor``/``positive`` columns) passages are masked where their token ids equal those
    of row ``i``'s positive, the in-batch duplicates that ``MultipleNegativesRankingLoss``
    counts as negatives.
    """

    def __init__(
        self,
        model: Any,
        *,
        temperature: float = DEFAULT_TEMPERATURE,
        symmetric: bool = False,
        margin: float = 0.0,
        gather_across_processes: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        # the library's loss on embeddings (its encoder unused here: the model embeds);
        # gather_across_processes as sentence-transformers' gather_across_devices
        self.contrastive = InfoNCELoss(
            torch.nn.Identity(), temperature=temperature, symmetric=symmetric, margin=margin,
            gather_across_processes=gather_across_processes,
        )  # fmt: skip

    def forward(
        self, sentence_features: Iterable[dict[str, torch.Tensor]], labels: torch.Tensor | None
    ) -> torch.Tensor:
        features = list(sentence_features)
        if len(features) != 2:
            raise ValueError(
                f"expected two text columns (anchor, positive), but got {len(features)}"
            )
        query_emb, passage_emb = (self.model(f)["sentence_embedding"] for f in features)
        parallel_keys, passage_keys = self.keys(labels, features[1])
        keys = {"parallel_keys": parallel_keys, "passage_keys": passage_keys}
        return self.contrastive.loss_from_embeddings(query_emb, passage_emb, None, keys)

    @staticmethod
    def keys(
        labels: torch.Tensor | None, passage_features: dict[str, torch.Tensor]
    ) -> tuple[list[str] | None, list[str]]:
        """The ``(parallel_keys, passage_keys)`` of :func:`info_nce` from the labels."""
        if labels is None:
            return None, _token_keys(passage_features)
        values = labels.detach().cpu().tolist()
        if labels.dim() == 1:
            return [str(v) for v in values], _token_keys(passage_features)
        if labels.dim() == 2 and labels.shape[1] == 2:
            return [str(v[0]) for v in values], [str(v[1]) for v in values]
        raise ValueError(
            "labels must be (B,) parallel key ids or (B, 2) [parallel key id, passage text "
            f"id] rows, but got shape {tuple(labels.shape)}"
        )

    def get_config_dict(self) -> dict[str, Any]:
        """For sentence-transformers' model card."""
        c = self.contrastive
        return {
            "temperature": c.temperature,
            "symmetric": c.symmetric,
            "margin": c.margin,
            "gather_across_processes": c.gather_across_processes,
        }
