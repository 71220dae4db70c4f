"""A parallel training set as a torch ``Dataset`` addressed by ``(query_idx, passage_idx)``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from hybridlib.data.types import TrainingPair

__all__ = ["ParallelPairs", "passage_content_key"]


def passage_content_key(text: str) -> str:
    """The content key of a passage: 32 hex digits, equal exactly for equal texts.

    ``blake2b(text.encode("utf-8"), digest_size=16).hexdigest()``: the same on every process
    and in every run (unlike Python's salted ``hash``), and short to gather across ranks
    whatever the passage length. The text is taken as is (no case or whitespace folding),
    so only byte-identical passages share a key; two different texts share one with
    probability about ``2 ** -128``.

    >>> passage_content_key("P.") == passage_content_key("P.") != passage_content_key("P!")
    True
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class ParallelPairs(Dataset):
    """Training pairs grouped by language and by parallel key.

    An item is addressed by a tuple ``(query_idx, passage_idx)`` of indices into the list of
    :class:`~hybridlib.data.types.TrainingPair`: the query text of pair ``query_idx`` with the
    passage text of pair ``passage_idx``. Both pairs must share a parallel key (they are
    translations of one example), so ``(i, i)`` is pair ``i`` as given (an X-X item) and
    ``(i, j)`` with pairs in two languages is a cross-lingual (X-Y) item. An ``int`` ``i``
    means ``(i, i)``.

    >>> pairs = ParallelPairs([TrainingPair("Q?", "P.", "en", "k1", "a"),
    ...                        TrainingPair("F?", "P!", "de", "k1", "a")])
    >>> pairs[(1, 0)]["query"], pairs[(1, 0)]["passage"]
    ('F?', 'P.')

    Attributes:
        languages: sorted distinct languages.
        parallel_keys: sorted distinct parallel keys.
        language_codes: ``(n_pairs,)`` int64, index into ``languages`` of each pair.
        key_codes: ``(n_pairs,)`` int64, index into ``parallel_keys`` of each pair.
    """

    def __init__(self, training_pairs: Sequence[TrainingPair]) -> None:
        pairs = list(training_pairs)
        if not pairs:
            raise ValueError("ParallelPairs needs at least one TrainingPair, but got 0")
        for i, pair in enumerate(pairs):
            for field in ("query", "passage", "language", "parallel_key"):
                value = getattr(pair, field, None)
                if not isinstance(value, str) or not value:
                    raise ValueError(
                        f"training pair {i}: field {field!r} must be a non-empty string, "
                        f"but got {value!r}"
                    )
        self._pairs = pairs
        languages, language_codes = np.unique(
            np.array([p.language for p in pairs], dtype=object).astype(str), return_inverse=True
        )
        keys, key_codes = np.unique(
            np.array([p.parallel_key for p in pairs], dtype=object).astype(str),
            return_inverse=True,
        )
        self.languages: tuple[str, ...] = tuple(str(x) for x in languages)
        self.parallel_keys: tuple[str, ...] = tuple(str(x) for x in keys)
        self.language_codes: np.ndarray = language_codes.astype(np.int64)  # (n_pairs,)
        self.key_codes: np.ndarray = key_codes.astype(np.int64)  # (n_pairs,)
        self.language_codes.flags.writeable = False
        self.key_codes.flags.writeable = False

    def __len__(self) -> int:
        """Number of training pairs (not of the query-passage combinations)."""
        return len(self._pairs)

    @property
    def training_pairs(self) -> list[TrainingPair]:
        """The training pairs, in the order the indices refer to."""
        return self._pairs

    @property
    def language_sizes(self) -> dict[str, int]:
        """Number of training pairs in each language."""
        counts = np.bincount(self.language_codes, minlength=len(self.languages))
        return {lang: int(n) for lang, n in zip(self.languages, counts, strict=True)}

    def indices_by_key(self) -> dict[str, np.ndarray]:
        """Pair indices of each parallel key (its translations), ascending."""
        order = np.argsort(self.key_codes, kind="stable")
        bounds = np.searchsorted(self.key_codes[order], np.arange(len(self.parallel_keys) + 1))
        return {key: order[bounds[i] : bounds[i + 1]] for i, key in enumerate(self.parallel_keys)}

    def _check_index(self, index: Any, role: str) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{role} index must be an int, but got {index!r}")
        if not 0 <= index < len(self._pairs):
            raise IndexError(
                f"{role} index {int(index)} is out of range for {len(self._pairs)} training pairs"
            )
        return int(index)

    def __getitem__(self, index: tuple[int, int] | int) -> dict[str, str]:
        """The query of pair ``index[0]`` with the passage of pair ``index[1]``."""
        if isinstance(index, tuple):
            if len(index) != 2:
                raise TypeError(f"index must be (query_idx, passage_idx), but got {index!r}")
            qi, pi = self._check_index(index[0], "query"), self._check_index(index[1], "passage")
        else:
            qi = pi = self._check_index(index, "pair")
        query, passage = self._pairs[qi], self._pairs[pi]
        if query.parallel_key != passage.parallel_key:
            raise ValueError(
                f"item ({qi}, {pi}) combines two parallel keys: query pair {qi} has "
                f"{query.parallel_key!r}, passage pair {pi} has {passage.parallel_key!r}; "
                "a query is only paired with a passage of its own parallel key"
            )
        return {
            "query": query.query,
            "passage": passage.passage,
            "query_language": query.language,
            "passage_language": passage.language,
            "parallel_key": query.parallel_key,
        }

    @staticmethod
    def collate(items: Sequence[dict[str, str]]) -> dict[str, list[str]]:
        """Items to one batch of parallel lists (the ``collate_fn`` of a ``DataLoader``).

        ``passage_keys`` holds the :func:`passage_content_key` of each passage: the loss
        masks an in-batch passage with the same text as a row's positive (e.g. one answer
        sentence under two questions) as a false negative, as it does for a shared
        ``parallel_key``.
        """
        return {
            "queries": [item["query"] for item in items],
            "passages": [item["passage"] for item in items],
            "parallel_keys": [item["parallel_key"] for item in items],
            "query_languages": [item["query_language"] for item in items],
            "passage_languages": [item["passage_language"] for item in items],
            "passage_keys": [passage_content_key(item["passage"]) for item in items],
        }

    def __repr__(self) -> str:
        return (
            f"ParallelPairs({len(self)} pairs, {len(self.parallel_keys)} parallel keys, "
            f"languages={list(self.languages)})"
        )
