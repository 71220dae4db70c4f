"""InfoNCE with in-batch negatives: one pure function of embeddings, one thin module.

For a batch of ``B`` (query, positive passage) pairs with embeddings ``q_i``, ``p_i``::

    s_ij = scale * (cos(q_i, p_j) - margin * [i == j]),   scale = 1 / temperature
    loss = mean_i [ -log( exp(s_ii) / sum_j exp(s_ij) ) ]      (cross-entropy, labels i)

``margin = 0`` (the default) is plain InfoNCE; ``margin > 0`` is the additive margin softmax
of Yang et al. (2019) used by LaBSE (Feng et al., ACL 2022): the positive must beat every
negative by ``margin`` in cosine. ``symmetric=True`` adds the passage-to-query direction
(LaBSE's bidirectional ranking loss), with the same margin.

The sum over ``j`` runs over every passage of the batch (the in-batch negatives), over the
hard negatives when given, and, in a multi-process run, over the passages of every rank.
Two kinds of in-batch passages are false negatives of row ``i``, and their scores are set
to ``-inf`` (the positive itself never is):

- by parallel key: passages that share the query's parallel key (translations of its
  positive);
- by content: passages whose content key equals that of row ``i``'s positive, i.e. the same
  text (e.g. one answer sentence under another question).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from hybridlib.losses.distributed import LOCAL_COLUMNS, RankColumns, rank_columns

DEFAULT_TEMPERATURE = 0.05


def info_nce(
    query_emb: torch.Tensor,
    passage_emb: torch.Tensor,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    symmetric: bool = False,
    margin: float = 0.0,
    hard_negative_emb: torch.Tensor | None = None,
    parallel_keys: Sequence[str] | None = None,
    passage_keys: Sequence[str] | None = None,
    share_hard_negatives: bool = True,
    gather_across_processes: bool = False,
) -> torch.Tensor:
    """Contrastive loss of queries against their positives and in-batch negatives.

    Args:
        query_emb: ``(B, d)`` query embeddings; passage ``i`` is the positive of query ``i``.
        passage_emb: ``(B, d)`` passage embeddings.
        temperature: scores are ``cos / temperature``; the default 0.05 means scale 20, the
            E5 / sentence-transformers default (the paper gives none; a bare cosine in
            [-1, 1] makes the softmax too flat to train well).
        symmetric: also add the passage-to-query term (each passage against all queries)
            and return the average of the two directions.
        margin: additive margin subtracted from each positive's cosine before scaling
            (``>= 0``; 0 is plain InfoNCE).
        hard_negative_emb: ``(B, d)`` or ``(B, k, d)``: ``k`` hard negatives per query,
            appended as extra columns.
        parallel_keys: ``B`` keys; an in-batch passage (or query, in the symmetric term)
            with the same key as the row's own pair is masked out as a false negative.
        passage_keys: ``B`` content keys of the passages (equal for equal texts, e.g.
            :func:`hybridlib.samplers.passage_content_key`); column ``j != i`` of row ``i``
            is masked out where ``passage_keys[j] == passage_keys[i]``: passage ``j`` has
            the text of query ``i``'s positive, and in the symmetric term query ``j``'s
            positive has the text of passage ``i``. Combined (OR) with the parallel-key
            mask: ``mask_ij = (j != i) and (key_j == key_i or passage_key_j ==
            passage_key_i)``. Hard negatives are never masked.
        share_hard_negatives: if True every query also scores the hard negatives of all
            other queries (``B * k`` extra columns); if False only its own (``k``).
        gather_across_processes: False (the default): a pure function of its inputs, the
            negatives are this call's passages only, whatever process it runs in (as
            sentence-transformers' ``gather_across_devices=False``). True: in a multi-process
            run (``torch.distributed`` initialised with world size > 1) use the passages,
            keys and shared hard negatives of every rank as negatives; labels are offset by
            ``rank * B``. Every rank must then call this with the same ``B``, and all ranks
            give ``parallel_keys`` (and ``passage_keys``) or none does (the keys are gathered
            in one collective). In one process both give the same loss.

    Inputs are L2-normalised here (a no-op on the encoder's normalised output), so the
    scores are cosines. Computed in at least float32. Returns a scalar tensor.
    """
    _check_inputs(
        query_emb, passage_emb, temperature, hard_negative_emb, parallel_keys, passage_keys
    )
    if not 0 <= margin < float("inf"):
        raise ValueError(f"margin must be a finite number >= 0, but got {margin}")
    columns = rank_columns(query_emb.shape[0]) if gather_across_processes else LOCAL_COLUMNS
    key_lists = [list(keys) for keys in (parallel_keys, passage_keys) if keys is not None]
    return contrastive_loss(
        query_emb, passage_emb, hard_negative_emb, key_lists, columns=columns,
        scale=1.0 / temperature, margin=margin, symmetric=symmetric,
        share_hard_negatives=share_hard_negatives,
    )  # fmt: skip


def contrastive_loss(
    query_emb: torch.Tensor,
    passage_emb: torch.Tensor,
    hard_negative_emb: torch.Tensor | None,
    key_lists: Sequence[Sequence[str]],
    *,
    columns: RankColumns = LOCAL_COLUMNS,
    scale: float,
    margin: float,
    symmetric: bool,
    share_hard_negatives: bool,
) -> torch.Tensor:
    """:func:`info_nce`'s scoring of checked inputs (``key_lists``: the given key lists, each
    of ``B`` keys), against the columns ``columns`` reaches: this process's alone by default,
    every rank's with :func:`~hybridlib.losses.distributed.rank_columns`. Returns a scalar."""
    batch = query_emb.shape[0]
    q = F.normalize(_at_least_float32(query_emb), dim=-1)  # (B, d)
    p = F.normalize(_at_least_float32(passage_emb), dim=-1)  # (B, d)
    labels = torch.arange(batch, device=q.device) + columns.offset  # (B,)
    mask = _key_mask(key_lists, columns, q.device)  # (B, W * B) bool, or None

    p_all = columns.gather(p)  # (W * B, d)
    scores = scale * (q @ p_all.T)  # (B, W * B)
    rows = torch.arange(batch, device=q.device)  # (B,)
    if margin:
        scores = scores.index_put((rows, labels), scores[rows, labels] - scale * margin)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))

    if hard_negative_emb is not None:
        h = F.normalize(_at_least_float32(hard_negative_emb), dim=-1)
        if h.dim() == 2:
            h = h.unsqueeze(1)  # (B, 1, d)
        if share_hard_negatives:
            h_all = columns.gather(h.reshape(-1, h.shape[-1]))  # (W * B * k, d)
            hard_scores = scale * (q @ h_all.T)  # (B, W * B * k)
        else:
            hard_scores = scale * torch.einsum("bd,bkd->bk", q, h)  # (B, k)
        scores = torch.cat([scores, hard_scores], dim=1)  # (B, W * B + extra)

    loss = F.cross_entropy(scores, labels)
    if not symmetric:
        return loss

    q_all = columns.gather(q)  # (W * B, d)
    scores_pq = scale * (p @ q_all.T)  # (B, W * B)
    if margin:
        scores_pq = scores_pq.index_put((rows, labels), scores_pq[rows, labels] - scale * margin)
    if mask is not None:
        scores_pq = scores_pq.masked_fill(mask, float("-inf"))
    return (loss + F.cross_entropy(scores_pq, labels)) / 2


def _key_mask(
    key_lists: Sequence[Sequence[str]], columns: RankColumns, device: torch.device
) -> torch.Tensor | None:
    """``(B, W * B)`` bool: the false negatives of each row by any of ``key_lists`` (OR),
    the keys of every rank's columns gathered in one collective; None without keys."""
    if not key_lists:
        return None
    mask = None
    local = list(zip(*key_lists, strict=True))  # (B,) tuples of a pair's keys
    gathered = columns.gather_keys(local)  # (W * B,) tuples
    for n, keys in enumerate(key_lists):
        all_keys = [item[n] for item in gathered]
        part = _false_negative_mask(keys, all_keys, columns.offset, device)  # (B, W * B)
        mask = part if mask is None else mask | part
    return mask


def _at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float()
    return tensor


def _false_negative_mask(
    keys: Sequence[str], all_keys: Sequence[str], offset: int, device: torch.device
) -> torch.Tensor:
    """``(B, N)`` bool: True where column ``j`` shares row ``i``'s key and is not its positive.

    ``keys`` are the ``B`` keys of this rank's rows, ``all_keys`` the ``N`` keys of every
    column; row ``i``'s positive is column ``offset + i``.
    """
    ids = {key: index for index, key in enumerate(dict.fromkeys(all_keys))}
    row = torch.tensor([ids[key] for key in keys], device=device)  # (B,)
    col = torch.tensor([ids[key] for key in all_keys], device=device)  # (N,)
    mask = row[:, None] == col[None, :]  # (B, N)
    positives = torch.arange(len(keys), device=device) + offset  # (B,)
    mask[torch.arange(len(keys), device=device), positives] = False
    return mask


def _check_inputs(
    query_emb: torch.Tensor,
    passage_emb: torch.Tensor,
    temperature: float,
    hard_negative_emb: torch.Tensor | None,
    parallel_keys: Sequence[str] | None,
    passage_keys: Sequence[str] | None,
) -> None:
    if query_emb.dim() != 2 or query_emb.shape[0] < 1:
        raise ValueError(
            f"query_emb must have shape (B, d) with B >= 1, but got {tuple(query_emb.shape)}"
        )
    if passage_emb.shape != query_emb.shape:
        raise ValueError(
            f"passage_emb must have the shape of query_emb {tuple(query_emb.shape)}, "
            f"but got {tuple(passage_emb.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, but got {temperature}")
    batch, dim = query_emb.shape
    if hard_negative_emb is not None:
        shape = tuple(hard_negative_emb.shape)
        ok = (hard_negative_emb.dim() == 2 and shape == (batch, dim)) or (
            hard_negative_emb.dim() == 3 and shape[0] == batch and shape[2] == dim and shape[1] >= 1
        )
        if not ok:
            raise ValueError(
                f"hard_negative_emb must have shape ({batch}, {dim}) or ({batch}, k, {dim}), "
                f"but got {shape}"
            )
    for name, keys in (("parallel_keys", parallel_keys), ("passage_keys", passage_keys)):
        if keys is None:
            continue
        if isinstance(keys, str):
            raise TypeError(f"{name} must be a list of keys, not one string: {keys!r}")
        if len(keys) != batch:
            raise ValueError(f"{name} must have one key per pair ({batch}), but got {len(keys)}")


class EncoderRunner(Protocol):
    """Runs an encoder's forward pass on tokenized ``features``: ``(n, d)`` with gradients;
    ``last``: the last pass whose backward completes the loss's gradient."""

    def __call__(self, features: dict[str, torch.Tensor], *, last: bool) -> torch.Tensor: ...


class InfoNCELoss(torch.nn.Module):
    """Embeds a batch with ``encoder`` and returns :func:`info_nce` of the embeddings.

    ``forward(batch)`` takes the dict of :meth:`hybridlib.samplers.ParallelPairs.collate`
    (``queries``, ``passages``, ``parallel_keys``, ``passage_keys``; optional
    ``hard_negatives``: one list of ``k`` texts per pair).

    ``mask_false_negatives`` switches both kinds of false-negative masking of
    :func:`info_nce`: by ``batch["parallel_keys"]`` and by ``batch["passage_keys"]``
    (content), each when the batch has it. ``gather_across_processes``: as in
    :func:`info_nce` (off by default; :func:`hybridlib.training.train` turns it on).
    """

    # an Encoder-like module (hybridlib.models.Encoder): tokenize, embed, embed_tokens,
    # forward(features) -> (n, d); used duck-typed
    encoder: Any

    def __init__(
        self,
        encoder: torch.nn.Module,
        *,
        temperature: float = DEFAULT_TEMPERATURE,
        symmetric: bool = False,
        margin: float = 0.0,
        share_hard_negatives: bool = True,
        mask_false_negatives: bool = True,
        gather_across_processes: bool = False,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, but got {temperature}")
        if not 0 <= margin < float("inf"):
            raise ValueError(f"margin must be a finite number >= 0, but got {margin}")
        self.encoder = encoder
        self.temperature = temperature
        self.symmetric = symmetric
        self.margin = margin
        self.share_hard_negatives = share_hard_negatives
        self.mask_false_negatives = mask_false_negatives
        self.gather_across_processes = gather_across_processes
        # runs the encoder's forward passes with gradients when set; the training step sets
        # one in a multi-process run (hybridlib.training.step.DataParallelRunner)
        self.encoder_runner: EncoderRunner | None = None

    def run_encoder(self, features: dict[str, torch.Tensor], *, last: bool = True) -> torch.Tensor:
        """``encoder(features)``: ``(n, d)`` with gradients, through ``encoder_runner`` when one
        is set. ``last``: whether this is the last forward pass whose backward completes this
        loss's gradient (where a runner may synchronise the processes)."""
        if self.encoder_runner is None:
            return self.encoder(features)
        return self.encoder_runner(features, last=last)

    def embed(self, texts: Sequence[str], kind: str) -> torch.Tensor:
        """``encoder.embed(texts, kind)``: ``(n, d)`` with gradients; with an ``encoder_runner``
        ``run_encoder(encoder.tokenize(texts, kind))``."""
        if self.encoder_runner is None:
            return self.encoder.embed(texts, kind=kind)
        return self.run_encoder(self.encoder.tokenize(list(texts), kind))

    def loss_from_embeddings(
        self,
        query_emb: torch.Tensor,
        passage_emb: torch.Tensor,
        hard_negative_emb: torch.Tensor | None,
        batch: Mapping[str, Any],
    ) -> torch.Tensor:
        """:func:`info_nce` with this module's settings."""
        return info_nce(
            query_emb,
            passage_emb,
            temperature=self.temperature,
            symmetric=self.symmetric,
            margin=self.margin,
            hard_negative_emb=hard_negative_emb,
            parallel_keys=batch.get("parallel_keys") if self.mask_false_negatives else None,
            passage_keys=batch.get("passage_keys") if self.mask_false_negatives else None,
            share_hard_negatives=self.share_hard_negatives,
            gather_across_processes=self.gather_across_processes,
        )

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        query_emb = self.embed(batch["queries"], kind="query")  # (B, d)
        passage_emb = self.embed(batch["passages"], kind="passage")  # (B, d)
        hard_texts, k = flatten_hard_negatives(batch)
        hard_emb = None
        if hard_texts:
            hard_emb = self.embed(hard_texts, kind="passage")  # (B * k, d)
            hard_emb = hard_emb.reshape(len(batch["queries"]), k, -1)  # (B, k, d)
        return self.loss_from_embeddings(query_emb, passage_emb, hard_emb, batch)


def flatten_hard_negatives(batch: Mapping[str, Any]) -> tuple[list[str], int]:
    """The batch's hard negatives as one flat list (pair-major) and ``k`` per pair.

    ``batch["hard_negatives"]`` is absent/None, or one list of ``k`` texts (or one text)
    per pair, with the same ``k`` for every pair.
    """
    hard = batch.get("hard_negatives")
    if hard is None:
        return [], 0
    rows = [[item] if isinstance(item, str) else list(item) for item in hard]
    if len(rows) != len(batch["queries"]):
        raise ValueError(
            f"hard_negatives must have one entry per pair ({len(batch['queries'])}), "
            f"but got {len(rows)}"
        )
    sizes = sorted({len(row) for row in rows})
    if len(sizes) != 1 or sizes[0] < 1:
        raise ValueError(
            f"every pair must have the same number (>= 1) of hard negatives, but got {sizes}"
        )
    return [text for row in rows for text in row], sizes[0]
