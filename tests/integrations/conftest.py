"""Training pairs for the trainer integrations: ``n_keys`` questions in three languages."""

from __future__ import annotations

from hybridlib.data.types import TrainingPair

LANGUAGES = ("de", "en", "zh")


def training_pairs(n_keys: int = 12) -> list[TrainingPair]:
    return [
        TrainingPair(f"question {k} in {lang}", f"answer {k} in {lang}", lang, f"k{k}", "a")
        for k in range(n_keys)
        for lang in LANGUAGES
    ]
