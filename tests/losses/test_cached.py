"""GradCache gives the loss and the parameter gradients of the plain loss (tiny encoder)."""

from __future__ import annotations

import pytest
import torch

from hybridlib.losses import CachedInfoNCELoss, InfoNCELoss, info_nce
from hybridlib.models import Encoder, load_encoder
from hybridlib.samplers import passage_content_key

WORDS = "apple river stone cloud music paper garden window silver forest orange bridge".split()


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return load_encoder("tiny")


def make_batch(n: int = 7, k: int = 0, duplicates: bool = False) -> dict:
    # texts of different lengths, so padding matters; keys repeat (false negatives)
    queries = [" ".join(WORDS[i % 12 : i % 12 + 1 + i % 4]) for i in range(n)]
    passages = [f"{q} and {WORDS[(3 * i) % 12]} " * (1 + i % 3) for i, q in enumerate(queries)]
    if duplicates:  # pair 4 answers with the text of pair 2 (parallel keys key4, key2)
        passages[4] = passages[2]
    batch = {
        "queries": queries,
        "passages": passages,
        "parallel_keys": [f"key{i % 5}" for i in range(n)],
        "passage_keys": [passage_content_key(text) for text in passages],
    }
    if k:
        batch["hard_negatives"] = [
            [f"{WORDS[(i + j) % 12]} only" for j in range(k)] for i in range(n)
        ]
    return batch


def loss_and_grads(loss_module, batch, seed=0):
    loss_module.encoder.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    loss = loss_module(batch)
    loss.backward()
    grads = {
        name: param.grad.clone()
        for name, param in loss_module.encoder.named_parameters()
        if param.grad is not None
    }
    return loss.detach(), grads


def assert_same_grads(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    assert len(a) > 10
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=atol, msg=name)


@pytest.mark.parametrize("mini_batch_size", [2, 16])
@pytest.mark.parametrize("symmetric, k, margin", [(False, 0, 0.0), (True, 2, 0.0), (True, 0, 0.3)])
@pytest.mark.parametrize("duplicates", [False, True])
def test_cached_equals_plain_without_dropout(
    encoder, mini_batch_size, symmetric, k, margin, duplicates
):
    encoder.eval()  # no dropout: both losses are deterministic functions of the weights
    batch = make_batch(k=k, duplicates=duplicates)
    plain = InfoNCELoss(encoder, symmetric=symmetric, margin=margin)
    plain_loss, plain_grads = loss_and_grads(plain, batch)
    if duplicates:  # the content mask is in force: without passage_keys the loss differs
        without = {key: value for key, value in batch.items() if key != "passage_keys"}
        with torch.no_grad():
            unmasked = InfoNCELoss(encoder, symmetric=symmetric, margin=margin)(without)
        assert abs(unmasked.item() - plain_loss.item()) > 1e-3
    cached = CachedInfoNCELoss(
        encoder, mini_batch_size=mini_batch_size, symmetric=symmetric, margin=margin
    )
    cached_loss, cached_grads = loss_and_grads(cached, batch)
    torch.testing.assert_close(cached_loss, plain_loss, rtol=1e-6, atol=1e-6)
    assert plain_loss.item() > 0.1
    assert_same_grads(cached_grads, plain_grads, atol=1e-6)


def test_cached_replays_dropout_exactly(encoder):
    """With dropout on, the second pass must see the first pass's masks.

    Oracle: the same mini-batches embedded once, with a graph, in the same RNG order.
    """
    encoder.train()
    try:
        batch = make_batch(n=6, duplicates=True)
        cached = CachedInfoNCELoss(encoder, mini_batch_size=4)
        cached_loss, cached_grads = loss_and_grads(cached, batch, seed=123)

        encoder.zero_grad(set_to_none=True)
        torch.manual_seed(123)
        embs = []
        for texts, kind in [(batch["queries"], "query"), (batch["passages"], "passage")]:
            feats = encoder.tokenize(texts, kind)
            embs.append(
                torch.cat(
                    [
                        encoder.embed_tokens({k: v[s : s + 4] for k, v in feats.items()})
                        for s in (0, 4)
                    ]
                )
            )
        oracle = info_nce(
            embs[0],
            embs[1],
            parallel_keys=batch["parallel_keys"],
            passage_keys=batch["passage_keys"],
        )
        oracle.backward()
        oracle_grads = {
            n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None
        }

        torch.testing.assert_close(cached_loss, oracle.detach(), rtol=1e-6, atol=1e-6)
        assert_same_grads(cached_grads, oracle_grads, atol=1e-6)
        # and dropout really was on: a second draw gives another loss
        torch.manual_seed(124)
        assert cached(batch).item() != pytest.approx(cached_loss.item(), abs=1e-7)
    finally:
        encoder.eval()


def test_scaled_backward_scales_gradients(encoder):
    encoder.eval()
    batch = make_batch()
    cached = CachedInfoNCELoss(encoder, mini_batch_size=2)
    _, grads = loss_and_grads(cached, batch)
    encoder.zero_grad(set_to_none=True)
    (cached(batch) / 4).backward()
    for name, param in encoder.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(param.grad, grads[name] / 4, rtol=1e-5, atol=1e-8)


def test_cached_without_grad_returns_the_loss(encoder):
    encoder.eval()
    batch = make_batch()
    with torch.no_grad():
        plain = InfoNCELoss(encoder)(batch)
        cached = CachedInfoNCELoss(encoder, mini_batch_size=3)(batch)
    assert not cached.requires_grad
    torch.testing.assert_close(cached, plain, rtol=1e-6, atol=1e-6)


def test_bad_mini_batch_size(encoder):
    with pytest.raises(ValueError, match="mini_batch_size must be >= 1, but got 0"):
        CachedInfoNCELoss(encoder, mini_batch_size=0)
