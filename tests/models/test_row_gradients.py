"""Row gradients of the word embeddings: the same gradient as the plain lookup, less traffic."""

from __future__ import annotations

import copy

import pytest
import torch

from hybridlib.losses import CachedInfoNCELoss, InfoNCELoss
from hybridlib.models import Encoder, RowGradients

BATCH = {
    "queries": ["the cat sat", "wie geht es dir heute", "短い文", "a b c d e f g h"],
    "passages": ["a cat", "mir geht es gut, danke", "とても長い文章です。", "x"],
    "parallel_keys": ["a", "b", "c", "d"],
}


def gradients(
    encoder: Encoder,
    loss_type=InfoNCELoss,
    row_gradients: bool = False,
    steps: int = 1,
    **loss_options,
) -> tuple[list[float], dict[str, torch.Tensor]]:
    """Losses of ``steps`` backward passes (gradients accumulated, no optimizer) and the
    gradients of a copy of ``encoder``, with dropout on and the same seed."""
    encoder = copy.deepcopy(encoder).train()
    rows = encoder.use_row_gradients(row_gradients)
    loss_fn = loss_type(encoder, **loss_options)
    torch.manual_seed(7)
    losses = []
    for _ in range(steps):
        loss = loss_fn(BATCH)
        loss.backward()
        if rows is not None:
            rows.write()
        losses.append(loss.item())
    grads = {n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None}
    return losses, grads


def assert_same_gradients(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert set(a) == set(b)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("steps", [1, 2])
def test_row_gradients_equal_the_plain_embedding_backward(tiny, steps):
    plain_losses, plain = gradients(tiny, steps=steps)
    row_losses, rows = gradients(tiny, row_gradients=True, steps=steps)
    assert row_losses == plain_losses  # the same forward, dropout included
    assert_same_gradients(plain, rows)
    table = "transformer.embeddings.word_embeddings.weight"
    assert rows[table].abs().sum() > 0
    # only the rows of tokens in the batch (not the padding row) have a gradient
    used = set()
    for kind in ("query", "passage"):
        ids = tiny.tokenize(BATCH["queries" if kind == "query" else "passages"], kind)["input_ids"]
        used |= set(ids.flatten().tolist())
    used.discard(tiny.tokenizer.pad_token_id)
    nonzero = set(torch.nonzero(rows[table].abs().sum(dim=1)).flatten().tolist())
    assert nonzero == used


def test_row_gradients_equal_the_plain_backward_under_grad_cache(tiny):
    _, plain = gradients(tiny, CachedInfoNCELoss, mini_batch_size=3)
    _, rows = gradients(tiny, CachedInfoNCELoss, row_gradients=True, mini_batch_size=3)
    assert_same_gradients(plain, rows)


def test_lookup_without_gradients_registers_nothing_and_equals_the_table(tiny):
    encoder = copy.deepcopy(tiny)
    rows = encoder.use_row_gradients()
    features = encoder.tokenize(BATCH["queries"])
    with torch.no_grad():
        with_rows = encoder.embed_tokens(features)
    assert rows.pending == 0
    encoder.use_row_gradients(False)
    with torch.no_grad():
        plain = encoder.embed_tokens(features)
    torch.testing.assert_close(with_rows, plain)


def test_write_accumulates_like_autograd_and_the_buffer_is_reused():
    weight = torch.nn.Parameter(torch.randn(10, 3))
    rows = RowGradients(weight, padding_idx=0)
    ids = torch.tensor([[1, 2, 2, 0]])  # token 2 twice; 0 is padding
    (rows.lookup(ids) * torch.arange(1.0, 4.0)).sum().backward()
    rows.write()
    expected = torch.zeros(10, 3)
    expected[1] = torch.tensor([1.0, 2.0, 3.0])
    expected[2] = 2 * torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(weight.grad, expected)
    buffer = weight.grad
    # a second backward before zero_grad adds, as autograd would
    rows.lookup(torch.tensor([[3]])).sum().backward()
    rows.write()
    expected[3] = 1.0
    torch.testing.assert_close(weight.grad, expected)
    # after zero_grad(set_to_none=True) the same memory starts again from zero
    weight.grad = None
    rows.lookup(torch.tensor([[4]])).sum().backward()
    rows.write()
    assert weight.grad is buffer
    torch.testing.assert_close(
        weight.grad, torch.zeros(10, 3).index_fill_(0, torch.tensor([4]), 1.0)
    )


def test_write_adds_an_existing_plain_gradient():
    weight = torch.nn.Parameter(torch.zeros(4, 2))
    weight.grad = torch.ones(4, 2)
    rows = RowGradients(weight)
    rows.lookup(torch.tensor([[1]])).sum().backward()
    rows.write()
    torch.testing.assert_close(
        weight.grad, torch.ones(4, 2) + torch.tensor([[0.0], [1.0], [0.0], [0.0]])
    )


def test_bad_inputs_are_refused(tiny):
    with pytest.raises(ValueError, match="2-D"):
        RowGradients(torch.nn.Parameter(torch.zeros(3)))

    class Scaled(torch.nn.Embedding):
        pass

    encoder = copy.deepcopy(tiny)
    encoder.transformer.set_input_embeddings(Scaled(10, encoder.dim))
    with pytest.raises(TypeError, match="plain torch.nn.Embedding.*Scaled"):
        encoder.use_row_gradients()


def test_row_gradients_keep_xlm_r_position_ids(tiny):
    """XLM-R numbers positions after the padding id from ``input_ids``; with
    ``inputs_embeds`` it would not see the padding, so the ids are passed explicitly."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from hybridlib.models.tiny import TINY_CONFIG

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tiny.tokenizer), pad_token_id=tiny.tokenizer.pad_token_id,
        max_position_embeddings=130, **{k: v for k, v in TINY_CONFIG.items() if k != "max_position_embeddings"},
    )  # fmt: skip
    transformer = XLMRobertaModel(config, add_pooling_layer=False)
    encoder = Encoder(transformer, tiny.tokenizer, copy.deepcopy(tiny.settings))
    assert encoder._position_ids(torch.tensor([[5, 6, config.pad_token_id]])).tolist() == [
        [config.pad_token_id + 1, config.pad_token_id + 2, config.pad_token_id]
    ]
    plain_losses, plain = gradients(encoder)
    row_losses, rows = gradients(encoder, row_gradients=True)
    assert row_losses == plain_losses
    assert_same_gradients(plain, rows)
