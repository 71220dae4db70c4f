"""info_nce against hand-computed values and an independent loop-by-loop oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.losses import info_nce


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# q = [e1, e2], p = [e1, (0.6, 0.8)]: cosines [[1, 0.6], [0, 0.8]]; temperature 0.5 -> scale 2
Q = [[1.0, 0.0], [0.0, 1.0]]
P = [[1.0, 0.0], [0.6, 0.8]]


def test_two_by_two_by_hand():
    # row 0: scores (2, 1.2), positive 2;  row 1: scores (0, 1.6), positive 1.6
    row0 = -2.0 + math.log(math.exp(2.0) + math.exp(1.2))  # 0.371101...
    row1 = -1.6 + math.log(math.exp(0.0) + math.exp(1.6))  # 0.183901...
    loss = info_nce(t(Q), t(P), temperature=0.5)
    assert loss.item() == pytest.approx((row0 + row1) / 2, abs=1e-12)
    assert loss.item() == pytest.approx(0.2775011, abs=1e-6)


def test_default_temperature_is_scale_20():
    row0 = -20.0 + math.log(math.exp(20.0) + math.exp(12.0))
    row1 = -16.0 + math.log(math.exp(0.0) + math.exp(16.0))
    assert info_nce(t(Q), t(P)).item() == pytest.approx((row0 + row1) / 2, abs=1e-12)


def test_unnormalised_inputs_are_normalised():
    scaled_q = t(Q) * torch.tensor([[3.0], [0.5]], dtype=torch.float64)
    scaled_p = t(P) * 7.0
    assert info_nce(scaled_q, scaled_p, temperature=0.5).item() == pytest.approx(
        info_nce(t(Q), t(P), temperature=0.5).item(), abs=1e-12
    )


def test_symmetric_adds_passage_to_query_direction():
    # passage->query scores: p0 vs (q0, q1) = (2, 0); p1 vs (q0, q1) = (1.2, 1.6)
    qp = info_nce(t(Q), t(P), temperature=0.5).item()
    p_row0 = -2.0 + math.log(math.exp(2.0) + math.exp(0.0))
    p_row1 = -1.6 + math.log(math.exp(1.2) + math.exp(1.6))
    expected = (qp + (p_row0 + p_row1) / 2) / 2
    assert info_nce(t(Q), t(P), temperature=0.5, symmetric=True).item() == pytest.approx(
        expected, abs=1e-12
    )


def test_shared_parallel_key_masks_the_other_pair_never_the_positive():
    # with one key both rows keep only their positive: loss exactly 0
    loss = info_nce(t(Q), t(P), temperature=0.5, parallel_keys=["k", "k"])
    assert loss.item() == 0.0
    # distinct keys change nothing
    assert info_nce(t(Q), t(P), temperature=0.5, parallel_keys=["a", "b"]).item() == pytest.approx(
        info_nce(t(Q), t(P), temperature=0.5).item(), abs=1e-15
    )


def test_masking_three_pairs_by_hand():
    q = t([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    p = t([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    # cos rows: q0 (0, 1, .6); q1 (1, 0, .8); q2 (.8, .6, 1); scale 1; keys a, a, b
    # q0 masks p1; q1 masks p0; q2 keeps all
    rows = [
        -0.0 + math.log(math.exp(0.0) + math.exp(0.6)),
        -0.0 + math.log(math.exp(0.0) + math.exp(0.8)),
        -1.0 + math.log(math.exp(0.8) + math.exp(0.6) + math.exp(1.0)),
    ]
    loss = info_nce(q, p, temperature=1.0, parallel_keys=["a", "a", "b"])
    assert loss.item() == pytest.approx(sum(rows) / 3, abs=1e-12)


def test_hard_negatives_own_and_shared_by_hand():
    h = t([[0.0, 1.0], [1.0, 0.0]])  # one hard negative per query
    # q0: cos to h0 = 0, to h1 = 1;  q1: cos to h0 = 1, to h1 = 0; scale 2
    own = [
        -2.0 + math.log(math.exp(2.0) + math.exp(1.2) + math.exp(0.0)),
        -1.6 + math.log(math.exp(0.0) + math.exp(1.6) + math.exp(0.0)),
    ]
    shared = [
        -2.0 + math.log(math.exp(2.0) + math.exp(1.2) + math.exp(0.0) + math.exp(2.0)),
        -1.6 + math.log(math.exp(0.0) + math.exp(1.6) + math.exp(2.0) + math.exp(0.0)),
    ]
    got_own = info_nce(t(Q), t(P), temperature=0.5, hard_negative_emb=h, share_hard_negatives=False)
    got_shared = info_nce(t(Q), t(P), temperature=0.5, hard_negative_emb=h)
    assert got_own.item() == pytest.approx(sum(own) / 2, abs=1e-12)
    assert got_shared.item() == pytest.approx(sum(shared) / 2, abs=1e-12)
    # (B, d) and (B, 1, d) are the same thing
    assert info_nce(t(Q), t(P), temperature=0.5, hard_negative_emb=h[:, None]).item() == (
        got_shared.item()
    )


def oracle(q, p, h, keys, temperature, symmetric, share):
    """Loop-by-loop InfoNCE in numpy (independent of the implementation)."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    b = len(q)
    if h is not None:
        h = h / np.linalg.norm(h, axis=2, keepdims=True)

    def ce(anchor, cands, positive):
        logits = [float(anchor @ c) / temperature for c in cands]
        m = max(logits)
        return -(logits[positive] - (m + math.log(sum(math.exp(x - m) for x in logits))))

    total = 0.0
    for i in range(b):
        cands = [p[j] for j in range(b) if j == i or keys is None or keys[j] != keys[i]]
        positive = sum(1 for j in range(i) if keys is None or keys[j] != keys[i])
        if h is not None:
            cands += [x for j in range(b) for x in h[j]] if share else list(h[i])
        total += ce(q[i], cands, positive)
    loss = total / b
    if symmetric:
        back = 0.0
        for i in range(b):
            cands = [q[j] for j in range(b) if j == i or keys is None or keys[j] != keys[i]]
            positive = sum(1 for j in range(i) if keys is None or keys[j] != keys[i])
            back += ce(p[i], cands, positive)
        loss = (loss + back / b) / 2
    return loss


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 6),
    dim=st.integers(1, 5),
    k=st.integers(0, 3),
    n_keys=st.integers(1, 6),
    symmetric=st.booleans(),
    share=st.booleans(),
    use_keys=st.booleans(),
    temperature=st.sampled_from([0.05, 0.3, 1.0, 2.5]),
)
def test_matches_loop_oracle(seed, batch, dim, k, n_keys, symmetric, share, use_keys, temperature):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(batch, dim)) + 0.01
    p = rng.normal(size=(batch, dim)) + 0.01
    h = rng.normal(size=(batch, k, dim)) + 0.01 if k else None
    keys = [f"k{rng.integers(n_keys)}" for _ in range(batch)] if use_keys else None
    got = info_nce(
        torch.from_numpy(q),
        torch.from_numpy(p),
        temperature=temperature,
        symmetric=symmetric,
        hard_negative_emb=None if h is None else torch.from_numpy(h),
        parallel_keys=keys,
        share_hard_negatives=share,
    )
    assert got.item() == pytest.approx(
        oracle(q, p, h, keys, temperature, symmetric, share), rel=1e-9, abs=1e-9
    )


def test_gradients_are_finite_with_masking():
    q = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    p = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    info_nce(q, p, parallel_keys=["a", "a", "b", "a"], symmetric=True).backward()
    assert torch.isfinite(q.grad).all() and torch.isfinite(p.grad).all()
    # the masked loss matches the oracle's gradient by finite differences
    assert torch.autograd.gradcheck(
        lambda a, b: info_nce(a, b, temperature=0.5, parallel_keys=["a", "a", "b", "a"]),
        (q.detach().requires_grad_(), p.detach().requires_grad_()),
    )


def test_half_precision_is_computed_in_float32():
    q = torch.tensor(Q, dtype=torch.bfloat16)
    p = torch.tensor(P, dtype=torch.bfloat16)
    loss = info_nce(q, p, temperature=0.5)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(0.2775011, abs=1e-2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"passage_emb": torch.zeros(3, 2)},
            r"passage_emb must have the shape of query_emb \(2, 2\), but got \(3, 2\)",
        ),
        ({"temperature": 0.0}, "temperature must be > 0, but got 0.0"),
        ({"parallel_keys": ["a"]}, r"parallel_keys must have one key per pair \(2\), but got 1"),
        (
            {"hard_negative_emb": torch.zeros(2, 3)},
            r"hard_negative_emb must have shape \(2, 2\) or \(2, k, 2\), but got \(2, 3\)",
        ),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"query_emb": torch.ones(2, 2), "passage_emb": torch.ones(2, 2), **kwargs}
    with pytest.raises(ValueError, match=message):
        info_nce(args.pop("query_emb"), args.pop("passage_emb"), **args)
