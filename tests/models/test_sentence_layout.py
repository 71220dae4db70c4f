"""A sentence-transformers folder (Transformer -> Pooling -> Dense -> Normalize, as LaBSE's
published sentence encoder) is read as sentence-transformers itself runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.models import load_encoder, save_encoder
from hybridlib.models.sentence_layout import read_layout

TEXTS = ["a short sentence", "Eine etwas längere Frage, nicht wahr?", "短い文", "x"]


@pytest.fixture(scope="module")
def st_folder(tmp_path_factory):
    """The tiny model saved by sentence-transformers with CLS pooling and a tanh Dense head."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Dense,
        Normalize,
        Pooling,
        Transformer,
    )

    from benchmarks.training import model_folder

    base = model_folder("tiny", tmp_path_factory.mktemp("tiny"))
    transformer = Transformer(
        str(base), max_seq_length=64, model_kwargs={"add_pooling_layer": False}
    )
    torch.manual_seed(0)
    dense = Dense(32, 24, activation_function=torch.nn.Tanh())
    model = SentenceTransformer(
        modules=[transformer, Pooling(32, pooling_mode="cls"), dense, Normalize()], device="cpu"
    )
    folder = tmp_path_factory.mktemp("st") / "labse-like"
    model.save(str(folder))
    return folder, model


def test_the_layout_is_read_from_modules_json(st_folder):
    folder, _ = st_folder
    layout = read_layout(folder)
    assert (layout.transformer_path, layout.pooling, layout.normalize) == ("", "cls", True)
    assert layout.head.config() == {
        "in_features": 32,
        "out_features": 24,
        "bias": True,
        "activation": "tanh",
    }


def test_the_older_pooling_config_of_labses_repository_is_read(st_folder, tmp_path):
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(st_folder[0], folder)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {  # as sentence-transformers/LaBSE
                "word_embedding_dimension": 32,
                "pooling_mode_cls_token": True,
                "pooling_mode_mean_tokens": False,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
            }
        )
    )
    assert read_layout(folder).pooling == "cls"


def test_embeddings_equal_sentence_transformers(st_folder):
    folder, model = st_folder
    encoder = load_encoder(folder, max_length=64)
    assert encoder.dim == 24 and encoder.pooling == "cls"
    ours = encoder.encode(TEXTS, kind="passage")
    theirs = model.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_the_head_is_trained_saved_and_loaded_with_the_model(st_folder, tmp_path):
    folder, _ = st_folder
    encoder = load_encoder(folder, max_length=64)
    assert any(
        name.startswith("head.") for name, p in encoder.named_parameters() if p.requires_grad
    )
    with torch.no_grad():
        encoder.head.linear.weight.mul_(0.5)  # as a training step would move it
    want = encoder.encode(TEXTS)
    again = load_encoder(save_encoder(encoder, tmp_path / "whole"))
    np.testing.assert_array_equal(again.encode(TEXTS), want)
    assert again.settings.head == encoder.head.config()

    encoder.freeze_bottom(1)  # a top-k model: its top layer and the head are the delta
    assert any(p.requires_grad for p in encoder.head.parameters())
    top = load_encoder(save_encoder(encoder, tmp_path / "top", top_layers_only=True))
    np.testing.assert_array_equal(top.encode(TEXTS), want)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: (f / "1_Pooling" / "config.json").write_text(
                json.dumps({"word_embedding_dimension": 32, "pooling_mode_max_tokens": True})
            ),
            r"1_Pooling/config.json: pooling \['pooling_mode_max_tokens'\] is not supported",
        ),
        (
            lambda f: (f / "1_Pooling" / "config.json").write_text(
                json.dumps(
                    {"embedding_dimension": 32, "pooling_mode": "cls", "include_prompt": False}
                )
            ),
            "field 'include_prompt' is false",
        ),
        (
            lambda f: (f / "2_Dense" / "model.safetensors").unlink(),
            "2_Dense: no model.safetensors or pytorch_model.bin",
        ),
        (  # issue 29: a pickle that weights_only refuses was torch's raw UnpicklingError
            lambda f: (
                (f / "2_Dense" / "model.safetensors").unlink(),
                torch.save({"weight": Path("not a tensor")}, f / "2_Dense" / "pytorch_model.bin"),
            ),
            r"2_Dense/pytorch_model.bin: cannot be loaded as tensors only \(UnpicklingError: ",
        ),
        (
            lambda f: (f / "modules.json").write_text(
                json.dumps(
                    [
                        {
                            "idx": 0,
                            "name": "0",
                            "path": "",
                            "type": "sentence_transformers.models.Transformer",
                        },
                        {
                            "idx": 1,
                            "name": "1",
                            "path": "1_Pooling",
                            "type": "sentence_transformers.models.Pooling",
                        },
                        {
                            "idx": 2,
                            "name": "2",
                            "path": "2_LSTM",
                            "type": "sentence_transformers.models.LSTM",
                        },
                    ]
                )
            ),
            r"module 2 \('sentence_transformers.models.LSTM'\) is not supported",
        ),
    ],
)
def test_a_layout_we_cannot_run_is_refused_by_name(st_folder, tmp_path, edit, message):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(st_folder[0], folder)
    edit(folder)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_encoder(folder)


def test_a_hub_repository_is_read_through_its_cached_files(st_folder, monkeypatch):
    """The hub path fetches modules.json and the module files by name (here: the folder)."""
    import huggingface_hub

    folder, model = st_folder
    fetched = []

    def download(repo, filename, local_files_only=False):
        fetched.append(filename)
        path = folder / filename
        if not path.is_file():
            raise FileNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    from hybridlib.models import loading

    layout = loading._hub_layout("someone/labse-like")
    assert layout.pooling == "cls" and layout.head.config()["out_features"] == 24
    assert fetched == [
        "modules.json",
        "1_Pooling/config.json",
        "2_Dense/config.json",
        "2_Dense/model.safetensors",
    ]
