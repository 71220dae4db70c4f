"""Crossmodal-3600 (Thapliyal et al., 2022) captions as caption-to-caption cross-lingual
retrieval (the images are not used).

The published captions file is JSON lines, one object per image::

    {"image/key": "000411001ff7dd4f", "en": {"caption": ["A ...", "..."], ...}, "de": {...}}

Every caption is a query and a candidate; a caption of image k in language X is relevant to
every caption of image k in each other language Y (Cross setting). Keys other than
``image/key`` must be language codes (``iw`` is read as ``he``); fields other than
``caption`` inside a language (tokenized variants) are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hybridlib.data._fields import get, parse_json_line, read_text
from hybridlib.data.errors import DataError
from hybridlib.data.languages import normalize_language
from hybridlib.data.parallel import parallel_suite
from hybridlib.data.types import RetrievalSuite

IMAGE_KEY = "image/key"


def load_xm3600(
    path: str | os.PathLike[str], languages: Iterable[str] | None = None
) -> RetrievalSuite:
    """The captions file at ``path``, restricted to ``languages`` (default: all in the file).

    Ids ``f"xm3600/{lang}/{image_key}/{j}"`` (``j`` = caption index, dropped when an image
    has one caption in that language); ``parallel_key = f"xm3600/{image_key}"``.
    """
    path = Path(path)
    wanted = None
    if languages is not None:
        if isinstance(languages, str):
            languages = [languages]
        wanted = [normalize_language(code, file=path, field="languages") for code in languages]
    items: list[tuple[str, str, str]] = []
    seen_images: dict[str, int] = {}
    found: set[str] = set()
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        obj = parse_json_line(path, number, line)
        where = f"line {number}"
        image = get(path, obj, IMAGE_KEY, where, str)
        if image in seen_images:
            raise DataError(
                path,
                f"{where}.{IMAGE_KEY}",
                image,
                f"repeats the image of line {seen_images[image]}",
            )
        seen_images[image] = number
        for code, entry in obj.items():
            if code == IMAGE_KEY:
                continue
            lang = normalize_language(code, file=path, field=f"{where} key")
            found.add(lang)
            captions = get(path, entry, "caption", f"{where}.{code}", list)
            for j, caption in enumerate(captions):
                if not isinstance(caption, str) or not caption.strip():
                    raise DataError(
                        path, f"{where}.{code}.caption[{j}]", caption, "is not a non-empty string"
                    )
                if wanted is None or lang in wanted:
                    items.append((lang, image, caption))
    for lang in wanted or []:
        if lang not in found:
            raise DataError(
                path,
                "languages",
                lang,
                f"has no captions in this file (it has {', '.join(sorted(found))})",
            )
    return parallel_suite("xm3600", items, {"files": [str(path)], "images": len(seen_images)})
