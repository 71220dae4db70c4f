"""Saving and loading encoder folders (hybridlib.models.loading): an exact round trip,
nothing left by a failed save, per-model defaults for plain Hugging Face folders, one clear
error offline, and a bad settings file named with its field. Loading sits at the top of
hybridlib.models, whose modules import one another without a circle (read with ``ast``:
every import counts, at module level, inside a function or under ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

import hybridlib.models
from hybridlib.models import EncoderNotAvailableError, load_encoder, save_encoder, tiny_encoder
from hybridlib.models.folder import SETTINGS_FILE

from .conftest import TEXTS


def test_save_and_load_round_trip_is_exact(tmp_path: Path) -> None:
    encoder = tiny_encoder(
        seed=1, pooling="cls", query_prefix="q: ", passage_prefix="p: ", max_length=40
    )
    with torch.no_grad():  # a "fine-tuned" change that must survive the round trip
        encoder.word_embeddings().weight[5:50] += 0.25
    save_encoder(encoder, tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    assert loaded.settings == encoder.settings
    for (name, a), b in zip(encoder.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    for kind in ("query", "passage"):
        np.testing.assert_array_equal(loaded.encode(TEXTS, kind), encoder.encode(TEXTS, kind))
    saved = json.loads((tmp_path / "model" / SETTINGS_FILE).read_text())
    assert saved["pooling"] == "cls" and saved["query_prefix"] == "q: "
    assert (tmp_path / "model" / "model.safetensors").is_file()
    # overrides at load time win over the saved settings
    assert load_encoder(tmp_path / "model", max_length=20).max_length == 20


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = tiny_encoder(seed=0)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(encoder.tokenizer, "save_pretrained", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_encoder(encoder, tmp_path / "model")
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
    loaded = load_encoder(folder)
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
        load_encoder("someone/no-such-encoder-model")
    message = str(info.value)
    assert "'someone/no-such-encoder-model'" in message and "HF_HUB_OFFLINE" in message
    assert "load_encoder('embedded')" in message and "folder" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert attempts == []


def test_bad_settings_file_names_file_and_field(tmp_path: Path) -> None:
    save_encoder(tiny_encoder(seed=0), tmp_path / "model")
    settings_file = tmp_path / "model" / SETTINGS_FILE
    data = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**data, "pooling": "max"}))
    with pytest.raises(ValueError, match=rf"{SETTINGS_FILE}: pooling must be .* got 'max'"):
        load_encoder(tmp_path / "model")
    settings_file.write_text(json.dumps({**data, "poolng": "mean"}))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['poolng'\]"):
        load_encoder(tmp_path / "model")


def test_a_folder_that_asks_to_run_its_own_code_is_refused(tmp_path: Path) -> None:
    """transformers asks "Do you wish to run the custom code? [y/N]" for an ``auto_map``
    unless told trust_remote_code=False: one keystroke would run the folder's Python file."""
    folder = save_encoder(tiny_encoder(), tmp_path / "model")
    (folder / "evil.py").write_text("raise SystemExit('the folder's code ran')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(EncoderNotAvailableError, match=r"config.json: auto_map = .* never runs"):
        load_encoder(str(folder))


def test_changed_or_damaged_weights_are_refused_naming_the_file(tmp_path: Path) -> None:
    from hybridlib.models import CorruptModelError

    encoder = tiny_encoder()
    folder = save_encoder(encoder, tmp_path / "whole")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x40  # an exponent bit of the last float32 weight
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptModelError, match=rf"{weights}: sha256 = .* recorded when"):
        load_encoder(str(folder))
    weights.write_bytes(b"")  # truncated to nothing
    with pytest.raises(CorruptModelError, match=rf"{weights}: sha256"):
        load_encoder(str(folder))
    (folder / "hybridlib_files.json").unlink()  # a folder without its record: still one message
    with pytest.raises(CorruptModelError, match="its weights cannot be read"):
        load_encoder(str(folder))

    encoder.freeze_bottom(1)
    top = save_encoder(encoder, tmp_path / "top", top_layers_only=True)
    (top / "top_layers.safetensors").write_bytes(b"\x08\x00")
    with pytest.raises(CorruptModelError, match="top_layers.safetensors: sha256"):
        load_encoder(str(top))
    (top / "hybridlib_files.json").unlink()
    with pytest.raises(CorruptModelError, match="not a readable safetensors file"):
        load_encoder(str(top))


_PACKAGE = "hybridlib.models"
_FACE = "__init__"  # the package itself: ``from hybridlib.models import Encoder``


def _targets(module: str, modules: set[str]) -> set[str]:
    """The package's modules that importing ``module`` (a dotted name) names, if any."""
    if module == _PACKAGE:
        return {_FACE}
    if module.startswith(_PACKAGE + "."):
        first = module[len(_PACKAGE) + 1 :].split(".")[0]
        return {first} if first in modules else set()
    return set()


def _imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that the file ``path`` imports anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _targets(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative to the package (a module of hybridlib.models)
                parts = _PACKAGE.split(".")[: len(_PACKAGE.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:  # ``from hybridlib.models import tiny`` names a module
                found |= _targets(f"{base}.{alias.name}", modules) or _targets(base, modules)
    found.discard(path.stem)
    return found


def _import_graph(folder: Path) -> dict[str, set[str]]:
    """Each module of the package (by file stem) -> the package's modules it imports."""
    files = sorted(folder.glob("*.py"))
    modules = {p.stem for p in files}
    return {p.stem: _imports_of(p, modules) for p in files}


def _on_circles(graph: dict[str, set[str]]) -> list[str]:
    """The modules from which a chain of imports in ``graph`` leads back to themselves."""

    def reached(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    return sorted(module for module in graph if module in reached(module))


def test_models_modules_import_one_another_without_a_circle() -> None:
    graph = _import_graph(Path(hybridlib.models.__file__).parent)
    # the reading sees imports at all levels (else an empty graph would pass)
    assert "encoder" in graph["loading"] and "encoder" in graph["hidden_states"]
    assert {"encoder", "loading"} <= graph["__init__"]
    circular = _on_circles(graph)
    assert circular == [], "import circles in hybridlib/models: " + ", ".join(
        f"{module} -> {sorted(graph[module] & set(circular))}" for module in circular
    )
