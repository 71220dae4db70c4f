"""HybridBatchSampler: batch composition, epoch coverage, statistics, determinism, resume, ranks.

Expected values come from the TrainingPair lists themselves (an oracle independent of the
sampler's index arithmetic) and from the documented definitions in the sampler's docstring.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

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


# -------------------------------------------------------------------------- alpha, weights
def many_steps(sampler: HybridBatchSampler, n_epochs: int) -> list[PlannedBatch]:
    return [batch for epoch in range(n_epochs) for batch in sampler.plan(epoch)]


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
