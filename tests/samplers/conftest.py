"""Synthetic parallel training sets for the sampler tests."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pytest

from hybridlib.data.types import TrainingPair


def _build_pairs(
    n_keys: int,
    languages: Sequence[str],
    absent: Collection[tuple[int, str]] = (),
    duplicated: Collection[tuple[int, str]] = (),
) -> list[TrainingPair]:
    """One pair per (key ``k{i}``, language), minus ``absent``; ``duplicated`` get a second.

    Texts spell out key, language and copy (``"q|k3|de|0"``), so a batch can be checked
    from its texts alone.
    """
    absent, duplicated = set(absent), set(duplicated)
    pairs = []
    for lang in languages:
        for i in range(n_keys):
            if (i, lang) in absent:
                continue
            for copy in range(2 if (i, lang) in duplicated else 1):
                pairs.append(
                    TrainingPair(
                        query=f"q|k{i}|{lang}|{copy}",
                        passage=f"p|k{i}|{lang}|{copy}",
                        language=lang,
                        parallel_key=f"k{i}",
                        article=f"article{i % 3}",
                    )
                )
    return pairs


@pytest.fixture(scope="session")
def build_pairs():
    """The :func:`_build_pairs` factory (a fixture: test modules cannot import each other)."""
    return _build_pairs
