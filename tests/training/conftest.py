"""Synthetic parallel training pairs and configs for the trainer tests (tiny encoder)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from hybridlib.data.types import TrainingPair

WORDS = (
    "apple river stone cloud music paper garden window silver forest orange bridge candle "
    "mountain pencil rabbit summer winter castle dragon engine finger guitar harbor island "
    "jacket kettle lemon marble needle ocean pillow"
).split()
LANGUAGES = ("de", "en", "fr")


def synthetic_pairs(n_keys: int = 24, languages=LANGUAGES, seed: int = 0) -> list[TrainingPair]:
    """``n_keys`` questions, each in every language: the passage repeats the query's words."""
    rng = np.random.default_rng(seed)
    pairs = []
    for lang in languages:
        for k in range(n_keys):
            words = [
                WORDS[i]
                for i in np.random.default_rng([seed, k]).choice(len(WORDS), 3, replace=False)
            ]
            filler = WORDS[int(rng.integers(len(WORDS)))]
            pairs.append(
                TrainingPair(
                    query=f"{lang} {words[0]} {words[1]}?",
                    passage=f"{lang} {words[0]} {words[1]} {words[2]} {filler}.",
                    language=lang,
                    parallel_key=f"q{k}",
                    article=f"article{k % 4}",
                )
            )
    return pairs


@pytest.fixture
def pairs() -> list[TrainingPair]:
    return synthetic_pairs()


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for pair in synthetic_pairs():
            handle.write(json.dumps(dataclasses.asdict(pair)) + "\n")
    return path


@pytest.fixture
def write_config():
    """``write_config(path, **fields)`` writes a YAML config file."""

    def write(path: Path, **fields) -> Path:
        path.write_text(yaml.safe_dump(fields, sort_keys=False), encoding="utf-8")
        return path

    return write
