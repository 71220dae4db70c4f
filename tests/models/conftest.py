"""Fixtures for the encoder tests: one tiny encoder, one embedded-model build and load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybridlib.models import Encoder, load_encoder, tiny_encoder
from hybridlib.models.embedded import build_embedded_model

# texts of many scripts and lengths, an empty one and a duplicate
TEXTS = [
    "A short one.",
    "Der schnelle braune Fuchs springt über den faulen Hund, und dann noch weiter.",
    "猫が好きです。",
    "هذا نص عربي قصير",
    "x",
    "Это предложение на русском языке, немного длиннее остальных, чтобы было видно заполнение.",
    "यह हिंदी में एक वाक्य है।",
    "",
    "Two words",
    "A short one.",  # a duplicate
]


@pytest.fixture(scope="session", autouse=True)
def _two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(min(2, previous))
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny() -> Encoder:
    """The tiny random encoder (seed 0, mean pooling, no prefixes). Do not modify it."""
    return tiny_encoder(seed=0)


@pytest.fixture(scope="session")
def embedded_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache root in which the embedded model is built once per session."""
    return tmp_path_factory.mktemp("hybridlib-cache")


@pytest.fixture(scope="session")
def embedded_folder(embedded_cache: Path) -> Path:
    return build_embedded_model(embedded_cache)


@pytest.fixture(scope="session")
def embedded(embedded_folder: Path) -> Encoder:
    return load_encoder(embedded_folder)
