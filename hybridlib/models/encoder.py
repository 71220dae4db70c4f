"""One sentence encoder around any Hugging Face transformer: pooling, prefixes, normalisation.

An :class:`Encoder` maps texts to L2-normalised vectors::

    h = transformer(input_ids, attention_mask).last_hidden_state   # (n, seq, hidden)
    mean pooling:  e = sum_t mask[t] * h[t] / sum_t mask[t]         # (n, hidden)
    cls pooling:   e = h[:, 0]                                      # (n, hidden)
    output:        e / ||e||_2

Queries and passages may carry different prefixes (E5: ``"query: "`` / ``"passage: "``).
What decides an embedding besides the weights is
:class:`~hybridlib.models.settings.EncoderSettings`; saving and loading folders is
:mod:`hybridlib.models.loading` (``load_encoder``, ``save_encoder``), and the disk cache of a
frozen bottom's states :mod:`hybridlib.models.hidden_states`; this module imports neither.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hybridlib.models.row_gradients import RowGradients
from hybridlib.models.sentence_layout import (
    DenseHead,
)
from hybridlib.models.settings import KINDS, EncoderSettings, Kind, position_limit
from hybridlib.models.unpadded import supports_unpadding, unpadded_hidden_states

HEAD_PREFIX = "dense_head."  # the dense head's tensors' names in a top-layers file


def state_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over named tensors (name, dtype, shape and bytes of each, sorted by name)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


class HiddenCache(Protocol):
    """What the encoder asks of a cache of its frozen bottom's states
    (:class:`hybridlib.models.hidden_states.HiddenStateCache`)."""

    def lookup(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The states entering the split layer for a tokenized batch: ``(n, s, h)``."""
        ...

    def fill_ids(
        self,
        ids: Sequence[Sequence[int]],
        kind: str,
        *,
        batch_size: int,
        show_progress: bool | None,
    ) -> int:
        """Compute and store the states of every token-id row not yet cached."""
        ...


class Encoder(torch.nn.Module):
    """A transformer plus tokenizer that embeds texts as L2-normalised vectors.

    ``encode`` is for inference (numpy, batched, input order); ``embed`` / ``embed_tokens``
    keep gradients for training.
    """

    # a Hugging Face encoder, used duck-typed: .config, .embeddings, .encoder.layer, forward
    transformer: Any

    def __init__(
        self,
        transformer: Any,
        tokenizer: Any,
        settings: EncoderSettings,
        head: DenseHead | None = None,
    ):
        super().__init__()
        if tokenizer.pad_token_id is None:
            raise ValueError(f"the tokenizer of {settings.name!r} has no pad token")
        limit = position_limit(transformer.config)
        if limit is not None and settings.max_length > limit:
            raise ValueError(
                f"max_length must be <= {limit} for {settings.name!r} "
                f"(max_position_embeddings={transformer.config.max_position_embeddings}), "
                f"but got {settings.max_length}"
            )
        self.transformer = transformer
        if head is not None:
            settings = dataclasses.replace(settings, head=head.config())
        elif settings.head is not None:
            raise ValueError(
                f"the settings of {settings.name!r} name a dense head {settings.head}, "
                "but no head weights were given"
            )
        self.head = head  # after pooling, before normalising (see EncoderSettings.head)
        self.tokenizer = tokenizer
        self.settings = settings
        self.row_gradients: RowGradients | None = None  # see use_row_gradients
        # skip the padding in the token-wise layers (hybridlib.models.unpadded) where the
        # architecture allows; False: the model's own forward
        self.unpadded: bool = supports_unpadding(transformer)
        # top-k fine-tuning (freeze_bottom): how many top layers train; None: all of them
        self.top_layers: int | None = None
        # the frozen bottom's states from disk (hidden_states.use_hidden_state_cache sets it)
        self.hidden_cache: HiddenCache | None = None
        self.source: str = settings.name  # what load_encoder loaded (a name or a folder)
        self.train(transformer.training)  # loaded models start in eval mode; keep it

    # ---------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def dim(self) -> int:
        if self.head is not None:
            return int(self.head.linear.out_features)
        return int(self.transformer.config.hidden_size)

    @property
    def n_layers(self) -> int:
        return len(self.transformer.encoder.layer)

    @property
    def split_layer(self) -> int:
        """The first layer that trains (0 unless :meth:`freeze_bottom` froze a bottom)."""
        return 0 if self.top_layers is None else self.n_layers - self.top_layers

    @property
    def pooling(self) -> str:
        return self.settings.pooling

    @property
    def max_length(self) -> int:
        return self.settings.max_length

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    def prefix(self, kind: Kind) -> str:
        """The prefix prepended to texts of this kind."""
        if kind == "query":
            return self.settings.query_prefix
        if kind == "passage":
            return self.settings.passage_prefix
        raise ValueError(f"kind must be one of {KINDS}, but got {kind!r}")

    def word_embeddings(self) -> torch.nn.Embedding:
        """The token embedding table (e.g. to freeze it: ``requires_grad_(False)``)."""
        return self.transformer.get_input_embeddings()

    def info(self) -> dict[str, Any]:
        """The settings as a plain dict, for provenance records: name, dim, pooling,
        prefixes, max_length, normalize and the metadata (e.g. the embedded model's
        ``"weights"`` note that they are 4-bit rounded)."""
        return {"dim": self.dim, **dataclasses.asdict(self.settings)}

    def extra_repr(self) -> str:
        s = self.settings
        return (
            f"name={s.name!r}, dim={self.dim}, pooling={s.pooling!r}, "
            f"query_prefix={s.query_prefix!r}, passage_prefix={s.passage_prefix!r}, "
            f"max_length={s.max_length}, normalize={s.normalize}"
        )

    # ---------------------------------------------------------------- top-k fine-tuning
    def freeze_bottom(self, top_layers: int) -> None:
        """Train only the top ``top_layers`` layers: the embeddings and every layer below are
        frozen (no gradient) and always run in eval mode (no dropout), so they compute the same
        states for an input whatever the training step, and a
        :class:`~hybridlib.models.hidden_states.HiddenStateCache` can serve them.
        ``top_layers = n_layers`` freezes the embeddings only.

        Needs the BERT layout that :mod:`hybridlib.models.unpadded` runs (BERT, XLM-R, E5,
        LaBSE), since the forward pass starts in the middle of the stack.
        """
        if isinstance(top_layers, bool) or not isinstance(top_layers, int):
            raise TypeError(f"top_layers must be an int, but got {top_layers!r}")
        if not 1 <= top_layers <= self.n_layers:
            raise ValueError(
                f"top_layers must be in [1, {self.n_layers}] for {self.name!r}, but got {top_layers}"
            )
        if not supports_unpadding(self.transformer):
            raise TypeError(
                f"top-k fine-tuning needs a BERT-layout encoder (BERT, XLM-R, E5, LaBSE), but "
                f"{self.name!r} is {type(self.transformer).__name__}"
            )
        self.top_layers = top_layers
        self.unpadded = True
        for module in self._bottom_modules():
            module.requires_grad_(False)
        self.train(self.training)

    def _bottom_modules(self) -> list[torch.nn.Module]:
        layers = self.transformer.encoder.layer
        return [self.transformer.embeddings, *layers[: self.split_layer]]

    def train(self, mode: bool = True) -> Encoder:
        super().train(mode)
        if self.top_layers is not None:
            for module in self._bottom_modules():
                module.eval()
        return self

    def bottom_sha256(self) -> str:
        """SHA-256 of the frozen bottom's weights (embeddings and layers below the split)."""
        state = {
            f"{i}.{name}": tensor
            for i, module in enumerate(self._bottom_modules())
            for name, tensor in module.state_dict().items()
        }
        return state_sha256(state)

    def bottom_states(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """States entering the split layer, ``(n, s, h)`` (zeros at padding), without gradient."""
        if self.split_layer < 1:
            raise ValueError("the encoder has no frozen bottom: call freeze_bottom(k) first")
        with torch.no_grad(), self._autocast():
            return unpadded_hidden_states(
                self.transformer,
                features["attention_mask"].to(self.device),
                input_ids=features["input_ids"].to(self.device),
                stop_layer=self.split_layer,
            )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.settings.precision == "bfloat16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ---------------------------------------------------------------- embedding
    def tokenize(self, texts: Sequence[str], kind: Kind = "passage") -> dict[str, torch.Tensor]:
        """Prefix, tokenize, truncate to ``max_length`` and pad to the longest text.

        Returns ``input_ids`` and ``attention_mask``, both ``(n, seq)`` int64 (on CPU).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        prefix = self.prefix(kind)
        batch = self.tokenizer(
            [prefix + text for text in texts],
            padding="longest",
            truncation=True,
            max_length=self.settings.max_length,
            return_tensors="pt",
            return_token_type_ids=False,
        )
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pool token states ``(n, seq, hidden)`` into ``(n, hidden)`` (not normalised)."""
        if self.settings.pooling == "cls":
            return hidden[:, 0]  # (n, hidden)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (n, seq, 1)
        summed = (hidden * mask).sum(dim=1)  # (n, hidden)
        counts = mask.sum(dim=1).clamp(min=1.0)  # (n, 1)
        return summed / counts

    def embed_tokens(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Embed tokenized inputs: ``(n, dim)``, L2-normalised, with gradients."""
        device = self.device
        input_ids = features["input_ids"].to(device)  # (n, seq)
        attention_mask = features["attention_mask"].to(device)  # (n, seq)
        if self.split_layer > 0:  # the frozen bottom's states, then the top layers
            if self.hidden_cache is not None:
                bottom = self.hidden_cache.lookup(input_ids.cpu(), attention_mask.cpu()).to(device)
            else:
                bottom = self.bottom_states(features)  # (n, seq, hidden)
            with self._autocast():
                hidden = unpadded_hidden_states(
                    self.transformer, attention_mask, hidden_states=bottom,
                    start_layer=self.split_layer,
                )  # fmt: skip
            return self._pool_normalise(hidden.float(), attention_mask)
        inputs: dict[str, Any]
        if self.row_gradients is not None and torch.is_grad_enabled():
            inputs = {
                "inputs_embeds": self.row_gradients.lookup(input_ids),  # (n, seq, hidden)
                "position_ids": self._position_ids(input_ids),  # (n, seq) or None
            }
        else:
            inputs = {"input_ids": input_ids}
        with self._autocast():
            if self.unpadded:
                hidden = unpadded_hidden_states(self.transformer, attention_mask, **inputs)
            else:
                hidden = self.transformer(
                    attention_mask=attention_mask, **inputs
                ).last_hidden_state  # (n, seq, hidden)
        return self._pool_normalise(hidden.float(), attention_mask)

    def _pool_normalise(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(hidden, attention_mask)  # (n, hidden)
        if self.head is not None:
            pooled = self.head(pooled)  # (n, dim)
        if self.settings.normalize:
            pooled = F.normalize(pooled, p=2, dim=-1)
        return pooled

    def use_row_gradients(self, enabled: bool = True) -> RowGradients | None:
        """Look word embeddings up through :class:`~hybridlib.models.row_gradients.RowGradients`
        in forward passes with gradients (training); returns it, or None when ``enabled`` is
        False. Call its ``write()`` after ``backward`` and before the optimizer step.

        Needs a plain ``nn.Embedding`` table and a transformer that takes ``inputs_embeds``
        (BERT, XLM-R, E5, LaBSE); position ids are passed as the model derives them from
        ``input_ids`` (XLM-R: after the padding id), so the outputs are the plain lookup's.
        """
        if not enabled:
            self.row_gradients = None
            return None
        table = self.word_embeddings()
        if type(table) is not torch.nn.Embedding:
            raise TypeError(
                f"row gradients need a plain torch.nn.Embedding word table, but {self.name!r} "
                f"has {type(table).__name__}"
            )
        import inspect

        if "inputs_embeds" not in inspect.signature(self.transformer.forward).parameters:
            raise TypeError(
                f"row gradients need a transformer that takes inputs_embeds, but "
                f"{type(self.transformer).__name__}.forward does not"
            )
        self.row_gradients = RowGradients(table.weight, padding_idx=table.padding_idx)
        return self.row_gradients

    def _position_ids(self, input_ids: torch.Tensor) -> torch.Tensor | None:
        """Position ids as the model makes them from ``input_ids`` where that depends on the
        padding (XLM-R / RoBERTa: ``padding_idx + 1 + i`` for real tokens); else None."""
        embeddings: Any = getattr(self.transformer, "embeddings", None)
        make = getattr(embeddings, "create_position_ids_from_input_ids", None)
        if make is None:
            return None
        return make(input_ids, embeddings.padding_idx)  # (n, seq)

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> torch.Tensor:
        """``embed_tokens(tokenize(texts, kind))``: ``(n, dim)`` with gradients."""
        return self.embed_tokens(self.tokenize(texts, kind))

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.embed_tokens(features)

    def token_ids(self, texts: Sequence[str], kind: Kind = "passage") -> list[list[int]]:
        """Token ids per text after prefixing and truncation, unpadded (chunks of 10,000
        texts, so memory stays bounded for long lists)."""
        prefix = self.prefix(kind)
        ids: list[list[int]] = []
        for start in range(0, len(texts), 10_000):
            ids += self.tokenizer(
                [prefix + text for text in texts[start : start + 10_000]],
                truncation=True,
                max_length=self.settings.max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
        return ids

    def token_lengths(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Tokens per text after prefixing and truncation: ``(n,)`` int64."""
        return np.array([len(row) for row in self.token_ids(texts, kind)], dtype=np.int64)

    def pad(self, rows: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        """Token id rows padded to the longest: ``input_ids`` and ``attention_mask`` ``(n, seq)``."""
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind = "passage",
        batch_size: int = 64,
        show_progress: bool | None = None,
        sort_by_length: bool = True,
    ) -> np.ndarray:
        """Embed texts for inference: ``(n, dim)`` float32, L2-normalised, in input order.

        Texts are sorted by token count (longest first; character counts are a poor proxy
        across scripts) so each batch pads little, encoded in
        eval mode under ``torch.inference_mode`` and written into one preallocated array,
        so memory is ``n * dim * 4`` bytes plus one batch. The progress bar shows by
        default when there are more than 4 batches. The module's train/eval mode is
        restored afterwards.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, but got {batch_size}")
        self.prefix(kind)  # validates kind
        texts = list(texts)
        n = len(texts)
        out = np.empty((n, self.dim), dtype=np.float32)  # (n, dim)
        if n == 0:
            return out
        ids: list[list[int]] | None = None
        if self.hidden_cache is not None:  # the bottom once per text, then the top only
            ids = self.token_ids(texts, kind)  # tokenized once for the fill, order and batches
            self.hidden_cache.fill_ids(
                ids, kind, batch_size=batch_size, show_progress=show_progress
            )
        if sort_by_length:
            lengths = (np.array([len(row) for row in ids], dtype=np.int64) if ids is not None
                       else self.token_lengths(texts, kind))  # fmt: skip
            order = np.argsort(-lengths, kind="stable")  # (n,)
        else:
            order = np.arange(n)
        n_batches = math.ceil(n / batch_size)
        if show_progress is None:
            show_progress = n_batches > 4
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                for start in tqdm(
                    range(0, n, batch_size),
                    total=n_batches,
                    desc="encoding queries" if kind == "query" else "encoding passages",
                    unit="batch",
                    disable=not show_progress,
                ):
                    index = order[start : start + batch_size]  # (b,)
                    if ids is not None:
                        features = self.pad([ids[i] for i in index])
                    else:
                        features = self.tokenize([texts[i] for i in index], kind)
                    emb = self.embed_tokens(features)  # (b, dim)
                    out[index] = emb.float().cpu().numpy()
        finally:
            self.train(was_training)
        return out

    # ---------------------------------------------------------------- the trained part
    def top_state(self) -> dict[str, torch.Tensor]:
        """The trained part of a top-k model: the top layers' tensors and the dense head's
        (``dense_head.*``), on the CPU."""
        prefix = "encoder.layer."
        state = {
            name: tensor.detach().cpu().contiguous()
            for name, tensor in self.transformer.state_dict().items()
            if name.startswith(prefix)
            and int(name[len(prefix) :].split(".")[0]) >= self.split_layer
        }
        if self.head is not None:
            for name, tensor in self.head.state_dict().items():
                state[HEAD_PREFIX + name] = tensor.detach().cpu().contiguous()
        return state
