"""Crossmodal-3600 (Thapliyal et al., 2022) captions as caption-to-caption cross-lingual
retrieval and as training pairs (the images are not used).

The published captions file is JSON lines, one object per image::

    {"image/key": "000411001ff7dd4f", "en": {"caption": ["A ...", "..."], ...}, "de": {...}}

Every caption is a query and a candidate; a caption of image k in language X is relevant to
every caption of image k in each other language Y (Cross setting) and, with
``same_language=True``, to the other captions of image k in X too (Mono; LAReQA's protocol,
where Multi then counts both). Keys other than ``image/key`` must be language codes (``iw``
is read as ``he``); fields other than ``caption`` inside a language (tokenized variants) are
ignored. Captions were written independently per language (not translations).

For training, :func:`split_images` cuts the images into training, validation and test sets
and :func:`xm3600_training_pairs` makes :class:`~hybridlib.data.types.TrainingPair` s of the
training images; evaluate on ``load_xm3600(images=split["test"], same_language=True)``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np

from hybridlib.data._fields import check_text, get, is_blank, parse_json_line, read_text
from hybridlib.data.errors import DataError
from hybridlib.data.languages import normalize_language
from hybridlib.data.parallel import parallel_suite
from hybridlib.data.sources import require
from hybridlib.data.types import RetrievalSuite, TrainingPair

IMAGE_KEY = "image/key"
CAPTIONS = "xm3600/captions.jsonl"
SPLITS = ("train", "validation", "test")

Captions = dict[str, dict[str, list[str]]]  # {image key: {language: [captions]}}


def captions_path(
    path: str | os.PathLike[str] | None = None, root: str | os.PathLike[str] | None = None
) -> Path:
    """``path``, or the pinned ``xm3600/captions.jsonl`` under ``root`` (checked by
    :func:`~hybridlib.data.sources.require`) when ``path`` is None."""
    return Path(path) if path is not None else require([CAPTIONS], root)[0]


def read_xm3600(path: Path) -> Captions:
    """``{image key: {language: [captions]}}`` in file order (a fresh copy; the parse of a
    file version is kept, so the loaders, the split and the pairs read the file once).

    Every malformed shape raises :class:`DataError` naming file, line, field and value
    (whether or not the pinned SHA-256 was checked): a line that is not an object, a key
    given twice, a missing or empty image key, a repeated image, an unknown language code,
    two codes of one language (``iw`` and ``he``), a language entry that is not an object, a
    ``caption`` that is not a non-empty list, a caption that is not a string or is empty
    (whitespace or zero-width characters only).
    """
    stat = Path(path).stat()
    parsed = _parse_captions(str(path), stat.st_mtime_ns, stat.st_size)
    return {
        image: {lang: list(texts) for lang, texts in by.items()} for image, by in parsed.items()
    }


@functools.lru_cache(maxsize=2)
def _parse_captions(path_name: str, mtime_ns: int, size: int) -> Captions:
    """:func:`read_xm3600`'s parse of one version (path, modification time, size) of a file."""
    path = Path(path_name)
    captions: Captions = {}
    seen_images: dict[str, int] = {}
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        obj = parse_json_line(path, number, line)
        where = f"line {number}"
        image = check_text(path, f"{where}.{IMAGE_KEY}", get(path, obj, IMAGE_KEY, where, str))
        if image in seen_images:
            raise DataError(
                path,
                f"{where}.{IMAGE_KEY}",
                image,
                f"repeats the image of line {seen_images[image]}",
            )
        seen_images[image] = number
        by_language: dict[str, list[str]] = {}
        codes: dict[str, str] = {}  # language -> the key it was read from
        for code, entry in obj.items():
            if code == IMAGE_KEY:
                continue
            lang = normalize_language(code, file=path, field=f"{where} key")
            if lang in codes:
                raise DataError(
                    path, f"{where} key", code, f"is language {lang!r} again (key {codes[lang]!r})"
                )
            codes[lang] = code
            texts = get(path, entry, "caption", f"{where}.{code}", list)
            if not texts:
                raise DataError(path, f"{where}.{code}.caption", texts, "is an empty list")
            for j, caption in enumerate(texts):
                if not isinstance(caption, str) or is_blank(caption):
                    raise DataError(
                        path, f"{where}.{code}.caption[{j}]", caption, "is not a non-empty string"
                    )
            by_language[lang] = list(texts)
        if not by_language:
            raise DataError(path, where, obj, "has no language (no captions for the image)")
        captions[image] = by_language
    return captions


def _wanted_languages(languages: Iterable[str] | None, path: Path) -> list[str] | None:
    if languages is None:
        return None
    if isinstance(languages, str):
        languages = [languages]
    return [normalize_language(code, file=path, field="languages") for code in languages]


def _check_images(images: Iterable[str] | None, captions: Captions, path: Path) -> set[str] | None:
    if images is None:
        return None
    chosen = {images} if isinstance(images, str) else set(images)
    for image in sorted(chosen):
        if image not in captions:
            raise DataError(path, "images", image, "is not an image of this file")
    return chosen


def load_xm3600(
    path: str | os.PathLike[str] | None = None,
    languages: Iterable[str] | None = None,
    *,
    images: Iterable[str] | None = None,
    same_language: bool = False,
    root: str | os.PathLike[str] | None = None,
) -> RetrievalSuite:
    """The captions file at ``path`` (default: the pinned one under ``root``), restricted to
    ``languages`` (default: all in the file) and ``images`` (default: all, in file order).

    Ids ``f"xm3600/{lang}/{image_key}/{j}"`` (``j`` = caption index, dropped when an image
    has one caption in that language); ``parallel_key = f"xm3600/{image_key}"``;
    ``same_language=True`` adds the Mono judgements (other captions of the image in the
    query's language). Every caption is also a candidate: in Mono and Multi a query's own
    caption (the candidate with the query's id) is in its pool, never judged relevant.
    """
    path = captions_path(path, root)
    wanted = _wanted_languages(languages, path)
    captions = read_xm3600(path)
    keep = _check_images(images, captions, path)
    found = {lang for by_language in captions.values() for lang in by_language}
    for lang in wanted or []:
        if lang not in found:
            raise DataError(
                path,
                "languages",
                lang,
                f"has no captions in this file (it has {', '.join(sorted(found))})",
            )
    items = [
        (lang, image, caption)
        for image, by_language in captions.items()
        if keep is None or image in keep
        for lang, texts in by_language.items()
        if wanted is None or lang in wanted
        for caption in texts
    ]
    n_images = len(captions) if keep is None else len(keep)
    metadata = {"files": [str(path)], "images": n_images, "same_language": same_language}
    return parallel_suite("xm3600", items, metadata, same_language=same_language)


def split_images(
    image_keys: Sequence[str],
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> dict[str, list[str]]:
    """``{"train": [...], "validation": [...], "test": [...]}``: the distinct ``image_keys``
    (sorted first, so their order does not matter) permuted by
    ``numpy.random.default_rng(seed)`` and cut at ``floor(n * (f_1 + ... + f_s) + 0.5)``;
    each list sorted. The fractions must be three non-negative numbers summing to 1."""
    if len(fractions) != len(SPLITS) or any(not f >= 0 for f in fractions):
        raise ValueError(
            f"fractions must be {len(SPLITS)} non-negative shares for {SPLITS}, "
            f"but got {tuple(fractions)!r}"
        )
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(
            f"fractions must sum to 1, but got {tuple(fractions)!r} (sum {sum(fractions)})"
        )
    keys = sorted(set(image_keys))
    order = np.random.default_rng(seed).permutation(len(keys))  # (n,)
    cuts = [0, *(math.floor(len(keys) * c + 0.5) for c in np.cumsum(fractions)[:-1]), len(keys)]
    return {
        name: sorted(keys[i] for i in order[cuts[s] : cuts[s + 1]]) for s, name in enumerate(SPLITS)
    }


def xm3600_split(
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    seed: int = 0,
    path: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> dict[str, list[str]]:
    """:func:`split_images` of the images of the captions file (default: the pinned one)."""
    return split_images(list(read_xm3600(captions_path(path, root))), fractions, seed)


def xm3600_training_pairs(
    images: Collection[str],
    languages: Iterable[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> list[TrainingPair]:
    """Training pairs of ``images`` (e.g. ``xm3600_split()["train"]``), in file order.

    For every image and language with ``n >= 2`` distinct captions ``c_0 .. c_{n-1}`` (a
    caption repeated word for word in one image and language counts once), the ``n - 1``
    pairs ``(query=c_j, passage=c_{j+1})`` in that language (every caption is in one; an
    image with one distinct caption in a language gives none, so Bengali, with one caption
    per image, gives no pairs). An X-X item is one such pair; the samplers make X-Y items
    from two pairs of one image in two languages (query of one, passage of the other):
    ``parallel_key = article = f"xm3600/{image_key}"``, so the loss masks every other
    caption of the same image.
    """
    path = captions_path(path, root)
    wanted = _wanted_languages(languages, path)
    captions = read_xm3600(path)
    keep = _check_images(images, captions, path)
    pairs = []
    for image, by_language in captions.items():
        if keep is not None and image not in keep:
            continue
        key = f"xm3600/{image}"
        for lang, texts in by_language.items():
            if wanted is not None and lang not in wanted:
                continue
            distinct = list(dict.fromkeys(texts))
            for query, passage in zip(distinct[:-1], distinct[1:]):
                pairs.append(TrainingPair(query, passage, lang, key, key))
    return pairs
