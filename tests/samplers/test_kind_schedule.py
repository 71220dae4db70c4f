"""HybridBatchSampler's kind schedules: "exact" X-X counts per block, and "coin" as before.

Expected counts are ``floor(alpha * b + 0.5)`` per block of ``b`` steps (the documented
rule), spelled out by hand for the parametrised cases; the "coin" plans are compared with
the formula of the versions before ``kind_schedule`` and with digests of their plans.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from hybridlib.samplers import (
    BatchKind,
    HybridBatchSampler,
    PlannedBatch,
    XXBatchSampler,
    make_batch_sampler,
)

LANGUAGES = ["ar", "de", "en"]


def kinds(plan: list[PlannedBatch]) -> str:
    """``"X.X..."``: X for an X-X step, ``.`` for an X-Y step."""
    return "".join("X" if batch.kind is BatchKind.X_X else "." for batch in plan)


def blocks(text: str, size: int | None) -> list[str]:
    size = size or len(text)
    return [text[start : start + size] for start in range(0, len(text), size)]


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


@pytest.fixture
def sampler_of(build_pairs):
    """``sampler_of(**kwargs)``: 20 keys x 3 languages, batch 3, i.e. 20 steps an epoch."""
    pairs = build_pairs(20, LANGUAGES)

    def make(**kwargs) -> HybridBatchSampler:
        return HybridBatchSampler(pairs, **{"batch_size": 3, **kwargs})

    return make


# ------------------------------------------------------------------------ exact counts
@pytest.mark.parametrize(
    ("alpha", "kind_block", "per_block", "per_epoch"),
    [
        # one block of 20 steps
        (0.25, None, [5], 5),
        (0.5, None, [10], 10),
        (0.75, None, [15], 15),
        # blocks 3,3,3,3,3,3 and a short last block of 2: 0.75 -> 1; 1.5 -> 2; 2.25 -> 2
        (0.25, 3, [1] * 6 + [1], 7),  # last block: 0.25 * 2 = 0.5 rounds up to 1
        (0.5, 3, [2] * 6 + [1], 13),
        (0.75, 3, [2] * 6 + [2], 14),
        # blocks 7, 7, 6: 1.75 -> 2, 1.5 -> 2; 3.5 -> 4, 3 -> 3; 5.25 -> 5, 4.5 -> 5
        (0.25, 7, [2, 2, 2], 6),
        (0.5, 7, [4, 4, 3], 11),
        (0.75, 7, [5, 5, 5], 15),
        # blocks of 1: round(alpha) each
        (0.25, 1, [0] * 20, 0),
        (0.5, 1, [1] * 20, 20),
        # a block longer than the epoch is the whole epoch
        (0.5, 25, [10], 10),
        (0.3, 20, [6], 6),
    ],
)
def test_exact_count_per_block_and_per_epoch(
    sampler_of, alpha: float, kind_block: int | None, per_block: list[int], per_epoch: int
) -> None:
    for seed in (0, 1, 2):
        sampler = sampler_of(alpha=alpha, seed=seed, kind_block=kind_block)
        assert sampler.steps_per_epoch == 20
        for epoch in range(3):
            text = kinds(sampler.plan(epoch))
            assert [b.count("X") for b in blocks(text, kind_block)] == per_block, text
            assert text.count("X") == per_epoch


def test_halves_round_up_not_to_even(sampler_of) -> None:
    """floor(x + 0.5), not Python's round: round(2.5) == 2 and round(0.5) == 0."""
    halves = kinds(sampler_of(alpha=0.5, kind_block=5).plan(0))  # 2.5 X-X per block
    assert [b.count("X") for b in blocks(halves, 5)] == [3] * 4
    quarters = kinds(sampler_of(alpha=0.25, kind_block=2).plan(0))  # 0.5 X-X per block
    assert [b.count("X") for b in blocks(quarters, 2)] == [1] * 10


def test_exact_is_the_default_and_coin_is_not_exact(sampler_of) -> None:
    default = sampler_of(alpha=0.5)
    assert default.kind_schedule == "exact" and default.kind_block is None
    counts = {
        kinds(sampler_of(alpha=0.5, kind_schedule="coin", seed=seed).plan(0)).count("X")
        for seed in range(20)
    }
    assert len(counts) > 1, "the coin flip varies from seed to seed"


def test_order_within_blocks_varies_with_seed_and_epoch(sampler_of) -> None:
    by_seed = {kinds(sampler_of(alpha=0.5, seed=seed).plan(0)) for seed in range(10)}
    assert len(by_seed) == 10  # C(20, 10) = 184,756 orders
    sampler = sampler_of(alpha=0.5, seed=0)
    assert len({kinds(sampler.plan(epoch)) for epoch in range(10)}) == 10
    assert kinds(sampler.plan(3)) == kinds(sampler_of(alpha=0.5, seed=0).plan(3)), "repeatable"


def test_order_within_a_block_is_uniform(sampler_of) -> None:
    """Blocks of 4 at alpha 0.5: each of the C(4, 2) = 6 arrangements equally often."""
    sampler = sampler_of(alpha=0.5, seed=4, kind_block=4)
    counts = Counter(b for e in range(120) for b in blocks(kinds(sampler.plan(e)), 4))
    arrangements = {"".join(p) for p in itertools.permutations("XX..")}
    assert set(counts) == arrangements
    observed = np.array([counts[a] for a in sorted(arrangements)])
    assert observed.sum() == 600
    assert chisquare(observed).pvalue > 1e-3, counts


def test_a_run_shorter_than_an_epoch_gets_exactly_its_share(sampler_of) -> None:
    """A trainer of S = 7 steps passes kind_block=7: round(0.3 * 7) = round(2.1) = 2 X-X."""
    for seed in range(5):
        sampler = sampler_of(alpha=0.3, seed=seed, kind_block=7)
        run = []
        for _ in itertools.islice(iter(sampler), 7):
            run.append(sampler.last_batch)
        assert len(run) == 7 < sampler.steps_per_epoch
        assert kinds(run).count("X") == 2


def test_ranks_agree_on_kinds_and_languages(build_pairs) -> None:
    pairs = build_pairs(30, LANGUAGES)
    for kind_block in (None, 4):
        options = dict(batch_size=2, alpha=0.4, seed=9, num_replicas=3, kind_block=kind_block)
        ranks = [HybridBatchSampler(pairs, rank=r, **options).plan(1) for r in range(3)]
        assert len(ranks[0]) == 90 // 6
        for step in zip(*ranks, strict=True):
            assert len({batch.kind for batch in step}) == 1
            if step[0].kind is BatchKind.X_X:
                assert len({batch.languages for batch in step}) == 1
            keys = [pairs[qi].parallel_key for batch in step for qi, _ in batch.pairs]
            assert len(set(keys)) == 6
        per_block = [b.count("X") for b in blocks(kinds(ranks[0]), kind_block)]
        assert per_block == ([6] if kind_block is None else [2, 2, 2, 1])  # 15 = 4+4+4+3


def test_resume_mid_epoch_keeps_the_exact_count(sampler_of) -> None:
    full = sampler_of(alpha=0.75, seed=5, kind_block=6).plan(2)
    for position in (0, 5, 13, 20):
        interrupted = sampler_of(alpha=0.75, seed=5, kind_block=6)
        interrupted.set_epoch(2)
        done = list(itertools.islice(iter(interrupted), position))
        resumed = sampler_of(alpha=0.75, seed=5, kind_block=6)
        resumed.load_state_dict(interrupted.state_dict())
        resumed.set_epoch(2)
        rest = []
        for pairs in resumed:
            rest.append(resumed.last_batch)
            assert pairs == resumed.last_batch.pairs
        assert done + [b.pairs for b in rest] == [b.pairs for b in full]
        text = kinds(full[:position] + rest)
        assert [b.count("X") for b in blocks(text, 6)] == [5, 5, 5, 2]  # 4.5 -> 5, 1.5 -> 2


# --------------------------------------------------------------------------- property
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alpha=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1),
    kind_block=st.none() | st.integers(1, 40),
    n_keys=st.integers(4, 40),
    batch_size=st.integers(1, 4),
    seed=st.integers(0, 2**32),
    epoch=st.integers(0, 5),
)
def test_every_block_holds_exactly_its_share(
    build_pairs, alpha, kind_block, n_keys, batch_size, seed, epoch
) -> None:
    sampler = HybridBatchSampler(
        build_pairs(n_keys, LANGUAGES),
        batch_size=batch_size,
        alpha=alpha,
        seed=seed,
        kind_block=kind_block,
    )
    text = kinds(sampler.plan(epoch))
    assert len(text) == sampler.steps_per_epoch == 3 * n_keys // batch_size
    for block in blocks(text, kind_block):
        assert block.count("X") == round_half_up(alpha * len(block)), (alpha, block)
    if alpha in (0.0, 1.0):
        assert set(text) <= {"X" if alpha == 1 else "."}


# ------------------------------------------------------------------------ "coin" as before
# digests of plan(epoch) computed with the sampler before kind_schedule existed (b568dc7)
OLD_PLAN_DIGESTS = {
    (0, 0.5, 1, 0, 0): "d05681f80a6327af",
    (7, 0.3, 2, 1, 3): "159e019062f6eb39",
    (11, 0.8, 1, 0, 1): "26a235441c829f4f",
}


def plan_digest(plan: list[PlannedBatch]) -> str:
    rows = [[batch.kind.value, list(batch.languages), batch.pairs] for batch in plan]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


@pytest.mark.parametrize(("seed", "alpha", "num_replicas", "rank", "epoch"), list(OLD_PLAN_DIGESTS))
def test_coin_reproduces_the_old_plans(build_pairs, seed, alpha, num_replicas, rank, epoch) -> None:
    pairs = build_pairs(30, LANGUAGES, absent={(3, "de")}, duplicated={(5, "ar")})
    options = dict(batch_size=3, alpha=alpha, seed=seed, num_replicas=num_replicas, rank=rank)
    coin = HybridBatchSampler(pairs, kind_schedule="coin", **options)
    plan = coin.plan(epoch)
    # the old formula: one uniform draw per step from the epoch's generator
    old_is_xx = np.random.default_rng([seed, epoch]).random(coin.steps_per_epoch) < alpha
    assert kinds(plan) == "".join("X" if x else "." for x in old_is_xx)
    assert plan_digest(plan) == OLD_PLAN_DIGESTS[(seed, alpha, num_replicas, rank, epoch)]
    exact = HybridBatchSampler(pairs, **options)
    assert plan_digest(exact.plan(epoch)) != plan_digest(plan)


# ---------------------------------------------------------------- arguments and state
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kind_schedule": "Exact"}, ValueError, "kind_schedule must be one of .*'Exact'"),
        ({"kind_block": 0}, ValueError, "kind_block must be >= 1, but got 0"),
        ({"kind_block": 2.5}, TypeError, "kind_block must be an int, but got 2.5"),
        ({"kind_block": True}, TypeError, "kind_block must be an int, but got True"),
        (
            {"kind_schedule": "coin", "kind_block": 3},
            ValueError,
            "kind_block applies to kind_schedule='exact' only",
        ),
    ],
)
def test_bad_schedule_arguments(sampler_of, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        sampler_of(**kwargs)


def test_repr_and_state_name_the_schedule(sampler_of) -> None:
    sampler = sampler_of(kind_block=np.int64(4))
    assert sampler.kind_block == 4 and type(sampler.kind_block) is int
    assert "kind_schedule='exact', kind_block=4" in repr(sampler)
    state = sampler.state_dict()
    assert (state["kind_schedule"], state["kind_block"]) == ("exact", 4)
    assert "kind_schedule='coin', kind_block=None" in repr(sampler_of(kind_schedule="coin"))


def test_state_without_schedule_is_read_as_the_old_coin(sampler_of) -> None:
    """A checkpoint written before kind_schedule existed holds coin-flip positions."""
    state = sampler_of(kind_schedule="coin").state_dict()
    legacy = {k: v for k, v in state.items() if k not in ("kind_schedule", "kind_block")}
    sampler_of(kind_schedule="coin").load_state_dict(legacy)
    with pytest.raises(
        ValueError,
        match="saved with kind_schedule='coin', but this sampler has kind_schedule='exact'",
    ):
        sampler_of().load_state_dict(legacy)
    bare = sampler_of()
    bare.load_state_dict({"epoch": 1, "position": 3})  # no settings at all: accepted
    assert (bare.epoch, bare.position) == (1, 3)


def test_make_batch_sampler_passes_the_schedule_on(build_pairs) -> None:
    pairs = build_pairs(20, LANGUAGES)
    made = make_batch_sampler("hybrid", pairs, batch_size=3, seed=2, kind_block=5)
    assert made.plan(0) == HybridBatchSampler(pairs, batch_size=3, seed=2, kind_block=5).plan(0)
    coin = make_batch_sampler("hybrid", pairs, batch_size=3, seed=2, kind_schedule="coin")
    assert coin.kind_schedule == "coin"
    assert coin.plan(0) == HybridBatchSampler(
        pairs, batch_size=3, seed=2, kind_schedule="coin"
    ).plan(0)
    assert make_batch_sampler("x-x", pairs, batch_size=3, kind_schedule="coin").kind_schedule == (
        "coin"
    )
    assert isinstance(make_batch_sampler("language-specific", pairs, batch_size=3), XXBatchSampler)
    with pytest.raises(ValueError, match="kind_schedule must be one of"):
        make_batch_sampler("hybrid", pairs, batch_size=3, kind_schedule="bernoulli")

    received = []

    def factory(dataset, **kwargs):
        received.append(kwargs)
        return HybridBatchSampler(dataset, **kwargs)

    make_batch_sampler(factory, pairs, batch_size=3)
    make_batch_sampler(factory, pairs, batch_size=3, kind_block=4)
    by_class = make_batch_sampler(HybridBatchSampler, pairs, batch_size=3, kind_schedule="coin")
    assert by_class.kind_schedule == "coin"
    assert received == [
        {"batch_size": 3},  # defaults are not forced on a callable that may not know them
        {"kind_schedule": "exact", "kind_block": 4, "batch_size": 3},
    ]


# ------------------------------------------------------------------- scheduled alpha
def test_scheduled_alpha_by_hand(sampler_of) -> None:
    # blocks of 4, ramp (1, 2/3, 1/3, 0): running sums 1, 5/3, 2, 2 round to 1, 2, 2, 2
    assert kinds(sampler_of(alpha=1.0, alpha_end=0.0, kind_block=4).plan(0)) == "XX.." * 5
    assert kinds(sampler_of(alpha=0.0, alpha_end=1.0, kind_block=4).plan(0)) == "..XX" * 5
    # one block of 20 steps from 1 to 0, in exact rational arithmetic: a dithered hand-over
    text = kinds(sampler_of(alpha=1.0, alpha_end=0.0).plan(0))
    assert text == exact_ramp_kinds(Fraction(1), Fraction(0), 20) == "XXXX.XXX.X.X...X...."
    assert text.count("X") == 10


def exact_ramp_kinds(start: Fraction, end: Fraction, b: int) -> str:
    """The documented rule in exact arithmetic: X-X where floor(C_s + 1/2) steps up."""
    out, before = "", 0
    total = Fraction(0)
    for s in range(b):
        total += start + (end - start) * Fraction(s, b - 1)
        now = math.floor(total + Fraction(1, 2))
        out += "X" if now > before else "."
        before = now
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(alpha=st.floats(0, 1), alpha_end=st.floats(0, 1), kind_block=st.integers(1, 20))
def test_scheduled_exact_kinds_follow_the_ramp_to_half_a_step(
    sampler_of, alpha, alpha_end, kind_block
) -> None:
    """At every step of a block, the X-X steps so far differ from the ramp's running sum by
    at most one half: the schedule is followed locally, and the block's total is exact."""
    text = kinds(sampler_of(alpha=alpha, alpha_end=alpha_end, kind_block=kind_block).plan(0))
    for block in blocks(text, kind_block):
        b = len(block)
        ramp = [alpha + (alpha_end - alpha) * (s / (b - 1) if b > 1 else 0.0) for s in range(b)]
        for s in range(b):
            assert abs(block[: s + 1].count("X") - sum(ramp[: s + 1])) <= 0.5 + 1e-9, (block, ramp)


def test_scheduled_coin_moves_from_x_x_to_x_y(build_pairs) -> None:
    pairs = build_pairs(600, LANGUAGES)  # 600 steps an epoch at batch 3
    plan = HybridBatchSampler(
        pairs, batch_size=3, alpha=0.9, alpha_end=0.1, kind_schedule="coin"
    ).plan(0)
    text = kinds(plan)
    first, last = text[:150].count("X") / 150, text[-150:].count("X") / 150
    assert first > 0.7 and last < 0.3, (first, last)  # expected about 0.8 and 0.2


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda p: HybridBatchSampler(p, batch_size=3, alpha_end=1.5),
            ValueError,
            r"alpha_end must be in \[0, 1\], but got 1.5",
        ),
        (
            lambda p: XXBatchSampler(p, batch_size=3, alpha_end=0.0),
            TypeError,
            "XXBatchSampler has alpha = 1",
        ),
        (
            lambda p: make_batch_sampler("per-pair", p, batch_size=3, alpha_end=0.0),
            ValueError,
            "alpha_end \\(a scheduled alpha\\) applies to HybridBatchSampler",
        ),
    ],
)
def test_scheduled_alpha_arguments(build_pairs, make, error, message) -> None:
    with pytest.raises(error, match=message):
        make(build_pairs(20, LANGUAGES))


def test_state_of_another_schedule_is_refused(sampler_of) -> None:
    state = sampler_of(alpha=1.0, alpha_end=0.0).state_dict()
    with pytest.raises(
        ValueError, match="saved with alpha_end=0.0, but this sampler has alpha_end=None"
    ):
        sampler_of(alpha=1.0).load_state_dict(state)
