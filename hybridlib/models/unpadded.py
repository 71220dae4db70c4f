"""A BERT-family forward pass that skips the padding in every token-wise layer.

A padded batch of ``n`` texts of up to ``s`` tokens holds ``T = sum(attention_mask)`` real
tokens; the rest is padding that the dense layers (Q/K/V, attention output, feed-forward,
LayerNorm, dropout) would compute for nothing: about 30% of a training batch of XQuAD
questions and answer sentences. Here the embeddings are computed as usual (``n, s, h``),
then the real tokens are gathered into a packed ``(T, h)`` tensor and every layer runs::

    qkv = x W_qkv^T + b_qkv                           # (T, 3h): Q, K and V in one product
    q, k, v = scatter(qkv) -> (n, heads, s, d)        # padded only for attention
    c = softmax(q k^T / sqrt(d) + mask) v             # scaled_dot_product_attention
    a = LayerNorm(dropout(gather(c) W_o^T + b_o) + x)             # the layer's own modules
    x = LayerNorm(dropout(act(a W_1^T + b_1) W_2^T + b_2) + a)    # on (T, h)

using the model's own submodules for everything but the attention product, so the weights,
activation, LayerNorm epsilon and dropout rates are the model's. The result, scattered back
to ``(n, s, h)`` with zeros at the padding, equals the Hugging Face forward at every real
token up to float rounding (tests: BERT and XLM-R layouts, outputs and gradients). Dropout
draws fewer random numbers, from a faster generator (:func:`fast_dropout`), and the
attention probabilities are written out when they need dropout (training), so a training
run differs from one through the Hugging Face forward by its dropout masks only.

Applies to post-LayerNorm encoders of the BERT layout with absolute positions (BERT,
RoBERTa, XLM-R, multilingual E5, LaBSE); :func:`supports_unpadding` says whether a model is
one. Others use their own forward.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

BERT_LAYOUT_MODELS = ("bert", "roberta", "xlm-roberta")
ATTENTION_GROUPS = 4  # length groups per batch for the attention product (see _length_groups)
TOKEN_MULTIPLE = 64  # packed tokens are padded to a multiple of this (see unpadded_hidden_states)
LENGTH_MULTIPLE = 8  # a length group is padded to a multiple of this for attention


def supports_unpadding(transformer: torch.nn.Module) -> bool:
    """True for an encoder this module can run: BERT layout, absolute positions, no decoder."""
    config = getattr(transformer, "config", None)
    if config is None or getattr(config, "model_type", None) not in BERT_LAYOUT_MODELS:
        return False
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return False
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return False
    if getattr(config, "chunk_size_feed_forward", 0):
        return False
    layers = getattr(getattr(transformer, "encoder", None), "layer", None)
    if layers is None or not hasattr(transformer, "embeddings"):
        return False
    needed = ("attention", "intermediate", "output")
    return all(
        all(hasattr(layer, name) for name in needed)
        and all(hasattr(layer.attention.self, w) for w in ("query", "key", "value", "scaling"))
        for layer in layers
    )


def unpadded_hidden_states(
    transformer: Any,  # a Hugging Face BERT-like encoder: .embeddings, .encoder.layer
    attention_mask: torch.Tensor,
    *,
    input_ids: torch.Tensor | None = None,
    inputs_embeds: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    hidden_states: torch.Tensor | None = None,
    start_layer: int = 0,
    stop_layer: int | None = None,
) -> torch.Tensor:
    """Hidden states ``(n, s, h)`` computed on the real tokens only (zeros at padding).

    attention_mask: ``(n, s)``, 1 for real tokens. From the bottom (``start_layer = 0``): give
    ``input_ids`` ``(n, s)`` or ``inputs_embeds`` ``(n, s, h)`` (and ``position_ids`` where the
    model needs them with ``inputs_embeds``), as to the model's embeddings. From the middle:
    give ``hidden_states`` ``(n, s, h)``, the states entering layer ``start_layer`` (values at
    padding are ignored). Runs layers ``start_layer .. stop_layer - 1`` (``None``: to the
    last), so ``stop_layer = k`` returns the states entering layer ``k``.
    """
    layers = transformer.encoder.layer
    stop = len(layers) if stop_layer is None else stop_layer
    if not 0 <= start_layer <= stop <= len(layers):
        raise ValueError(
            f"layers must satisfy 0 <= start_layer <= stop_layer <= {len(layers)}, "
            f"but got start_layer={start_layer}, stop_layer={stop_layer}"
        )
    if start_layer == 0:
        if hidden_states is not None:
            raise ValueError("hidden_states are the input of a middle layer: give start_layer > 0")
        hidden_states = transformer.embeddings(
            input_ids=input_ids, inputs_embeds=inputs_embeds, position_ids=position_ids
        )  # (n, s, h)
    elif hidden_states is None:
        raise ValueError(f"start_layer={start_layer} needs the hidden_states entering that layer")
    n, s, h = hidden_states.shape
    real = attention_mask.reshape(-1).nonzero().squeeze(1)  # (T,) positions in n * s
    x = hidden_states.reshape(n * s, h).index_select(0, real)  # (T, h)
    # T rounded up with zero rows (attended by nobody, attending nothing): the matrix
    # products then see few distinct shapes, and oneDNN's bf16 kernels, built per shape,
    # are reused instead of rebuilt for every batch (about 8 ms per new shape)
    tokens = x.shape[0]
    x = F.pad(x, (0, 0, 0, -tokens % TOKEN_MULTIPLE))  # (T', h)
    groups = _length_groups(attention_mask)
    for layer in layers[start_layer:stop]:
        x = _layer(layer, x, groups)
    out = x.new_zeros(n * s, h).index_copy(0, real, x[:tokens])  # (n * s, h)
    return out.reshape(n, s, h)


@dataclasses.dataclass(frozen=True)
class _Group:
    """Texts of similar length, padded together for the attention product only."""

    rows: torch.Tensor  # (T_g,) the group's tokens in the packed (T,) order
    slots: torch.Tensor  # (T_g,) their positions in the group's padded (n_g * s_g) layout
    keep: torch.Tensor  # (n_g, 1, 1, s_g) keys that may be attended
    n: int
    s: int


def _length_groups(
    attention_mask: torch.Tensor, max_groups: int = ATTENTION_GROUPS
) -> tuple[list[_Group], torch.Tensor]:
    """Split the texts, sorted by length, into up to ``max_groups`` groups of equal count, so
    attention pads each group to its own longest text: sum_g n_g s_g^2 instead of n s^2
    (training batches mix 10- and 150-token texts). Returns the groups and the permutation
    that puts their concatenated tokens back into the packed order."""
    lengths = attention_mask.sum(dim=1)  # (n,)
    n = lengths.numel()
    starts = torch.cumsum(lengths, 0) - lengths  # (n,) first packed row of each text
    order = torch.argsort(lengths, stable=True)
    size = -(-n // max(1, min(max_groups, n)))
    groups, rows_all = [], []
    for first in range(0, n, size):
        texts = order[first : first + size]
        lens = lengths[texts]
        s_g = -(-int(lens.max()) // LENGTH_MULTIPLE) * LENGTH_MULTIPLE  # few distinct shapes
        position = torch.arange(s_g, device=lengths.device)  # (s_g,)
        inside = position[None, :] < lens[:, None]  # (n_g, s_g)
        rows = (starts[texts][:, None] + position[None, :])[inside]  # (T_g,)
        slots = (
            torch.arange(len(texts), device=lengths.device)[:, None] * s_g + position[None, :]
        )[inside]
        groups.append(_Group(rows, slots, inside[:, None, None, :], len(texts), s_g))
        rows_all.append(rows)
    inverse = torch.empty_like(torch.cat(rows_all))
    inverse[torch.cat(rows_all)] = torch.arange(inverse.numel(), device=inverse.device)
    return groups, inverse


def _layer(layer: Any, x: torch.Tensor, groups: tuple[list[_Group], torch.Tensor]) -> torch.Tensor:
    """One encoder layer on the packed tokens ``x`` ``(T, h)``."""
    attention = layer.attention.self
    weight = torch.cat(
        [attention.query.weight, attention.key.weight, attention.value.weight]
    )  # (3h, h)
    bias = torch.cat([attention.query.bias, attention.key.bias, attention.value.bias])  # (3h,)
    qkv = F.linear(x, weight, bias)  # (T, 3h)
    parts = [_attend(layer, qkv.index_select(0, g.rows), g) for g in groups[0]]  # (T_g, h) each
    context = torch.cat(parts).index_select(0, groups[1])  # (T, h) in packed order
    context = F.pad(context, (0, 0, 0, x.shape[0] - context.shape[0]))  # (T', h): zero rows
    a = _residual(layer.attention.output, context, x)  # dense, dropout, LayerNorm(. + x)
    return _residual(layer.output, layer.intermediate(a), a)  # (T, h)


def _attend(layer: Any, qkv: torch.Tensor, group: _Group) -> torch.Tensor:
    """Multi-head attention of one group: ``(T_g, 3h)`` -> ``(T_g, h)``."""
    attention = layer.attention.self
    n, s, keep = group.n, group.s, group.keep
    h = qkv.shape[1] // 3
    heads = attention.num_attention_heads
    padded = qkv.new_zeros(n * s, 3 * h).index_copy(0, group.slots, qkv)  # (n * s, 3h)
    q, k, v = padded.view(n, s, 3, heads, h // heads).permute(
        2, 0, 3, 1, 4
    )  # each (n, heads, s, d)
    p_attention = attention.dropout.p if layer.training else 0.0
    if p_attention > 0:  # written out: SDPA's CPU dropout draws Bernoulli numbers slowly
        scores = torch.matmul(q, k.transpose(-1, -2)) * attention.scaling  # (n, heads, s, s)
        scores = scores.float().masked_fill(~keep, float("-inf"))
        probs = fast_dropout(torch.softmax(scores, dim=-1), p_attention)
        context = torch.matmul(probs.to(v.dtype), v)  # (n, heads, s, d)
    else:
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=keep, scale=attention.scaling
        )  # (n, heads, s, d)
    return context.transpose(1, 2).reshape(n * s, h).index_select(0, group.slots)  # (T_g, h)


def _residual(block: Any, inputs: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """A BERT output block, ``LayerNorm(dropout(dense(inputs)) + residual)``, with the
    block's own dense, dropout rate and LayerNorm."""
    p = block.dropout.p if block.training else 0.0
    return block.LayerNorm(fast_dropout(block.dense(inputs), p) + residual)


def fast_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout of rate ``p`` whose mask comes from NumPy's PCG64.

    ``keep = u >= round(p * 65536)`` for uniform 16-bit integers ``u``, so the realised rate
    is ``round(p * 65536) / 65536`` (0.100006 for 0.1), and kept values are scaled by
    ``1 / (1 - rate)``. The generator is seeded by one draw from torch's global generator,
    so runs are reproducible and resume with torch's RNG state. On 2 CPU cores the mask of
    5.5M elements takes 6 ms against 44 ms for ``torch.bernoulli_``.
    """
    if p <= 0:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    threshold = round(p * 65536)
    seed = int(torch.randint(0, 2**62, (1,), dtype=torch.int64))
    draws = np.random.Generator(np.random.PCG64(seed)).integers(
        0, 65536, x.numel(), dtype=np.uint16
    )
    keep = torch.from_numpy(draws >= threshold).view(x.shape).to(x.device)
    return x.masked_fill(~keep, 0) * (65536 / (65536 - threshold))
