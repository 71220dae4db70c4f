"""Strategy names (as in a YAML config), DataLoader use, and the real XQuAD-R training pairs."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
import yaml
from torch.utils.data import DataLoader

from hybridlib.data import article_folds, lareqa_training_pairs
from hybridlib.samplers import (
    BatchKind,
    BatchSamplingStrategy,
    HybridBatchSampler,
    ParallelPairs,
    XXBatchSampler,
    XYBatchSampler,
    make_batch_sampler,
    passage_content_key,
)

PAPER_TRAINING_LANGUAGES = ["ar", "zh", "en", "de", "es", "ru", "th", "tr", "hi"]


@pytest.fixture
def pairs(build_pairs) -> ParallelPairs:
    return ParallelPairs(build_pairs(20, ["ar", "de", "en"], absent={(4, "de")}))


@pytest.mark.parametrize(
    ("name", "expected_class", "alpha"),
    [
        ("x-x", XXBatchSampler, 1.0),
        ("X_X", XXBatchSampler, 1.0),
        ("language-specific", XXBatchSampler, 1.0),
        ("x-y", XYBatchSampler, 0.0),
        ("language-agnostic", XYBatchSampler, 0.0),
        ("hybrid", HybridBatchSampler, 0.5),
        (BatchSamplingStrategy.HYBRID, HybridBatchSampler, 0.5),
    ],
)
def test_names_make_samplers(pairs, name, expected_class, alpha) -> None:
    sampler = make_batch_sampler(name, pairs, batch_size=4, seed=3)
    assert type(sampler) is expected_class and sampler.alpha == alpha
    assert sampler.plan(0) == HybridBatchSampler(pairs, batch_size=4, seed=3, alpha=alpha).plan(0)


def test_config_from_yaml(pairs) -> None:
    config = yaml.safe_load("sampler: {strategy: hybrid, batch_size: 4, alpha: 0.3, seed: 1}")
    options = dict(config["sampler"])
    sampler = make_batch_sampler(options.pop("strategy"), pairs, **options)
    assert (sampler.alpha, sampler.batch_size, sampler.seed) == (0.3, 4, 1)
    # one config may carry alpha for every strategy, as long as it does not contradict it
    assert make_batch_sampler("x-y", pairs, batch_size=4, alpha=0.0).alpha == 0.0


def test_class_or_callable(pairs) -> None:
    sampler = make_batch_sampler(XYBatchSampler, pairs, batch_size=4)
    assert isinstance(sampler, XYBatchSampler)
    made = []

    def factory(dataset, **kwargs):
        made.append((dataset, kwargs))
        return HybridBatchSampler(dataset, **kwargs)

    sampler = make_batch_sampler(factory, pairs, batch_size=4, alpha=0.25)
    assert made == [(pairs, {"batch_size": 4, "alpha": 0.25})] and sampler.alpha == 0.25


def test_unknown_name_and_contradicting_alpha(pairs) -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown batch sampling strategy 'mixed'; expected one "
        r"of \['x-x', 'x-y', 'hybrid', 'per-pair', 'language-specific', 'language-agnostic'\]",
    ):
        make_batch_sampler("mixed", pairs, batch_size=4)
    with pytest.raises(ValueError, match=r"sampler 'x-x' means alpha = 1\.0, but got alpha=0\.5"):
        make_batch_sampler("x-x", pairs, batch_size=4, alpha=0.5)
    with pytest.raises(TypeError, match="must be a strategy name, a class or a callable"):
        make_batch_sampler(42, pairs, batch_size=4)  # type: ignore[arg-type]


def test_data_loader_yields_collated_batches_of_the_plan(pairs) -> None:
    sampler = HybridBatchSampler(pairs, batch_size=4, seed=5)
    planned = sampler.plan(0)
    loader = DataLoader(pairs, batch_sampler=sampler, collate_fn=ParallelPairs.collate)
    assert len(loader) == len(planned) == 59 // 4  # 20 keys x 3 languages, one absent
    batches = list(loader)
    assert len(batches) == len(planned)
    for batch, plan in zip(batches, planned, strict=True):
        assert len(batch["queries"]) == 4
        fields = ["queries", "passages", "parallel_keys", "query_languages", "passage_languages"]
        for query, passage, key, q_lang, p_lang, content in zip(
            *(batch[name] for name in fields), batch["passage_keys"], strict=True
        ):
            # texts are "q|key|language|copy": check the collated fields against them
            assert query.split("|")[1:3] == [key, q_lang]
            assert passage.split("|")[1:3] == [key, p_lang]
            assert content == passage_content_key(passage)
            assert (q_lang == p_lang) == (plan.kind is BatchKind.X_X)
        assert len(set(batch["parallel_keys"])) == 4


def test_data_loader_resumes_mid_epoch(pairs) -> None:
    def loader(sampler):
        return DataLoader(pairs, batch_sampler=sampler, collate_fn=ParallelPairs.collate)

    full = list(loader(HybridBatchSampler(pairs, batch_size=4, seed=5)))
    first = HybridBatchSampler(pairs, batch_size=4, seed=5)
    seen = list(itertools.islice(loader(first), 6))
    second = HybridBatchSampler(pairs, batch_size=4, seed=5)
    second.load_state_dict(first.state_dict())
    assert seen + list(loader(second)) == full


def test_real_xquad_r_training_pairs(real_data_dir: Path) -> None:
    """One article fold of XQuAD-R in the paper's 9 training languages, two ranks of 32."""
    training_pairs = lareqa_training_pairs(
        "xquad-r", languages=PAPER_TRAINING_LANGUAGES, root=real_data_dir
    )
    fold = article_folds({p.article for p in training_pairs}, n_folds=2, seed=0)[0]
    training_pairs = [p for p in training_pairs if p.article in fold]
    pairs = ParallelPairs(training_pairs)
    n_keys = len(pairs.parallel_keys)
    assert pairs.language_sizes == dict.fromkeys(sorted(PAPER_TRAINING_LANGUAGES), n_keys)
    ranks = [
        HybridBatchSampler(pairs, batch_size=32, alpha=0.5, seed=0, num_replicas=2, rank=r)
        for r in range(2)
    ]
    plans = [sampler.plan(0) for sampler in ranks]
    assert len(plans[0]) == len(training_pairs) // 64
    kinds = Counter()
    for rank0, rank1 in zip(*plans, strict=True):
        assert (rank0.kind, rank0.languages if rank0.kind is BatchKind.X_X else None) == (
            rank1.kind,
            rank1.languages if rank1.kind is BatchKind.X_X else None,
        )
        kinds[rank0.kind] += 1
        items = [pairs[pair] for pair in rank0.pairs + rank1.pairs]
        assert len({item["parallel_key"] for item in items}) == 64
        for item in items:
            same = item["query_language"] == item["passage_language"]
            assert same == (rank0.kind is BatchKind.X_X)
    assert kinds[BatchKind.X_X] > 0 and kinds[BatchKind.X_Y] > 0
    # X-Y batches of the epoch draw 64 * n_xy keys; at least one full cycle covers every key
    used = {
        pairs[p]["parallel_key"]
        for plan in plans
        for b in plan
        if b.kind is BatchKind.X_Y
        for p in b.pairs
    }
    assert kinds[BatchKind.X_Y] * 64 >= n_keys
    assert len(used) == n_keys
