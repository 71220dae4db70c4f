"""A tiny randomly initialised BERT with the XLM-R tokenizer, for tests and smoke runs.

Built from a config, never downloaded: 2 layers, 2 heads, hidden 32, FFN 64, 512
positions (8.0M parameters, almost all in the 250,002 x 32 word embeddings). The
weights depend only on ``seed``: the same seed gives the same weights bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch

from hybridlib.models.encoder import Encoder
from hybridlib.models.settings import EncoderSettings
from hybridlib.models.tokenizer import xlmr_tokenizer

TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
}


def tiny_encoder(seed: int = 0, **settings: Any) -> Encoder:
    """A tiny random encoder; ``settings`` override the defaults (mean pooling, no
    prefixes, ``max_length=128``), e.g. ``tiny_encoder(pooling="cls", query_prefix="q: ")``.
    """
    from transformers import BertConfig, BertModel

    tokenizer = xlmr_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **TINY_CONFIG,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = BertModel(config, add_pooling_layer=False)
    transformer.eval()
    options = {"pooling": "mean", "max_length": 128, **settings}
    metadata = {"weights": f"random initialisation (tiny BERT, seed {seed}); not a trained model"}
    return Encoder(
        transformer, tokenizer, EncoderSettings(name="tiny", metadata=metadata, **options)
    )
