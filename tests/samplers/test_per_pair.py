"""PerPairMixingSampler: the Hybrid contract (length, ranks, no repeated key in a step,
resume, determinism) with the mixture inside each batch; oracles from the pairs' own fields."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from hybridlib.samplers import BatchKind, ParallelPairs, PerPairMixingSampler, make_batch_sampler

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
LANGUAGES = ["ar", "de", "en", "th"]


@st.composite
def cases(draw, build_pairs):
    languages = LANGUAGES[: draw(st.integers(2, 4))]
    batch_size = draw(st.integers(1, 5))
    num_replicas = draw(st.integers(1, 3))
    n_global = batch_size * num_replicas
    n_keys = draw(st.integers(n_global, n_global + 10))
    # keys absent from all languages but one are used by no per-pair batch
    lonely = draw(st.sets(st.integers(0, n_keys - 1), max_size=2))
    absent = {(k, lang) for k in lonely for lang in languages[1:]}
    if n_keys - len(lonely) < n_global:
        absent = set()
    pairs = build_pairs(
        n_keys, languages, absent, draw(st.sets(st.sampled_from([(0, "de"), (1, "en")])))
    )
    kwargs = dict(batch_size=batch_size, num_replicas=num_replicas, alpha=draw(st.floats(0, 1)),
                  seed=draw(st.integers(0, 2**32)), drop_last=draw(st.booleans()),
                  kind_schedule=draw(st.sampled_from(["exact", "coin"])))  # fmt: skip
    return pairs, kwargs


def samplers(pairs, kwargs):
    return [
        PerPairMixingSampler(ParallelPairs(pairs), rank=r, **kwargs)
        for r in range(kwargs["num_replicas"])
    ]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_step_has_distinct_keys_over_all_ranks_and_the_planned_share(
    build_pairs, data
) -> None:
    pairs, kwargs = data.draw(cases(build_pairs))
    ranks = samplers(pairs, kwargs)
    n_global = kwargs["batch_size"] * kwargs["num_replicas"]
    expected = len(pairs) / n_global
    steps = math.floor(expected) if kwargs["drop_last"] else math.ceil(expected)
    plans = [sampler.plan(0) for sampler in ranks]
    assert all(len(plan) == steps for plan in plans)
    for step in zip(*plans, strict=True):
        keys, mono = [], 0
        for batch in step:
            assert batch.kind is BatchKind.MIXED and len(batch.pairs) == kwargs["batch_size"]
            seen = set()
            for qi, pi in batch.pairs:
                query, passage = pairs[qi], pairs[pi]
                assert query.parallel_key == passage.parallel_key
                keys.append(query.parallel_key)
                seen |= {query.language, passage.language}
                if query.language == passage.language:
                    assert qi == pi
                    mono += 1
            assert batch.languages == tuple(sorted(seen))
        assert len(set(keys)) == len(keys) == n_global
        if kwargs["kind_schedule"] == "exact":
            assert mono == math.floor(kwargs["alpha"] * n_global + 0.5)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_resume_mid_epoch_gives_the_remaining_batches(build_pairs, data) -> None:
    pairs, kwargs = data.draw(cases(build_pairs))
    full = list(PerPairMixingSampler(pairs, **kwargs))
    position = data.draw(st.integers(0, len(full)), label="position")
    interrupted = PerPairMixingSampler(pairs, **kwargs)
    done = list(itertools.islice(iter(interrupted), position))
    resumed = PerPairMixingSampler(pairs, **kwargs)
    resumed.load_state_dict(interrupted.state_dict())
    assert done + list(resumed) == full


def test_coin_share_matches_alpha_and_same_seed_same_plan(build_pairs) -> None:
    pairs = build_pairs(300, ["ar", "de", "en"])
    sampler = PerPairMixingSampler(pairs, batch_size=8, alpha=0.3, seed=5, kind_schedule="coin")
    n = sum(len(batch.pairs) for batch in sampler.plan(0))
    mono = sum(
        pairs[q].language == pairs[p].language for batch in sampler.plan(0) for q, p in batch.pairs
    )
    assert binomtest(mono, n, 0.3).pvalue > 1e-3
    assert sampler.monolingual_share(0) == pytest.approx(mono / n)
    again = PerPairMixingSampler(pairs, batch_size=8, alpha=0.3, seed=5, kind_schedule="coin")
    assert again.plan(0) == sampler.plan(0) and again.plan(1) != sampler.plan(0)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_alpha_zero_and_one_are_all_cross_lingual_or_all_monolingual(build_pairs, alpha) -> None:
    pairs = build_pairs(40, ["de", "en", "th"])
    plan = PerPairMixingSampler(pairs, batch_size=4, alpha=alpha).plan(0)
    same = {pairs[q].language == pairs[p].language for batch in plan for q, p in batch.pairs}
    assert same == {alpha == 1.0}


def test_by_name_and_state_of_a_hybrid_sampler_is_refused(build_pairs) -> None:
    pairs = build_pairs(40, ["de", "en"])
    sampler = make_batch_sampler("per-pair", pairs, batch_size=4, alpha=0.5, seed=1)
    assert isinstance(sampler, PerPairMixingSampler)
    hybrid = make_batch_sampler("hybrid", pairs, batch_size=4, alpha=0.5, seed=1)
    with pytest.raises(
        ValueError, match="saved with mixing='whole-batch', but this sampler has mixing='per-pair'"
    ):
        sampler.load_state_dict(hybrid.state_dict())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind_block": 3}, "kind_block applies to whole-batch kinds only"),
        (
            {"batch_size": 41},
            "40 parallel keys occur in two or more languages, fewer than batch_size = 41",
        ),
        ({"language_weighting": "size"}, "language_weighting='size' does not apply"),
    ],
)
def test_bad_arguments_are_named(build_pairs, kwargs, message) -> None:
    args = {"batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        PerPairMixingSampler(build_pairs(40, ["de", "en"]), **args)
