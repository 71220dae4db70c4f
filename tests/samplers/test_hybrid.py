"""HybridBatchSampler: batch composition, epoch coverage, statistics, determinism, resume, ranks.

Expected values come from the TrainingPair lists themselves (an oracle independent of the
sampler's index arithmetic) and from the documented definitions in the sampler's docstring.
Which steps are X-X (the kind schedule: exact, coin, blocks): counted, tested and resumable."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chisquare

from hybridlib.data.types import TrainingPair
from hybridlib.samplers import (
    BatchKind,
    HybridBatchSampler,
    ParallelPairs,
    PlannedBatch,
    XXBatchSampler,
    XYBatchSampler,
    make_batch_sampler,
)

LANGUAGE_NAMES = ["ar", "de", "en", "th"]


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Case:
    """A synthetic data set and sampler settings that can be planned (by construction)."""

    training_pairs: list[TrainingPair]
    batch_size: int
    num_replicas: int
    alpha: float
    seed: int
    drop_last: bool
    kind_schedule: str = "exact"
    kind_block: int | None = None

    def sampler(self, rank: int = 0, **overrides) -> HybridBatchSampler:
        kwargs = dict(
            batch_size=self.batch_size,
            alpha=self.alpha,
            seed=self.seed,
            drop_last=self.drop_last,
            num_replicas=self.num_replicas,
            rank=rank,
            kind_schedule=self.kind_schedule,
            kind_block=self.kind_block,
        )
        return HybridBatchSampler(ParallelPairs(self.training_pairs), **{**kwargs, **overrides})


@st.composite
def cases(draw, build_pairs) -> Case:
    """At most ``n_keys - batch_size * num_replicas`` (key, language) cells are absent, so
    every language keeps enough keys for an X-X batch and enough keys stay complete (in
    every language) for an X-Y batch; one language means alpha = 1."""
    languages = LANGUAGE_NAMES[: draw(st.integers(1, len(LANGUAGE_NAMES)))]
    batch_size = draw(st.integers(1, 5))
    num_replicas = draw(st.integers(1, 3))
    n_global = batch_size * num_replicas
    n_keys = draw(st.integers(n_global, n_global + 12))
    cells = [(k, lang) for k in range(n_keys) for lang in languages]
    absent = draw(st.sets(st.sampled_from(cells), max_size=n_keys - n_global))
    duplicated = draw(st.sets(st.sampled_from(cells), max_size=3))
    alpha = 1.0 if len(languages) == 1 else draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1))
    kind_schedule = draw(st.sampled_from(["exact", "coin"]))
    kind_block = draw(st.none() | st.integers(1, 8)) if kind_schedule == "exact" else None
    return Case(
        training_pairs=build_pairs(n_keys, languages, absent, duplicated),
        batch_size=batch_size,
        num_replicas=num_replicas,
        alpha=alpha,
        seed=draw(st.integers(0, 2**32)),
        drop_last=draw(st.booleans()),
        kind_schedule=kind_schedule,
        kind_block=kind_block,
    )


def keys_by_language(training_pairs: list[TrainingPair]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in training_pairs:
        out.setdefault(p.language, set()).add(p.parallel_key)
    return out


def cross_lingual_keys(training_pairs: list[TrainingPair]) -> set[str]:
    """Keys present in two or more languages."""
    languages: dict[str, set[str]] = {}
    for p in training_pairs:
        languages.setdefault(p.parallel_key, set()).add(p.language)
    return {k for k, langs in languages.items() if len(langs) >= 2}


def global_steps(case: Case, epoch: int = 0) -> list[list[PlannedBatch]]:
    """For each step, the planned batch of every rank."""
    plans = [case.sampler(rank=r).plan(epoch) for r in range(case.num_replicas)]
    return [list(step) for step in zip(*plans, strict=True)]


# -------------------------------------------------------------------------- alpha, weights
def many_steps(sampler: HybridBatchSampler, n_epochs: int) -> list[PlannedBatch]:
    return [batch for epoch in range(n_epochs) for batch in sampler.plan(epoch)]


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


# ---------------------------------------------------------------------------- properties
@PROPERTY_SETTINGS
@given(data=st.data())
def test_batch_composition_and_rank_agreement(build_pairs, data) -> None:
    case = data.draw(cases(build_pairs))
    tp = case.training_pairs
    for ranks in global_steps(case):
        kinds = {batch.kind for batch in ranks}
        assert len(kinds) == 1, "all ranks draw the same kind at a step"
        kind = kinds.pop()
        if kind is BatchKind.X_X:
            assert len({batch.languages for batch in ranks}) == 1, "and the same language"
        keys = []
        for batch in ranks:
            assert len(batch.pairs) == case.batch_size
            seen_languages = set()
            for qi, pi in batch.pairs:
                query, passage = tp[qi], tp[pi]
                assert query.parallel_key == passage.parallel_key
                keys.append(query.parallel_key)
                seen_languages |= {query.language, passage.language}
                if kind is BatchKind.X_X:
                    assert qi == pi and query.language == batch.languages[0]
                else:
                    assert query.language != passage.language
            assert batch.languages == tuple(sorted(seen_languages))
        assert len(set(keys)) == len(keys) == case.batch_size * case.num_replicas


@PROPERTY_SETTINGS
@given(data=st.data())
def test_epoch_coverage(build_pairs, data) -> None:
    """Each X-X language and the X-Y batches draw keys as a stream of permutations:
    every run of n consecutive draws (from the epoch's start) over n keys holds each once."""
    case = data.draw(cases(build_pairs))
    tp = case.training_pairs
    streams: dict[str, list[str]] = {}
    for ranks in global_steps(case):
        name = ranks[0].languages[0] if ranks[0].kind is BatchKind.X_X else "x-y"
        streams.setdefault(name, []).extend(tp[qi].parallel_key for b in ranks for qi, _ in b.pairs)
    population = {**keys_by_language(tp), "x-y": cross_lingual_keys(tp)}
    for name, stream in streams.items():
        keys = population[name]
        for start in range(0, len(stream), len(keys)):
            chunk = stream[start : start + len(keys)]
            assert len(set(chunk)) == len(chunk), f"{name}: a key repeats within a cycle"
            assert set(chunk) <= keys
            if len(chunk) == len(keys):
                assert set(chunk) == keys, f"{name}: a full cycle misses a key"
    n_items = sum(len(s) for s in streams.values())
    assert n_items == len(global_steps(case)) * case.batch_size * case.num_replicas


@PROPERTY_SETTINGS
@given(data=st.data())
def test_length_is_exact(build_pairs, data) -> None:
    case = data.draw(cases(build_pairs))
    n_global = case.batch_size * case.num_replicas
    expected = len(case.training_pairs) / n_global
    expected = math.floor(expected) if case.drop_last else math.ceil(expected)
    sampler = case.sampler(rank=case.num_replicas - 1)
    assert len(sampler) == sampler.steps_per_epoch == expected
    assert len(list(sampler)) == expected == len(sampler.plan(0))
    assert len(list(sampler)) == expected, "the next epoch has the same length"


@PROPERTY_SETTINGS
@given(data=st.data())
def test_resume_mid_epoch_gives_the_remaining_batches(build_pairs, data) -> None:
    case = data.draw(cases(build_pairs))
    first = case.sampler()
    first.set_epoch(2)
    full = list(first)
    position = data.draw(st.integers(0, len(full)), label="position")

    interrupted = case.sampler()
    interrupted.set_epoch(2)
    done = list(itertools.islice(iter(interrupted), position))
    state = interrupted.state_dict()
    assert state["epoch"] == 2 and state["position"] == position

    resumed = case.sampler()
    resumed.load_state_dict(state)
    resumed.set_epoch(2)  # what a trainer's epoch loop does after loading: keeps the position
    assert len(resumed) == len(full) - position
    assert done + list(resumed) == full
    assert resumed.epoch == 3 and resumed.position == 0, "a finished pass moves to the next epoch"
    assert list(resumed) == [b.pairs for b in case.sampler().plan(3)]


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.8])
def test_x_x_frequency_matches_alpha(build_pairs, alpha: float) -> None:
    """3 languages x 400 keys, batch 2: 600 steps an epoch, 2,400 over four epochs."""
    pairs = build_pairs(400, ["ar", "de", "en"])
    coin = HybridBatchSampler(pairs, batch_size=2, alpha=alpha, kind_schedule="coin")
    steps = many_steps(coin, 4)
    n_xx = sum(batch.kind is BatchKind.X_X for batch in steps)
    assert len(steps) == 2400
    # "coin": two-sided exact binomial test at the 99.9% level
    assert binomtest(n_xx, len(steps), alpha).pvalue > 1e-3, (n_xx, len(steps), alpha)
    # "exact" (the default): 60, 300 and 480 X-X steps in each epoch of 600, no spread
    exact = HybridBatchSampler(pairs, batch_size=2, alpha=alpha)
    per_epoch = [sum(b.kind is BatchKind.X_X for b in exact.plan(e)) for e in range(4)]
    assert per_epoch == [{0.1: 60, 0.5: 300, 0.8: 480}[alpha]] * 4


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_alpha_zero_and_one_are_exact(build_pairs, alpha: float) -> None:
    pairs = build_pairs(50, ["ar", "de", "en"])
    expected = BatchKind.X_X if alpha == 1 else BatchKind.X_Y
    for sampler_class, kwargs in [
        (HybridBatchSampler, {"alpha": alpha}),
        (HybridBatchSampler, {"alpha": alpha, "kind_schedule": "coin"}),
        (HybridBatchSampler, {"alpha": alpha, "kind_block": 1}),
        (XXBatchSampler if alpha == 1 else XYBatchSampler, {}),
    ]:
        sampler = sampler_class(pairs, batch_size=3, seed=7, **kwargs)
        kinds = {batch.kind for batch in many_steps(sampler, 5)}
        assert kinds == {expected}
    assert XXBatchSampler(pairs, batch_size=3, seed=7).plan(1) == HybridBatchSampler(
        pairs, batch_size=3, seed=7, alpha=1.0
    ).plan(1)


@pytest.mark.parametrize(
    ("weighting", "temperature"), [("uniform", 1.0), ("size", 1.0), ("size", 2.0)]
)
def test_x_x_language_frequencies(build_pairs, weighting: str, temperature: float) -> None:
    """Languages of 100, 400 and 900 keys; X-X languages follow 1/L or n_l**(1/T)."""
    pairs = build_pairs(100, ["ar"]) + build_pairs(400, ["de"]) + build_pairs(900, ["en"])
    sampler = XXBatchSampler(
        pairs, batch_size=1, language_weighting=weighting, size_temperature=temperature
    )
    sizes = np.array([100, 400, 900], dtype=float)
    weights = np.ones(3) if weighting == "uniform" else sizes ** (1 / temperature)
    probs = weights / weights.sum()
    assert sampler.language_probabilities == pytest.approx(
        dict(zip(["ar", "de", "en"], probs, strict=True))
    )
    counts = Counter(batch.languages[0] for batch in many_steps(sampler, 2))
    observed = np.array([counts[lang] for lang in ["ar", "de", "en"]])
    assert observed.sum() == 2800
    assert chisquare(observed, probs * observed.sum()).pvalue > 1e-3, observed


def test_x_y_language_pairs_are_uniform_over_ordered_pairs(build_pairs) -> None:
    languages = ["ar", "de", "en", "th"]
    tp = build_pairs(300, languages)
    sampler = XYBatchSampler(tp, batch_size=4)
    counts = Counter(
        (tp[qi].language, tp[pi].language)
        for batch in many_steps(sampler, 2)
        for qi, pi in batch.pairs
    )
    ordered = list(itertools.permutations(languages, 2))
    assert set(counts) == set(ordered)
    observed = np.array([counts[pair] for pair in ordered])
    assert chisquare(observed).pvalue > 1e-3, counts


def test_x_y_pairs_only_languages_of_the_key(build_pairs) -> None:
    """Key k0..k9 in ar+de only, k10..k19 in all three: an X-Y item of k0..k9 is ar<->de."""
    absent = {(k, "en") for k in range(10)}
    tp = build_pairs(20, ["ar", "de", "en"], absent=absent)
    for batch in many_steps(XYBatchSampler(tp, batch_size=5), 3):
        for qi, pi in batch.pairs:
            if int(tp[qi].parallel_key[1:]) < 10:
                assert {tp[qi].language, tp[pi].language} == {"ar", "de"}


def test_duplicate_pairs_of_one_key_and_language_are_both_used(build_pairs) -> None:
    tp = build_pairs(4, ["ar", "de"], duplicated={(0, "ar")})
    used = {
        tp[qi].query
        for batch in many_steps(XXBatchSampler(tp, batch_size=2), 40)
        for qi, _ in batch.pairs
    }
    assert {"q|k0|ar|0", "q|k0|ar|1"} <= used


def test_languages_restricts_the_training_languages(build_pairs) -> None:
    tp = build_pairs(10, ["ar", "de", "en", "th"])
    sampler = HybridBatchSampler(tp, batch_size=3, languages=["th", "de"])
    assert sampler.languages == ("de", "th")
    assert sampler.steps_per_epoch == 20 // 3
    used = {
        tp[i].language for batch in many_steps(sampler, 3) for pair in batch.pairs for i in pair
    }
    assert used == {"de", "th"}


# ------------------------------------------------------------------------- determinism
def test_same_seed_same_batches_and_epochs_differ(build_pairs) -> None:
    tp = build_pairs(30, ["ar", "de", "en"], absent={(3, "de")})
    a = HybridBatchSampler(tp, batch_size=4, seed=11)
    b = HybridBatchSampler(ParallelPairs(tp), batch_size=4, seed=11)
    assert list(a) == list(b) == [batch.pairs for batch in b.plan(0)]
    assert a.plan(1) == b.plan(1) != b.plan(0)
    assert HybridBatchSampler(tp, batch_size=4, seed=12).plan(0) != a.plan(0)
    b.set_epoch(5)
    assert list(b) == [batch.pairs for batch in a.plan(5)]


def test_last_batch_describes_the_batch_just_yielded(build_pairs) -> None:
    tp = build_pairs(30, ["ar", "de", "en"])
    sampler = HybridBatchSampler(tp, batch_size=4, seed=3)
    planned = sampler.plan(0)
    for step, pairs in enumerate(sampler):
        assert sampler.last_batch == planned[step] and pairs == planned[step].pairs


def test_plan_of_an_epoch_of_100k_pairs(build_pairs) -> None:
    """The size the brief names: 9 languages x 11,200 keys (timed in benchmarks/, not here)."""
    tp = build_pairs(11_200, ["ar", "zh", "en", "de", "es", "ru", "th", "tr", "hi"])
    sampler = HybridBatchSampler(tp, batch_size=100, num_replicas=2, rank=1)
    plan = sampler.plan(0)
    assert len(plan) == 100_800 // 200
    assert all(len(batch.pairs) == 100 for batch in plan)


# ------------------------------------------------------------------------------- errors
def test_state_of_another_configuration_is_refused(build_pairs) -> None:
    tp = build_pairs(30, ["ar", "de"])
    state = HybridBatchSampler(tp, batch_size=4, seed=1).state_dict()
    with pytest.raises(ValueError, match="saved with seed=1, but this sampler has seed=2"):
        HybridBatchSampler(tp, batch_size=4, seed=2).load_state_dict(state)
    with pytest.raises(
        ValueError,
        match="saved with kind_schedule='exact', but this sampler has kind_schedule='coin'",
    ):
        HybridBatchSampler(tp, batch_size=4, seed=1, kind_schedule="coin").load_state_dict(state)
    with pytest.raises(
        ValueError, match="saved with kind_block=None, but this sampler has kind_block=5"
    ):
        HybridBatchSampler(tp, batch_size=4, seed=1, kind_block=5).load_state_dict(state)
    with pytest.raises(
        ValueError, match=r"position'\] must be <= steps_per_epoch = 15, but got 16"
    ):
        HybridBatchSampler(tp, batch_size=4, seed=1).load_state_dict({"epoch": 0, "position": 16})


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_alpha_outside_unit_interval(build_pairs, alpha: float) -> None:
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], but got"):
        HybridBatchSampler(build_pairs(10, ["ar", "de"]), batch_size=2, alpha=alpha)


def test_batch_larger_than_a_language_can_fill(build_pairs) -> None:
    tp = build_pairs(40, ["ar", "de"]) + build_pairs(12, ["th"])
    with pytest.raises(
        ValueError, match=r"language 'th' has 12 parallel keys, fewer than batch_size = 32"
    ):
        HybridBatchSampler(tp, batch_size=32)
    with pytest.raises(
        ValueError,
        match=r"language 'th' has 12 parallel keys, fewer than batch_size \* num_replicas = 16",
    ):
        XXBatchSampler(tp, batch_size=8, num_replicas=2)
    XYBatchSampler(tp, batch_size=32)  # X-Y batches only need 32 keys in two languages


def test_language_without_parallel_partner(build_pairs) -> None:
    tp = build_pairs(10, ["ar", "de"]) + [
        TrainingPair(f"q{i}", f"p{i}", "th", f"th-only-{i}", "a") for i in range(10)
    ]
    with pytest.raises(ValueError, match=r"language 'th' has no parallel partner.*its 10 parallel"):
        HybridBatchSampler(tp, batch_size=2, alpha=0.5)
    XXBatchSampler(tp, batch_size=2)  # fine without X-Y batches


def test_too_few_cross_lingual_keys(build_pairs) -> None:
    tp = build_pairs(20, ["ar", "de"], absent={(k, "de") for k in range(17)})
    with pytest.raises(
        ValueError,
        match=r"3 parallel keys occur in two or more languages, fewer "
        r"than batch_size = 4 that an X-Y batch needs",
    ):
        XYBatchSampler(tp, batch_size=4)


def test_empty_data_set() -> None:
    with pytest.raises(ValueError, match="at least one TrainingPair, but got 0"):
        HybridBatchSampler([], batch_size=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 2, "num_replicas": 2}, "rank must be < num_replicas = 2, but got rank=2"),
        ({"batch_size": 0}, "batch_size must be >= 1, but got 0"),
        ({"num_replicas": 0}, "num_replicas must be >= 1, but got 0"),
        ({"seed": -1}, "seed must be >= 0, but got -1"),
        ({"language_weighting": "sqrt"}, "language_weighting must be one of"),
        ({"size_temperature": 0.0}, "size_temperature must be > 0, but got 0.0"),
        ({"languages": ["ar", "xx"]}, r"subset of the training languages \['ar', 'de'\]"),
        ({"kind_schedule": "binomial"}, r"kind_schedule must be one of \('exact', 'coin'\), but "),
        ({"kind_block": 0}, "kind_block must be >= 1, but got 0"),
        (
            {"kind_schedule": "coin", "kind_block": 4},
            "kind_block applies to kind_schedule='exact' only, but got kind_block=4 with",
        ),
    ],
)
def test_bad_arguments(build_pairs, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HybridBatchSampler(build_pairs(10, ["ar", "de"]), **{"batch_size": 2, **kwargs})


@settings(max_examples=60, deadline=None)
@given(
    n_keys=st.integers(1, 8),
    n_languages=st.integers(1, 3),
    absent_mask=st.integers(0, 2**24 - 1),
    batch_size=st.integers(1, 5),
    alpha=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_refuses_exactly_the_unfillable_settings(
    build_pairs, n_keys: int, n_languages: int, absent_mask: int, batch_size: int, alpha: float
) -> None:
    """It raises if and only if an oracle on the TrainingPair list finds a batch unfillable."""
    languages = LANGUAGE_NAMES[:n_languages]
    cells = [(k, lang) for k in range(n_keys) for lang in languages]
    absent = {cell for i, cell in enumerate(cells) if absent_mask >> i & 1}
    tp = build_pairs(n_keys, languages, absent)
    present = keys_by_language(tp)
    xy_keys = cross_lingual_keys(tp)
    fillable = bool(tp) and all(
        (alpha == 0 or len(present[lang]) >= batch_size)
        and (alpha == 1 or (present[lang] & xy_keys and len(xy_keys) >= batch_size))
        for lang in present
    )
    if fillable:
        sampler = HybridBatchSampler(tp, batch_size=batch_size, alpha=alpha)
        assert len(sampler.plan(0)) == len(tp) // batch_size
    else:
        with pytest.raises(ValueError):
            HybridBatchSampler(tp, batch_size=batch_size, alpha=alpha)


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
            "alpha_end \\(a scheduled alpha\\) applies to sampler 'hybrid', but got sampler 'per-pair'",
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
