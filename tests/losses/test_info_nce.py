"""info_nce against hand-computed values and an independent loop-by-loop oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.data.types import TrainingPair
from hybridlib.losses import InfoNCELoss, info_nce
from hybridlib.samplers import ParallelPairs


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


def test_additive_margin_by_hand_in_both_directions():
    """LaBSE's additive margin: the positive's cosine minus 0.25 before the scale of 2."""
    # query->passage: row 0 scores (2 - 0.5, 1.2), row 1 (0, 1.6 - 0.5)
    row0 = -1.5 + math.log(math.exp(1.5) + math.exp(1.2))
    row1 = -1.1 + math.log(math.exp(0.0) + math.exp(1.1))
    assert info_nce(t(Q), t(P), temperature=0.5, margin=0.25).item() == pytest.approx(
        (row0 + row1) / 2, abs=1e-12
    )
    # passage->query: p0 vs (q0, q1) = (2 - 0.5, 0); p1 vs (q0, q1) = (1.2, 1.6 - 0.5)
    p_row0 = -1.5 + math.log(math.exp(1.5) + math.exp(0.0))
    p_row1 = -1.1 + math.log(math.exp(1.2) + math.exp(1.1))
    both = info_nce(t(Q), t(P), temperature=0.5, margin=0.25, symmetric=True).item()
    assert both == pytest.approx(((row0 + row1) / 2 + (p_row0 + p_row1) / 2) / 2, abs=1e-12)
    assert info_nce(t(Q), t(P), temperature=0.5, margin=0.0).item() == pytest.approx(
        0.2775011, abs=1e-6
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


# three pairs; passages 0 and 2 are one text (one answer under two questions), so p0 == p2
Q3 = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
P3 = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def test_same_passage_text_is_masked_by_hand():
    # temperature 1; cos rows: q0 (1, 0, 1); q1 (0, 1, 0); q2 (.6, .8, .6)
    # passage keys x, y, x: q0 loses column 2, q2 loses column 0, q1 keeps all
    rows = [
        -1.0 + math.log(math.exp(1.0) + math.exp(0.0)),
        -1.0 + math.log(math.exp(0.0) + math.exp(1.0) + math.exp(0.0)),
        -0.6 + math.log(math.exp(0.8) + math.exp(0.6)),
    ]
    loss = info_nce(t(Q3), t(P3), temperature=1.0, passage_keys=["x", "y", "x"])
    assert loss.item() == pytest.approx(sum(rows) / 3, abs=1e-12)
    # without the content keys the duplicate stays a negative (one parallel key each)
    unmasked = info_nce(t(Q3), t(P3), temperature=1.0, parallel_keys=["a", "b", "c"])
    assert unmasked.item() > loss.item() + 0.1


def test_same_passage_text_is_masked_in_the_symmetric_term_by_hand():
    # passage->query cos rows: p0 (1, 0, .6); p1 (0, 1, .8); p2 (1, 0, .6)
    # p0 loses q2 (q2's positive is p0's text), p2 loses q0
    qp = [
        -1.0 + math.log(math.exp(1.0) + math.exp(0.0)),
        -1.0 + math.log(math.exp(0.0) + math.exp(1.0) + math.exp(0.0)),
        -0.6 + math.log(math.exp(0.8) + math.exp(0.6)),
    ]
    pq = [
        -1.0 + math.log(math.exp(1.0) + math.exp(0.0)),
        -1.0 + math.log(math.exp(0.0) + math.exp(1.0) + math.exp(0.8)),
        -0.6 + math.log(math.exp(0.0) + math.exp(0.6)),
    ]
    loss = info_nce(t(Q3), t(P3), temperature=1.0, symmetric=True, passage_keys=["x", "y", "x"])
    assert loss.item() == pytest.approx((sum(qp) / 3 + sum(pq) / 3) / 2, abs=1e-12)


def test_content_and_parallel_masks_combine():
    # parallel keys a, a, b mask (0, 1) and (1, 0); passage keys x, y, y mask (1, 2), (2, 1)
    # temperature 1; cos rows: q0 (1, 0, 1); q1 (0, 1, 0); q2 (.6, .8, .6)
    rows = [
        -1.0 + math.log(math.exp(1.0) + math.exp(1.0)),  # q0 keeps p0, p2
        -1.0 + math.log(math.exp(1.0)),  # q1 keeps only its positive
        -0.6 + math.log(math.exp(0.6) + math.exp(0.6)),  # q2 keeps p0, p2
    ]
    loss = info_nce(
        t(Q3), t(P3), temperature=1.0, parallel_keys=["a", "a", "b"], passage_keys=["x", "y", "y"]
    )
    assert loss.item() == pytest.approx(sum(rows) / 3, abs=1e-12)


def test_distinct_passages_change_nothing():
    for kwargs in ({}, {"parallel_keys": ["a", "a", "b"]}, {"symmetric": True}):
        plain = info_nce(t(Q3), t(P3), temperature=0.5, **kwargs)
        keyed = info_nce(t(Q3), t(P3), temperature=0.5, passage_keys=["x", "y", "z"], **kwargs)
        assert keyed.item() == plain.item()


def test_content_mask_never_removes_the_positive():
    # one text for every passage: each row keeps only its positive, loss exactly 0
    for symmetric in (False, True):
        loss = info_nce(t(Q3), t(P3), symmetric=symmetric, passage_keys=["x"] * 3)
        assert loss.item() == 0.0
    # with hard negatives the positive competes with those alone
    h = t([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    loss = info_nce(
        t(Q3),
        t(P3),
        temperature=1.0,
        hard_negative_emb=h,
        share_hard_negatives=False,
        passage_keys=["x"] * 3,
    )
    rows = [
        -1.0 + math.log(math.exp(1.0) + math.exp(0.0)),
        -1.0 + math.log(math.exp(1.0) + math.exp(0.0)),
        -0.6 + math.log(math.exp(0.6) + math.exp(0.8)),
    ]
    assert loss.item() == pytest.approx(sum(rows) / 3, abs=1e-12)


class TableEncoder(torch.nn.Module):
    """Embeds each text by a fixed table: enough for the loss module's batch plumbing."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        super().__init__()
        self.table = table

    def embed(self, texts: list[str], kind: str) -> torch.Tensor:
        return t([self.table[text] for text in texts])


def test_loss_module_masks_collated_duplicates():
    """Two questions with one answer text: ParallelPairs.collate gives them one passage key."""
    pairs = ParallelPairs(
        [
            TrainingPair("q0", "The answer.", "en", "k0", "a"),
            TrainingPair("q1", "Another one.", "en", "k1", "a"),
            TrainingPair("q2", "The answer.", "en", "k2", "a"),
        ]
    )
    batch = ParallelPairs.collate([pairs[i] for i in range(3)])
    keys = batch["passage_keys"]
    assert keys[0] == keys[2] != keys[1]
    encoder = TableEncoder(
        {"q0": Q3[0], "q1": Q3[1], "q2": Q3[2], "The answer.": P3[0], "Another one.": P3[1]}
    )
    expected = info_nce(
        t(Q3), t(P3), temperature=1.0, parallel_keys=batch["parallel_keys"], passage_keys=keys
    )
    assert expected.item() == pytest.approx(
        info_nce(t(Q3), t(P3), temperature=1.0, passage_keys=["x", "y", "x"]).item(), abs=1e-12
    )
    assert InfoNCELoss(encoder, temperature=1.0)(batch).item() == pytest.approx(
        expected.item(), abs=1e-12
    )
    # mask_false_negatives=False switches off both kinds of masking
    unmasked = InfoNCELoss(encoder, temperature=1.0, mask_false_negatives=False)(batch)
    assert unmasked.item() == pytest.approx(info_nce(t(Q3), t(P3), temperature=1.0).item())
    # a batch without passage_keys masks by parallel key only, as before
    without = {k: v for k, v in batch.items() if k != "passage_keys"}
    assert InfoNCELoss(encoder, temperature=1.0)(without).item() == pytest.approx(
        unmasked.item(), abs=1e-12
    )


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


def oracle(q, p, h, keys, temperature, symmetric, share, passage_keys=None, margin=0.0):
    """Loop-by-loop InfoNCE in numpy (independent of the implementation)."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    b = len(q)
    if h is not None:
        h = h / np.linalg.norm(h, axis=2, keepdims=True)

    def ce(anchor, cands, positive):
        logits = [(float(anchor @ c) - (margin if n == positive else 0.0)) / temperature
                  for n, c in enumerate(cands)]  # fmt: skip
        m = max(logits)
        return -(logits[positive] - (m + math.log(sum(math.exp(x - m) for x in logits))))

    def kept(i, j):  # column j is a candidate of row i
        same_key = keys is not None and keys[j] == keys[i]
        same_text = passage_keys is not None and passage_keys[j] == passage_keys[i]
        return j == i or not (same_key or same_text)

    total = 0.0
    for i in range(b):
        cands = [p[j] for j in range(b) if kept(i, j)]
        positive = sum(1 for j in range(i) if kept(i, j))
        if h is not None:
            cands += [x for j in range(b) for x in h[j]] if share else list(h[i])
        total += ce(q[i], cands, positive)
    loss = total / b
    if symmetric:
        back = 0.0
        for i in range(b):
            cands = [q[j] for j in range(b) if kept(i, j)]
            positive = sum(1 for j in range(i) if kept(i, j))
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
    n_texts=st.none() | st.integers(1, 6),
    margin=st.sampled_from([0.0, 0.1, 0.35]),
)
def test_matches_loop_oracle(
    seed, batch, dim, k, n_keys, symmetric, share, use_keys, temperature, n_texts, margin
):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(batch, dim)) + 0.01
    p = rng.normal(size=(batch, dim)) + 0.01
    h = rng.normal(size=(batch, k, dim)) + 0.01 if k else None
    keys = [f"k{rng.integers(n_keys)}" for _ in range(batch)] if use_keys else None
    texts = None if n_texts is None else [f"t{rng.integers(n_texts)}" for _ in range(batch)]
    got = info_nce(
        torch.from_numpy(q),
        torch.from_numpy(p),
        temperature=temperature,
        symmetric=symmetric,
        hard_negative_emb=None if h is None else torch.from_numpy(h),
        parallel_keys=keys,
        passage_keys=texts,
        share_hard_negatives=share,
        margin=margin,
    )
    assert got.item() == pytest.approx(
        oracle(q, p, h, keys, temperature, symmetric, share, texts, margin), rel=1e-9, abs=1e-9
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
        ({"margin": -0.1}, "margin must be a finite number >= 0, but got -0.1"),
        ({"margin": float("nan")}, "margin must be a finite number >= 0, but got nan"),
        ({"parallel_keys": ["a"]}, r"parallel_keys must have one key per pair \(2\), but got 1"),
        (
            {"passage_keys": ["a", "b", "c"]},
            r"passage_keys must have one key per pair \(2\), but got 3",
        ),
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


@pytest.mark.parametrize("name", ["parallel_keys", "passage_keys"])
def test_keys_as_one_string_is_refused(name):
    with pytest.raises(TypeError, match=f"{name} must be a list of keys, not one string: 'ab'"):
        info_nce(torch.ones(2, 2), torch.ones(2, 2), **{name: "ab"})
