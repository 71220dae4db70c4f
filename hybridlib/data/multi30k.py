"""Multi30K task 1 (Elliott et al., 2016): image captions, line-aligned across languages
(``{split}.{lang}.gz``; de/fr/cs are translations of the English caption).

Splits and languages: train, val, test_2016_flickr, test_2018_flickr (en de fr cs);
test_2017_flickr, test_2017_mscoco (en de fr). Line ``i`` in one language is relevant to
line ``i`` in every other loaded language (Cross setting).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from hybridlib.data.errors import DataError
from hybridlib.data.languages import select_languages
from hybridlib.data.parallel import parallel_suite, read_aligned
from hybridlib.data.sources import require, resolve_root
from hybridlib.data.types import RetrievalSuite

MULTI30K_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("en", "de", "fr", "cs"),
    "val": ("en", "de", "fr", "cs"),
    "test_2016_flickr": ("en", "de", "fr", "cs"),
    "test_2017_flickr": ("en", "de", "fr"),
    "test_2017_mscoco": ("en", "de", "fr"),
    "test_2018_flickr": ("en", "de", "fr", "cs"),
}


def load_multi30k(
    split: str = "test_2016_flickr",
    languages: Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """The captions of ``split`` in ``languages`` (default: all the split has).

    Suite name ``f"multi30k/{split}"``; ids ``f"multi30k/{split}/{lang}/{line_index}"``.
    """
    root = resolve_root(root)
    folder = root / "multi30k"
    if split not in MULTI30K_SPLITS:
        raise DataError(folder, "split", split, f"is not one of {', '.join(MULTI30K_SPLITS)}")
    available = MULTI30K_SPLITS[split]
    langs = select_languages(
        languages,
        available,
        file=folder,
        unavailable=f"is not a language of {split} ({', '.join(available)})",
    )
    paths = require([f"multi30k/{split}.{lang}.gz" for lang in langs], root)
    lines = read_aligned(dict(zip(langs, paths, strict=True)))
    name = f"multi30k/{split}"
    items = [(lang, str(i), text) for lang in langs for i, text in enumerate(lines[lang])]
    return parallel_suite(name, items, {"files": [str(p) for p in paths], "split": split})
