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
draws fewer random numbers, so a training run differs from one through the Hugging Face
forward by its dropout masks only.

Applies to post-LayerNorm encoders of the BERT layout with absolute positions (BERT,
RoBERTa, XLM-R, multilingual E5, LaBSE); :func:`supports_unpadding` says whether a model is
one. Others use their own forward.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

BERT_LAYOUT_MODELS = ("bert", "roberta", "xlm-roberta")


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
    transformer: torch.nn.Module,
    attention_mask: torch.Tensor,
    *,
    input_ids: torch.Tensor | None = None,
    inputs_embeds: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """The last hidden states ``(n, s, h)``, computed on the real tokens only (zeros at padding).

    attention_mask: ``(n, s)``, 1 for real tokens. Give ``input_ids`` ``(n, s)`` or
    ``inputs_embeds`` ``(n, s, h)`` (and ``position_ids`` where the model needs them with
    ``inputs_embeds``), as to the model's embeddings.
    """
    embedded = transformer.embeddings(
        input_ids=input_ids, inputs_embeds=inputs_embeds, position_ids=position_ids
    )  # (n, s, h)
    n, s, h = embedded.shape
    real = attention_mask.reshape(-1).nonzero().squeeze(1)  # (T,) positions in n * s
    x = embedded.reshape(n * s, h).index_select(0, real)  # (T, h)
    keep = attention_mask.bool()[:, None, None, :]  # (n, 1, 1, s): keys that may be attended
    for layer in transformer.encoder.layer:
        x = _layer(layer, x, real, keep, n, s)
    out = x.new_zeros(n * s, h).index_copy(0, real, x)  # (n * s, h)
    return out.reshape(n, s, h)


def _layer(layer: Any, x: torch.Tensor, real: torch.Tensor, keep: torch.Tensor, n: int, s: int) -> torch.Tensor:
    """One encoder layer on the packed tokens ``x`` ``(T, h)``."""
    attention = layer.attention.self
    h = x.shape[1]
    heads = attention.num_attention_heads
    weight = torch.cat([attention.query.weight, attention.key.weight, attention.value.weight])  # (3h, h)
    bias = torch.cat([attention.query.bias, attention.key.bias, attention.value.bias])  # (3h,)
    qkv = F.linear(x, weight, bias)  # (T, 3h)
    padded = qkv.new_zeros(n * s, 3 * h).index_copy(0, real, qkv)  # (n * s, 3h)
    q, k, v = padded.view(n, s, 3, heads, h // heads).permute(2, 0, 3, 1, 4)  # each (n, heads, s, d)
    dropout = attention.dropout.p if layer.training else 0.0
    context = F.scaled_dot_product_attention(
        q, k, v, attn_mask=keep, dropout_p=dropout, scale=attention.scaling
    )  # (n, heads, s, d)
    context = context.transpose(1, 2).reshape(n * s, h).index_select(0, real)  # (T, h)
    a = layer.attention.output(context, x)  # dense, dropout, LayerNorm(. + x)
    return layer.output(layer.intermediate(a), a)  # (T, h)
