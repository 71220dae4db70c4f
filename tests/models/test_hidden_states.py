"""Top-k fine-tuning and the hidden-state cache: the cached path is the frozen-bottom model."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.losses import InfoNCELoss
from hybridlib.models import Encoder, load_encoder, save_encoder, use_hidden_state_cache
from hybridlib.models.hidden_states import HiddenStateCache, input_keys
from hybridlib.samplers import ParallelPairs

TEXTS = ["the cat sat on the mat", "wie geht es dir heute, mein Freund?", "短い文",
         "a b c d e f g h i j k l m n o p", "x"]  # fmt: skip


@pytest.fixture
def frozen(tiny: Encoder) -> Encoder:
    encoder = copy.deepcopy(tiny)
    encoder.freeze_bottom(1)
    return encoder


def test_freezing_keeps_the_bottom_fixed_and_in_eval_mode(frozen: Encoder) -> None:
    frozen.train()
    bottom = [frozen.transformer.embeddings, frozen.transformer.encoder.layer[0]]
    top = frozen.transformer.encoder.layer[1]
    assert all(not p.requires_grad for m in bottom for p in m.parameters())
    assert all(p.requires_grad for p in top.parameters())
    assert not any(m.training for b in bottom for m in b.modules()) and top.training
    assert frozen.split_layer == 1 and frozen.n_layers == 2
    with pytest.raises(ValueError, match=r"top_layers must be in \[1, 2\] .* but got 3"):
        frozen.freeze_bottom(3)


def test_split_forward_equals_the_whole_forward(tiny: Encoder, frozen: Encoder) -> None:
    # in eval mode freezing changes nothing: bottom then top is the whole stack
    np.testing.assert_allclose(frozen.encode(TEXTS), tiny.encode(TEXTS), rtol=0, atol=1e-6)


def test_cached_embeddings_losses_and_gradients_equal_the_uncached_frozen_model(
    frozen: Encoder, tmp_path: Path
) -> None:
    cached = copy.deepcopy(frozen)
    cache = use_hidden_state_cache(cached, tmp_path, dtype="float32")
    np.testing.assert_allclose(cached.encode(TEXTS), frozen.encode(TEXTS), rtol=0, atol=1e-6)
    assert len(cache) == len(TEXTS) and cache.computed_on_the_fly == 0
    batch = ParallelPairs.collate(
        [
            {
                "query": q,
                "passage": p,
                "parallel_key": str(i),
                "query_language": "en",
                "passage_language": "en",
            }
            for i, (q, p) in enumerate(zip(TEXTS, TEXTS[1:] + TEXTS[:1]))
        ]
    )
    cache.fill(batch["queries"], "query")
    grads = []
    for encoder in (frozen, cached):
        encoder.train()
        for module in encoder.modules():  # no dropout: the two paths draw other masks
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        encoder.zero_grad(set_to_none=True)
        loss = InfoNCELoss(encoder)(batch)
        loss.backward()
        grads.append(
            (loss.item(), {n: p.grad for n, p in encoder.named_parameters() if p.grad is not None})
        )
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-6)
    assert grads[0][1].keys() == grads[1][1].keys() and len(grads[0][1]) > 0
    for name in grads[0][1]:
        torch.testing.assert_close(grads[0][1][name], grads[1][1][name], rtol=1e-4, atol=1e-6)
    assert cache.computed_on_the_fly == 0  # every input came from the cache


def test_half_precision_storage_is_close_to_exact(frozen: Encoder, tmp_path: Path) -> None:
    cached = copy.deepcopy(frozen)
    use_hidden_state_cache(cached, tmp_path, dtype="float16")
    cosine = (cached.encode(TEXTS) * frozen.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_cache_is_reopened_not_recomputed_and_keyed_by_the_bottom(
    frozen: Encoder, tmp_path: Path
) -> None:
    frozen.settings.query_prefix = "query: "
    first = HiddenStateCache(frozen, tmp_path)
    assert first.fill(TEXTS, "passage") == len(TEXTS)
    again = HiddenStateCache(frozen, tmp_path)
    assert len(again) == len(TEXTS) and again.fill(TEXTS, "passage") == 0
    assert again.fill(TEXTS, "query") == len(TEXTS)  # another prefix: other inputs
    other = copy.deepcopy(frozen)
    with torch.no_grad():
        other.transformer.embeddings.word_embeddings.weight.add_(0.01)
    assert HiddenStateCache(other, tmp_path).folder != first.folder  # another bottom, another key
    top_changed = copy.deepcopy(frozen)
    with torch.no_grad():
        top_changed.transformer.encoder.layer[1].output.dense.weight.add_(0.01)
    assert HiddenStateCache(top_changed, tmp_path).folder == first.folder  # the top is not cached


def _shard_files(cache: HiddenStateCache, part: str) -> list[Path]:
    return sorted(cache.folder.glob(f"shard-*.{part}.npy"))


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_corrupt_shard_is_set_aside_and_recomputed_never_used(
    frozen: Encoder, tmp_path: Path, damage: str, caplog
) -> None:
    clean = copy.deepcopy(frozen)
    use_hidden_state_cache(clean, tmp_path / "clean", dtype="float32")
    expected = clean.encode(TEXTS)
    cache = HiddenStateCache(frozen, tmp_path / "damaged", dtype="float32")
    cache.fill(TEXTS)
    (states,) = _shard_files(cache, "states")
    data = bytearray(states.read_bytes())
    if damage == "flip":
        data[-64:-48] = bytes(255 - b for b in data[-64:-48])  # same size, other values
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    states.write_bytes(bytes(data))
    reopened = copy.deepcopy(frozen)
    cache = use_hidden_state_cache(reopened, tmp_path / "damaged", dtype="float32")
    assert len(cache) == 0 and len(cache.set_aside) == 1
    assert "set aside and will be recomputed" in caplog.text and states.name in caplog.text
    np.testing.assert_allclose(reopened.encode(TEXTS), expected, rtol=0, atol=1e-6)
    assert len(cache) == len(TEXTS)  # recomputed and stored again
    assert len(HiddenStateCache(frozen, tmp_path / "damaged", dtype="float32")) == len(TEXTS)


def test_at_most_the_three_newest_corrupt_shards_are_kept(frozen: Encoder, tmp_path: Path) -> None:
    """Issue 29: shards set aside piled up in ``corrupt/`` without bound."""
    from hybridlib.models.hidden_states import KEEP_SET_ASIDE

    cache = HiddenStateCache(frozen, tmp_path, dtype="float32")
    names = [f"shard-{i:016d}" for i in range(5)]
    for name in names:
        for part in ("json", "keys.npy", "offsets.npy", "states.npy"):
            (cache.folder / f"{name}.{part}").write_bytes(b"damaged")
        cache._set_aside(name, "damaged on purpose")
    kept = sorted((cache.folder / "corrupt").iterdir())
    assert KEEP_SET_ASIDE == 3 and len(kept) == 3 * 4
    assert {p.name.split(".", 1)[0] for p in kept} == set(names[-3:])  # the newest three


def test_files_of_an_interrupted_fill_are_removed(frozen: Encoder, tmp_path: Path) -> None:
    cache = HiddenStateCache(frozen, tmp_path)
    cache.fill(TEXTS)
    (record,) = [p for p in cache.folder.glob("shard-*.json")]
    record.unlink()  # killed after the arrays, before the record that completes a shard
    (cache.folder / ".tmp-shard-x.states.npy").write_bytes(b"half")
    reopened = HiddenStateCache(frozen, tmp_path)
    assert len(reopened) == 0
    assert sorted(p.name for p in reopened.folder.iterdir()) == ["cache.json", "cache.lock"]


def test_keys_are_the_token_ids_of_the_real_tokens() -> None:
    ids = torch.tensor([[0, 5, 6, 2, 1, 1], [0, 5, 6, 2, 9, 9]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]])
    first, second = input_keys(ids, mask)
    assert first == second and len(first) == 16  # padding never enters the key


def test_top_layers_are_saved_alone_and_checked_against_the_base(
    frozen: Encoder, tmp_path: Path
) -> None:
    trained = copy.deepcopy(frozen)
    with torch.no_grad():
        trained.transformer.encoder.layer[1].output.dense.weight.mul_(1.5)
    folder = save_encoder(trained, tmp_path / "model", top_layers_only=True)
    assert sorted(p.name for p in folder.iterdir()) == [
        "hybridlib_encoder.json",
        "hybridlib_files.json",  # the weights' SHA-256, checked when loading
        "hybridlib_top_layers.json",
        "top_layers.safetensors",
    ]
    loaded = load_encoder(folder)
    assert loaded.top_layers == 1 and loaded.source == str(folder)
    np.testing.assert_allclose(loaded.encode(TEXTS), trained.encode(TEXTS), rtol=0, atol=1e-6)
    record = json.loads((folder / "hybridlib_top_layers.json").read_text())
    record["bottom_sha256"] = "0" * 64
    (folder / "hybridlib_top_layers.json").write_text(json.dumps(record))
    with pytest.raises(
        ValueError, match=r"field 'bottom_sha256' is 000000000000\.\.\., but the base model 'tiny'"
    ):
        load_encoder(folder)
    with pytest.raises(ValueError, match="top_layers_only needs a top-k model"):
        save_encoder(load_encoder("tiny"), tmp_path / "x", top_layers_only=True)


def _fill_in_another_process(root: str, texts: list[str], queue) -> None:
    encoder = load_encoder("tiny")
    encoder.freeze_bottom(1)
    cache = HiddenStateCache(encoder, root, shard_size=16)
    queue.put(cache.fill(texts, "passage", batch_size=8))


def test_two_processes_fill_one_cache_at_once_without_losing_or_doubling_an_input(
    frozen: Encoder, tmp_path: Path
) -> None:
    """A book's executions on a Dask cluster share the cache: the lock keeps one process from
    removing the shard files another is writing, and each input is computed once."""
    import multiprocessing

    texts = [f"sentence number {i} of a shared cache" for i in range(150)]
    first, second = texts[:100], texts[50:]  # 50 texts in both
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_fill_in_another_process, args=(str(tmp_path), part, queue))
               for part in (first, second)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    filled = sorted(queue.get(timeout=10) for _ in workers)
    assert sum(filled) == 150  # the overlap computed by whichever came first, once

    cache = HiddenStateCache(frozen, tmp_path, shard_size=16)
    assert len(cache) == 150 and cache.set_aside == []
    features = frozen.tokenize(texts[40:60], "passage")
    cached = cache.lookup(features["input_ids"], features["attention_mask"])
    direct = frozen.bottom_states(features)
    mask = features["attention_mask"].bool()
    torch.testing.assert_close(cached[mask].float(), direct[mask].float(), atol=2e-3, rtol=2e-3)


def test_a_link_in_the_cache_never_leads_to_deleting_another_folder(
    frozen: Encoder, tmp_path: Path
) -> None:
    """The cache folder's name is predictable: replaced by a link to any folder, opening the
    cache (which removes an interrupted fill's leftovers) deleted every file there."""
    cache = HiddenStateCache(frozen, tmp_path / "cache")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    (victim / ".git").mkdir()
    cache_folder = cache.folder
    for entry in cache_folder.iterdir():
        entry.unlink()
    cache_folder.rmdir()
    cache_folder.symlink_to(victim, target_is_directory=True)
    with pytest.raises(ValueError, match=r"hidden-state cache .* is a link to .*victim"):
        HiddenStateCache(frozen, tmp_path / "cache")
    assert sorted(p.name for p in victim.iterdir()) == [".git", "thesis.tex"]
