"""The trainer on the tiny encoder: it learns, repeats, resumes bit for bit, runs on 2 ranks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hybridlib.losses import InfoNCELoss
from hybridlib.models import Encoder, load_encoder
from hybridlib.samplers import ParallelPairs
from hybridlib.training import ConfigError, TrainConfig, checkpoint_paths, train

REPO = Path(__file__).resolve().parents[2]
FAST = {"batch_size": 8, "lr": 1e-3, "warmup_ratio": 0.2, "num_threads": 1, "seed": 3}


def config(tmp_path: Path, name: str, **fields) -> TrainConfig:
    return TrainConfig.from_dict({**FAST, "output_dir": str(tmp_path / name), **fields})


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(model_dir / "model.safetensors")


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def eval_loss(encoder: Encoder, pairs) -> float:
    encoder.eval()
    batch = ParallelPairs.collate(
        [
            {
                "query": p.query,
                "passage": p.passage,
                "parallel_key": p.parallel_key,
                "query_language": p.language,
                "passage_language": p.language,
            }
            for p in pairs
        ]
    )
    with torch.no_grad():
        return InfoNCELoss(encoder)(batch).item()


def test_training_reduces_the_loss_and_writes_the_run(tmp_path, pairs):
    held = [p for p in pairs if p.language == "en"]  # one batch of 24 pairs, no duplicate keys
    before = eval_loss(load_encoder("tiny"), held)
    result = train(
        config(tmp_path, "run", steps=15, checkpoint_every=5), pairs=pairs, show_progress=False
    )
    after = eval_loss(load_encoder(result.model_dir), held)
    assert after < 0.6 * before, (before, after)

    out = tmp_path / "run"
    log = read_log(result.log_file)
    assert [r["step"] for r in log] == list(range(1, 16))
    assert {r["batch_kind"][0] for r in log} == {"x-x", "x-y"}  # hybrid, alpha 0.5
    for record in log:
        if record["batch_kind"] == ["x-x"]:
            assert len(record["languages"][0]) == 1
    # linear warm-up over 3 steps from 0, then linear decay to 0
    assert log[0]["lr"] == 0.0
    assert log[3]["lr"] == pytest.approx(1e-3)
    assert log[-1]["lr"] == pytest.approx(1e-3 / 12)
    assert [p.name for p in checkpoint_paths(out)] == ["step-00000005.pt", "step-00000010.pt"]
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 3 and prov["parameters"]["n_training_pairs"] == 72
    assert prov["parameters"]["final_loss"] == log[-1]["loss"]
    assert TrainConfig.from_dict(json.loads((out / "config.json").read_text())).steps == 15
    # the saved model records what it trained on (evaluation's leakage guard reads it)
    recorded = load_encoder(result.model_dir).settings.metadata["training"]
    assert recorded == {"articles": prov["parameters"]["training_articles"],
                        "languages": prov["parameters"]["training_languages"],
                        "run": {"sampler": "hybrid", "alpha": 0.5, "alpha_end": None, "seed": 3}}  # fmt: skip


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, pairs):
    runs = [
        train(config(tmp_path, name, steps=6, seed=seed), pairs=pairs, show_progress=False)
        for name, seed in [("a", 3), ("b", 3), ("c", 4)]
    ]
    a, b, c = (weights(r.model_dir) for r in runs)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert read_log(runs[0].log_file)[-1]["loss"] == read_log(runs[1].log_file)[-1]["loss"]


def test_frozen_word_embeddings_and_grad_cache(tmp_path, pairs):
    start = weights_of(load_encoder("tiny"))
    result = train(
        config(
            tmp_path,
            "frozen",
            steps=3,
            freeze_word_embeddings=True,
            grad_cache_chunk_size=3,
            grad_accumulation_steps=2,
            sampler="x-y",
        ),
        pairs=pairs,
        show_progress=False,
    )
    end = weights(result.model_dir)
    name = "embeddings.word_embeddings.weight"
    assert torch.equal(end[name], start[name])
    assert not torch.equal(
        end["encoder.layer.0.attention.self.query.weight"],
        start["encoder.layer.0.attention.self.query.weight"],
    )
    log = read_log(result.log_file)
    assert [r["batch_kind"] for r in log] == [["x-y", "x-y"]] * 3  # 2 batches per step


def weights_of(encoder: Encoder) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in encoder.transformer.state_dict().items()}


def test_existing_run_needs_resume_and_the_same_config(tmp_path, pairs):
    cfg = config(tmp_path, "run", steps=4, checkpoint_every=2)
    train(cfg, pairs=pairs, show_progress=False)
    with pytest.raises(ConfigError, match="already holds a run"):
        train(cfg, pairs=pairs, show_progress=False)
    changed = config(tmp_path, "run", steps=4, checkpoint_every=2, lr=5e-4)
    with pytest.raises(ConfigError, match=r"the config differs in \['lr'\]"):
        train(changed, pairs=pairs, resume=True, show_progress=False)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hybridlib.cli", "train", *args]


def test_killed_run_resumes_to_bit_identical_weights(tmp_path, pairs_file, write_config):
    fields = {**FAST, "data": {"pairs_file": str(pairs_file)}, "steps": 16, "checkpoint_every": 4}
    cfg_file = write_config(tmp_path / "train.yaml", **fields)
    reference = train(
        TrainConfig.from_dict({**fields, "output_dir": str(tmp_path / "reference")}),
        show_progress=False,
    )

    out = tmp_path / "killed"
    process = subprocess.Popen(
        cli("--config", str(cfg_file), "--output", str(out), "--no-progress"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120

    def complete() -> list[Path]:  # checkpoints whose record (written last) exists
        return [p for p in checkpoint_paths(out) if p.with_name(p.name + ".json").exists()]

    while not complete() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()[0].decode()[-2000:]  # still mid-run
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "model").exists()
    killed_at = int(complete()[-1].stem.split("-")[1])
    assert killed_at < 16

    finished = subprocess.run(
        cli("--config", str(cfg_file), "--output", str(out), "--resume", "--no-progress"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    resumed, uninterrupted = weights(out / "model"), weights(reference.model_dir)
    assert resumed.keys() == uninterrupted.keys()
    for name in uninterrupted:
        assert torch.equal(resumed[name], uninterrupted[name]), name
    # the log was cut back to the checkpoint and continued: the same steps, losses, lrs
    strip = lambda log: [{k: v for k, v in r.items() if "seconds" not in k} for r in log]  # noqa: E731
    assert strip(read_log(out / "train_log.jsonl")) == strip(read_log(reference.log_file))
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["parameters"]["resumed_from_step"] == killed_at


def test_two_gloo_processes_agree_on_batch_kinds(tmp_path, pairs_file, write_config):
    cfg_file = write_config(
        tmp_path / "train.yaml",
        **{
            **FAST,
            "batch_size": 4,
            "data": {"pairs_file": str(pairs_file)},
            "steps": 6,
            "checkpoint_every": 3,
            "output_dir": str(tmp_path / "ddp"),
        },
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--standalone",
            "-m",
            "hybridlib.cli",
            "train",
            "--config",
            str(cfg_file),
            "--no-progress",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    out = tmp_path / "ddp"
    rank0, rank1 = read_log(out / "train_log.jsonl"), read_log(out / "train_log.rank1.jsonl")
    assert [r["step"] for r in rank0] == [r["step"] for r in rank1] == list(range(1, 7))
    assert [r["batch_kind"] for r in rank0] == [r["batch_kind"] for r in rank1]
    assert {r["batch_kind"][0] for r in rank0} == {"x-x", "x-y"}
    for a, b in zip(rank0, rank1, strict=True):
        assert a["loss"] == b["loss"]  # the global loss, reduced over ranks
        if a["batch_kind"] == ["x-x"]:
            assert a["languages"] == b["languages"]  # same language on both ranks
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["parameters"]["world_size"] == 2
    assert (out / "model" / "model.safetensors").is_file()


def test_row_gradients_train_the_same_weights_as_the_plain_embedding_backward(tmp_path, pairs):
    runs = {}
    for rows in (True, False):
        result = train(
            config(tmp_path, f"rows-{rows}", steps=4, embedding_row_gradients=rows),
            pairs=pairs, show_progress=False,
        )  # fmt: skip
        runs[rows] = weights(result.model_dir)
    table = "embeddings.word_embeddings.weight"
    assert table in runs[True]
    start = load_encoder("tiny").transformer.get_input_embeddings().weight
    assert not torch.equal(runs[True][table], start)  # the table did train
    for name, value in runs[False].items():
        torch.testing.assert_close(runs[True][name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_top_layer_training_on_cached_states_equals_training_without_the_cache(tmp_path, pairs):
    runs = {}
    for cached in (True, False):
        result = train(config(tmp_path, f"cached-{cached}", steps=4, train_top_layers=1,
                              hidden_state_cache=cached, hidden_state_dtype="float32",
                              save_top_layers_only=True), pairs=pairs)  # fmt: skip
        runs[cached] = load_file(result.model_dir / "top_layers.safetensors")
    assert runs[True].keys() == runs[False].keys() and all(
        k.startswith("encoder.layer.1.") for k in runs[True]
    )
    for name in runs[True]:
        torch.testing.assert_close(runs[True][name], runs[False][name], rtol=1e-4, atol=1e-6)
    base = load_encoder("tiny").transformer.state_dict()
    assert not torch.equal(
        runs[True]["encoder.layer.1.output.dense.weight"],
        base["encoder.layer.1.output.dense.weight"],
    )
    provenance = json.loads((tmp_path / "cached-True" / "provenance.json").read_text())
    assert provenance["parameters"]["hidden_state_cache"]["split_layer"] == 1
    assert provenance["parameters"]["training_articles"] == [
        "article0",
        "article1",
        "article2",
        "article3",
    ]
    top_layers_model = load_encoder(tmp_path / "cached-True" / "model")
    assert top_layers_model.settings.metadata["training"]["articles"] == [
        "article0",
        "article1",
        "article2",
        "article3",
    ]


def test_hybrid_run_realises_alpha_exactly(tmp_path, pairs):
    result = train(config(tmp_path, "exact", steps=6, sampler="hybrid", alpha=0.5), pairs=pairs)
    kinds = [record["batch_kind"][0] for record in read_log(result.log_file)]
    assert kinds.count("x-x") == 3 and kinds.count("x-y") == 3


def test_constant_schedule_holds_the_rate_after_warm_up(tmp_path, pairs):
    result = train(
        config(tmp_path, "constant", steps=5, lr_schedule="constant", warmup_steps=2), pairs=pairs
    )
    rates = [record["lr"] for record in read_log(result.log_file)]
    assert rates[0] == 0.0 and rates[1] == pytest.approx(FAST["lr"] / 2)
    assert rates[2:] == [FAST["lr"]] * 3


@pytest.mark.slow
def test_validation_curve_is_written_on_held_out_articles(tmp_path, real_data_dir):
    from hybridlib.protocol import training_articles, validation_articles

    root = str(real_data_dir)
    held = validation_articles("xquad-to-mlqa", 0.1, 0, root)
    data = {
        "suite": "xquad-r",
        "languages": ["de", "en"],
        "articles": training_articles("xquad-to-mlqa", 0.1, 0, root)[:3],
        "root": root,
    }
    result = train(
        config(tmp_path, "validated", steps=4, data=data, validation={"articles": held, "every": 2})
    )
    log = read_log(result.model_dir.parent / "validation_log.jsonl")
    assert [r["step"] for r in log] == [0, 2, 4]
    for record in log:
        assert 0 < record["map_mono"] <= 1 and record["val_loss"] > 0
        assert record["map_mean"] == pytest.approx(
            (record["map_mono"] + record["map_cross"] + record["map_multi"]) / 3
        )
    with pytest.raises(ConfigError, match="validation.articles must be held out of training"):
        train(
            config(
                tmp_path,
                "leaky",
                steps=2,
                data={**data, "articles": held},
                validation={"articles": held},
            )
        )


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "no record"])
def test_resume_skips_a_corrupt_checkpoint_and_falls_back_to_the_previous_one(
    tmp_path, pairs, damage, capfd
):
    """Issue 14, case 2: 16 bytes flipped in the latest checkpoint resumed into NaN weights
    (exit 0); a truncated or empty one raised a raw RuntimeError / EOFError."""
    import shutil

    fields = dict(steps=6, checkpoint_every=2, keep_checkpoints=2)
    reference = train(config(tmp_path, "reference", **fields), pairs=pairs)
    interrupted = tmp_path / "interrupted"
    train(config(tmp_path, "interrupted", **fields), pairs=pairs)
    shutil.rmtree(interrupted / "model")  # as if killed after the step-4 checkpoint
    (interrupted / "provenance.json").unlink()
    assert [p.name for p in checkpoint_paths(interrupted)] == [
        "step-00000002.pt",
        "step-00000004.pt",
    ]
    latest = interrupted / "checkpoints" / "step-00000004.pt"
    data = bytearray(latest.read_bytes())
    if damage == "flip":
        data[len(data) // 2 : len(data) // 2 + 16] = bytes(
            255 - b for b in data[len(data) // 2 : len(data) // 2 + 16]
        )
    elif damage == "truncate":
        data = data[: len(data) // 3]
    elif damage == "empty":
        data = bytearray()
    latest.write_bytes(bytes(data))
    if damage == "no record":
        latest.with_name(latest.name + ".json").unlink()
    result = train(config(tmp_path, "interrupted", **fields), pairs=pairs, resume=True)
    assert result.resumed_from == 2  # the newest checkpoint that verifies
    assert "skipped checkpoint step-00000004.pt" in capfd.readouterr().err
    assert (interrupted / "checkpoints" / "step-00000004.pt.corrupt").exists()  # set aside
    ours, theirs = weights(result.model_dir), weights(reference.model_dir)
    assert all(torch.isfinite(t).all() for t in ours.values())
    assert all(torch.equal(ours[name], theirs[name]) for name in theirs)  # bit-identical
    skipped = json.loads((interrupted / "provenance.json").read_text())["parameters"][
        "skipped_checkpoints"
    ]
    assert len(skipped) == 1 and skipped[0].startswith("step-00000004.pt: ")


def test_checkpoints_hold_tensors_and_plain_data_only(tmp_path, pairs):
    train(config(tmp_path, "plain", steps=4, checkpoint_every=2), pairs=pairs)
    (path,) = checkpoint_paths(tmp_path / "plain")
    state = torch.load(path, weights_only=True)  # refuses arbitrary pickled objects
    assert state["step"] == 2 and isinstance(state["rng"][0]["numpy"][1], torch.Tensor)


def test_bf16_autocast_keeps_fp32_weights_and_nearly_the_fp32_losses(tmp_path, pairs):
    """``precision: bfloat16`` runs the forward under autocast; weights, optimizer and loss
    stay float32, so the losses follow the float32 run to bf16 rounding."""
    plain = train(config(tmp_path, "fp32", steps=4), pairs=pairs)
    mixed = train(config(tmp_path, "bf16", steps=4, precision="bfloat16"), pairs=pairs)
    fp32_losses = [record["loss"] for record in read_log(plain.log_file)]
    bf16_losses = [record["loss"] for record in read_log(mixed.log_file)]
    assert bf16_losses != fp32_losses  # the forward really ran in bf16
    assert bf16_losses == pytest.approx(fp32_losses, rel=5e-3)  # measured: within 3e-5
    saved = weights(mixed.model_dir)
    assert {tensor.dtype for tensor in saved.values()} == {torch.float32}
    assert all(torch.isfinite(tensor).all() for tensor in saved.values())


def test_margin_reaches_the_loss_of_the_first_step(tmp_path, pairs):
    """Same seed, same first batch: an additive margin can only raise its loss."""
    plain = train(config(tmp_path, "plain", steps=1), pairs=pairs)
    margin = train(config(tmp_path, "margin", steps=1, margin=0.3, symmetric=True), pairs=pairs)
    symmetric = train(config(tmp_path, "symmetric", steps=1, symmetric=True), pairs=pairs)
    first = [read_log(run.log_file)[0]["loss"] for run in (plain, symmetric, margin)]
    assert first[0] != first[1] < first[2], first


def test_per_pair_mixing_trains_with_mixed_batches(tmp_path, pairs):
    result = train(
        config(tmp_path, "per-pair", steps=3, sampler="per-pair", alpha=0.25), pairs=pairs
    )
    log = read_log(result.log_file)
    assert [record["batch_kind"] for record in log] == [["mixed"]] * 3
    assert all(len(record["languages"][0]) >= 2 for record in log)  # every batch has X-Y pairs


def test_scheduled_alpha_runs_x_x_first_then_x_y(tmp_path, pairs):
    result = train(
        config(tmp_path, "ramp", steps=4, sampler="hybrid", alpha=1.0, alpha_end=0.0), pairs=pairs
    )
    kinds = [record["batch_kind"][0] for record in read_log(result.log_file)]
    assert kinds == ["x-x", "x-x", "x-y", "x-y"]  # the ramp (1, 2/3, 1/3, 0) over the run


def test_the_prefixes_of_the_config_are_trained_with_and_saved(tmp_path, pairs):
    result = train(
        config(tmp_path, "prefixed", steps=1, query_prefix="Query: ", passage_prefix="Passage: "),
        pairs=pairs,
    )
    saved = load_encoder(result.model_dir)
    assert (saved.settings.query_prefix, saved.settings.passage_prefix) == ("Query: ", "Passage: ")


def test_a_second_training_into_a_busy_folder_is_refused_naming_the_first(
    tmp_path, pairs_file, write_config
):
    """Two trainings into one folder mixed their files (the model and provenance of one, the
    config and log of the other), both with exit 0."""
    import os

    from hybridlib.io import FolderBusyError, only_writer

    fields = {**FAST, "data": {"pairs_file": str(pairs_file)}, "steps": 2}
    cfg_file = write_config(tmp_path / "train.yaml", **fields)
    out = tmp_path / "busy"
    with only_writer(out, "training output"):  # this process is "the first training"
        second = subprocess.run(
            cli("--config", str(cfg_file), "--output", str(out), "--no-progress"),
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"training output {out} is being written by process {os.getpid()}" in second.stderr
        assert "Traceback" not in second.stderr
        with pytest.raises(FolderBusyError, match="is being written by process"):
            train(TrainConfig.from_dict({**fields, "output_dir": str(out)}), show_progress=False)
        assert sorted(p.name for p in out.iterdir()) == [".hybridlib.lock"]  # nothing written
    # the lock is free again once the first ends
    result = train(TrainConfig.from_dict({**fields, "output_dir": str(out)}), show_progress=False)
    assert result.model_dir.is_dir()


@pytest.mark.slow
def test_xm3600_trains_on_its_training_images_only(tmp_path, real_data_dir):
    """XM3600 is a training suite of the registry: its pairs come from the protocol's training
    images (the loss masks every other caption of an image); a test image is refused."""
    from hybridlib.protocol import xm3600_images

    root = str(real_data_dir)
    train_images = [f"xm3600/{key}" for key in xm3600_images("train", root=root)[:6]]
    data = {"suite": "xm3600", "languages": ["de", "en"], "articles": train_images, "root": root}
    result = train(config(tmp_path, "captions", steps=3, batch_size=4, data=data))
    prov = json.loads((result.model_dir.parent / "provenance.json").read_text())
    assert prov["parameters"]["training_articles"] == sorted(train_images)
    assert prov["parameters"]["training_languages"] == ["de", "en"]
    test_image = f"xm3600/{xm3600_images('test', root=root)[0]}"
    with pytest.raises(ConfigError, match="not training images of the protocol's split"):
        train(config(tmp_path, "leaky", steps=1, data={**data, "articles": [test_image]}))


def test_a_run_paused_at_a_step_resumes_to_the_uninterrupted_run(tmp_path, pairs):
    """``stop_at`` (successive halving's pause) leaves a checkpoint at that step and no model;
    resuming gives the uninterrupted run's weights and log, bit for bit."""
    reference = train(config(tmp_path, "reference", steps=6, checkpoint_every=100), pairs=pairs,
                      show_progress=False)  # fmt: skip
    paused_config = config(tmp_path, "paused", steps=6, checkpoint_every=100)
    paused = train(paused_config, pairs=pairs, show_progress=False, stop_at=3)
    assert (paused.finished, paused.steps) == (False, 3)
    assert not (tmp_path / "paused" / "model").exists()
    assert [p.name for p in checkpoint_paths(tmp_path / "paused")] == ["step-00000003.pt"]
    again = train(paused_config, pairs=pairs, resume=True, show_progress=False, stop_at=3)
    assert (again.finished, again.steps) == (False, 3)  # already there: nothing to run
    done = train(paused_config, pairs=pairs, resume=True, show_progress=False)
    assert done.finished and done.resumed_from == 3
    resumed, uninterrupted = weights(done.model_dir), weights(reference.model_dir)
    assert resumed.keys() == uninterrupted.keys()
    for name in uninterrupted:
        assert torch.equal(resumed[name], uninterrupted[name]), name
    strip = lambda log: [{k: v for k, v in r.items() if "seconds" not in k} for r in log]  # noqa: E731
    assert strip(read_log(done.log_file)) == strip(read_log(reference.log_file))
    with pytest.raises(ConfigError, match="stop_at must be a step >= 1"):
        train(paused_config, pairs=pairs, resume=True, show_progress=False, stop_at=0)
