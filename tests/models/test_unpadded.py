"""The unpadded forward: the Hugging Face forward's values, computed on real tokens only."""

from __future__ import annotations

import copy

import pytest
import torch

from hybridlib.models import Encoder
from hybridlib.models.tiny import TINY_CONFIG
from hybridlib.models.unpadded import supports_unpadding, unpadded_hidden_states

TEXTS = ["the cat", "wie geht es dir heute, mein Freund?", "短い文", "a b c d e f g h i j k l m n"]


def xlm_r_encoder(tiny: Encoder) -> Encoder:
    """A tiny XLM-R (positions after the padding id) with the tiny encoder's tokenizer."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tiny.tokenizer), pad_token_id=tiny.tokenizer.pad_token_id,
        **{**TINY_CONFIG, "max_position_embeddings": 130},
    )  # fmt: skip
    return Encoder(XLMRobertaModel(config, add_pooling_layer=False).eval(), tiny.tokenizer,
                   copy.deepcopy(tiny.settings))  # fmt: skip


@pytest.fixture(params=["bert", "xlm-roberta"])
def encoder(request, tiny) -> Encoder:
    return copy.deepcopy(tiny) if request.param == "bert" else xlm_r_encoder(tiny)


def test_hidden_states_equal_the_models_own_forward_at_real_tokens(encoder):
    features = encoder.tokenize(TEXTS)
    mask = features["attention_mask"]
    assert (mask == 0).any()  # the batch has padding
    with torch.no_grad():
        ours = unpadded_hidden_states(encoder.transformer, mask, input_ids=features["input_ids"])
        theirs = encoder.transformer(**features).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(ours[real], theirs[real], rtol=1e-5, atol=1e-6)
    assert torch.equal(ours[~real], torch.zeros_like(ours[~real]))


def test_embeddings_and_gradients_equal_the_padded_forward_without_dropout(encoder):
    for module in encoder.transformer.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    encoder.train()
    results = {}
    for unpadded in (True, False):
        encoder.zero_grad(set_to_none=True)
        encoder.unpadded = unpadded
        embeddings = encoder.embed(TEXTS)  # (4, dim)
        (
            embeddings * torch.linspace(-1, 1, embeddings.numel()).view_as(embeddings)
        ).sum().backward()
        grads = {n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None}
        results[unpadded] = (embeddings.detach(), grads)
    torch.testing.assert_close(results[True][0], results[False][0], rtol=1e-5, atol=1e-6)
    assert set(results[True][1]) == set(results[False][1])
    for name, grad in results[False][1].items():
        torch.testing.assert_close(results[True][1][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_dropout_is_applied_and_seeded(tiny):
    encoder = copy.deepcopy(tiny).train()
    assert encoder.unpadded
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        with torch.no_grad():
            runs.append(encoder.embed(TEXTS))
    assert torch.equal(runs[0], runs[1])  # same seed, same numbers
    assert not torch.equal(runs[0], runs[2])  # dropout draws differ
    with torch.no_grad():
        eval_embeddings = encoder.eval().embed(TEXTS)
    assert not torch.allclose(runs[0], eval_embeddings)  # training mode drops units


def test_unsupported_architectures_use_their_own_forward(tiny):
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

    small = {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    decoder = BertModel(BertConfig(vocab_size=len(tiny.tokenizer), is_decoder=True, **small))
    distil = DistilBertModel(DistilBertConfig(vocab_size=len(tiny.tokenizer), dim=32, n_layers=1,
                                              n_heads=2, hidden_dim=64))  # fmt: skip
    assert supports_unpadding(tiny.transformer)
    for model in (decoder, distil):
        assert not supports_unpadding(model)
    encoder = Encoder(distil.eval(), tiny.tokenizer, copy.deepcopy(tiny.settings))
    assert not encoder.unpadded
    with torch.no_grad():
        assert encoder.embed(TEXTS).shape == (len(TEXTS), 32)
