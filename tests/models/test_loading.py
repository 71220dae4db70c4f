"""Saving and loading encoder folders (hybridlib.models.loading): an exact round trip,
nothing left by a failed save, per-model defaults for plain Hugging Face folders, one clear
error offline, and a bad settings file named with its field."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.models import Encoder, EncoderNotAvailableError, tiny_encoder
from hybridlib.models.loading import SETTINGS_FILE

from .conftest import TEXTS


def test_save_and_load_round_trip_is_exact(tmp_path: Path) -> None:
    encoder = tiny_encoder(
        seed=1, pooling="cls", query_prefix="q: ", passage_prefix="p: ", max_length=40
    )
    with torch.no_grad():  # a "fine-tuned" change that must survive the round trip
        encoder.word_embeddings().weight[5:50] += 0.25
    encoder.save_pretrained(tmp_path / "model")
    loaded = Encoder.from_pretrained(tmp_path / "model")
    assert loaded.settings == encoder.settings
    for (name, a), b in zip(encoder.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    for kind in ("query", "passage"):
        np.testing.assert_array_equal(loaded.encode(TEXTS, kind), encoder.encode(TEXTS, kind))
    saved = json.loads((tmp_path / "model" / SETTINGS_FILE).read_text())
    assert saved["pooling"] == "cls" and saved["query_prefix"] == "q: "
    assert (tmp_path / "model" / "model.safetensors").is_file()
    # overrides at load time win over the saved settings
    assert Encoder.from_pretrained(tmp_path / "model", max_length=20).max_length == 20


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = tiny_encoder(seed=0)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(encoder.tokenizer, "save_pretrained", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        encoder.save_pretrained(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("folder_name", "pooling", "query_prefix"),
    [("multilingual-e5-small", "mean", "query: "), ("LaBSE", "cls", ""), ("xlmr", "mean", "")],
)
def test_plain_hf_folder_gets_per_model_defaults(
    tmp_path: Path, folder_name: str, pooling: str, query_prefix: str
) -> None:
    encoder = tiny_encoder(seed=0)
    folder = tmp_path / folder_name
    encoder.transformer.save_pretrained(folder)
    encoder.tokenizer.save_pretrained(folder)
    loaded = Encoder.from_pretrained(folder)
    assert (loaded.pooling, loaded.prefix("query")) == (pooling, query_prefix)
    assert loaded.transformer.config.pad_token_id == loaded.tokenizer.pad_token_id == 1


def test_unknown_hub_name_offline_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    attempts = []

    def no_network(self, address):
        attempts.append(address)
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(EncoderNotAvailableError) as info:
        Encoder.from_pretrained("someone/no-such-encoder-model")
    message = str(info.value)
    assert "'someone/no-such-encoder-model'" in message and "HF_HUB_OFFLINE" in message
    assert "Encoder.from_pretrained('embedded')" in message and "folder" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert attempts == []


def test_bad_settings_file_names_file_and_field(tmp_path: Path) -> None:
    tiny_encoder(seed=0).save_pretrained(tmp_path / "model")
    settings_file = tmp_path / "model" / SETTINGS_FILE
    data = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**data, "pooling": "max"}))
    with pytest.raises(ValueError, match=rf"{SETTINGS_FILE}: pooling must be .* got 'max'"):
        Encoder.from_pretrained(tmp_path / "model")
    settings_file.write_text(json.dumps({**data, "poolng": "mean"}))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['poolng'\]"):
        Encoder.from_pretrained(tmp_path / "model")


def test_a_folder_that_asks_to_run_its_own_code_is_refused(tmp_path: Path) -> None:
    """transformers asks "Do you wish to run the custom code? [y/N]" for an ``auto_map``
    unless told trust_remote_code=False: one keystroke would run the folder's Python file."""
    folder = tiny_encoder().save_pretrained(tmp_path / "model")
    (folder / "evil.py").write_text("raise SystemExit('the folder's code ran')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(EncoderNotAvailableError, match=r"config.json: auto_map = .* never runs"):
        Encoder.from_pretrained(str(folder))


def test_changed_or_damaged_weights_are_refused_naming_the_file(tmp_path: Path) -> None:
    from hybridlib.models import CorruptModelError

    encoder = tiny_encoder()
    folder = encoder.save_pretrained(tmp_path / "whole")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x40  # an exponent bit of the last float32 weight
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptModelError, match=rf"{weights}: sha256 = .* recorded when"):
        Encoder.from_pretrained(str(folder))
    weights.write_bytes(b"")  # truncated to nothing
    with pytest.raises(CorruptModelError, match=rf"{weights}: sha256"):
        Encoder.from_pretrained(str(folder))
    (folder / "hybridlib_files.json").unlink()  # a folder without its record: still one message
    with pytest.raises(CorruptModelError, match="its weights cannot be read"):
        Encoder.from_pretrained(str(folder))

    encoder.freeze_bottom(1)
    top = encoder.save_pretrained(tmp_path / "top", top_layers_only=True)
    (top / "top_layers.safetensors").write_bytes(b"\x08\x00")
    with pytest.raises(CorruptModelError, match="top_layers.safetensors: sha256"):
        Encoder.from_pretrained(str(top))
    (top / "hybridlib_files.json").unlink()
    with pytest.raises(CorruptModelError, match="not a readable safetensors file"):
        Encoder.from_pretrained(str(top))
