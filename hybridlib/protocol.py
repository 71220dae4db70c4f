"""The experiment's protocol, as functions the notebooks call (no logic in notebooks).

**The question this project was asked** (``xm3600``): a model trains on the captions of
XM3600's training images (:func:`xm3600_images`), in every language of the file, and is
evaluated zero-shot on the captions of its test images (in-domain), on SciFact with claims
machine-translated (biomedical claims and abstracts), on TICO-19 (COVID-19 texts in 37
languages, many never trained on) and on XQuAD-R and MLQA-R (questions and passages). Its open
choices are made on the validation images.

**Zero-shot in both LAReQA directions** (the paper's own claims). A model trains on one LAReQA
set and is evaluated on the other, in full (every language, every article, the full pools), as
the paper evaluates XQuAD-R and MLQA-R zero-shot:

- ``xquad-to-mlqa``: trained on XQuAD in the paper's nine training languages, evaluated on
  MLQA-R (and the domain-shift suites);
- ``mlqa-to-xquad``: trained on MLQA in its languages but Vietnamese, evaluated on XQuAD-R.

The two sets share a few Wikipedia articles (matched by title: ``Harvard_University`` in
XQuAD is ``Harvard University`` in MLQA); those are never trained on, so no evaluated
question, passage or sentence was seen in training. Languages a direction does not train on
stay unseen (XQuAD-R: el, ru, th, tr, vi for ``mlqa-to-xquad``; MLQA-R: vi for
``xquad-to-mlqa``).

**Validation.** A fixed share of each training set's remaining articles (drawn by a seeded
permutation of the sorted titles) is held out as its validation split; the open choices
(temperature, learning rate, steps) are made on it, and no model trains on it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hybridlib.data.lareqa import normalise_title

if TYPE_CHECKING:
    import pandas as pd

LAREQA_SUITES = ("xquad-r", "mlqa-r")
PAPER_TRAINING_LANGUAGES = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")


# XM3600's languages (the 33 of its 36 in the data folder); Bengali has one caption per
# image, so it gives X-Y pairs only (tests/test_protocol.py checks the list against the file)
XM3600_LANGUAGES = (
    "ar", "bn", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fil", "fr", "hr", "hu", "id",
    "it", "ja", "ko", "mi", "nl", "no", "pl", "pt", "quz", "ro", "sv", "sw", "te", "th", "tr",
    "uk", "vi", "zh",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Direction:
    """Train on ``train_suite`` in ``languages``; evaluate ``test_suites`` (the first is the
    direction's own test suite, :attr:`test_suite`: the paper's claims are tested there)."""

    name: str
    train_suite: str
    test_suites: tuple[str, ...]
    languages: tuple[str, ...]

    @property
    def test_suite(self) -> str:
        """The direction's own test suite (the first of :attr:`test_suites`)."""
        return self.test_suites[0]


DIRECTIONS: dict[str, Direction] = {
    "xquad-to-mlqa": Direction("xquad-to-mlqa", "xquad-r", ("mlqa-r",), PAPER_TRAINING_LANGUAGES),
    "mlqa-to-xquad": Direction("mlqa-to-xquad", "mlqa-r", ("xquad-r",), ("ar", "de", "en", "es", "hi", "zh")),
    "xm3600": Direction("xm3600", "xm3600", ("xm3600", "scifact-mt", "tico19", "xquad-r", "mlqa-r"),
                        XM3600_LANGUAGES),
}  # fmt: skip


# XM3600's images, split once for every system: training, validation (the open choices) and
# test (evaluated); drawn by :func:`hybridlib.data.xm3600.split_images`
XM3600_SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
XM3600_SPLIT_SEED = 0


def xm3600_images(
    part: str,
    path: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The image keys of XM3600's ``part`` (``"train"``, ``"validation"`` or ``"test"``)
    under the protocol's split (:data:`XM3600_SPLIT_FRACTIONS`, :data:`XM3600_SPLIT_SEED`)."""
    from hybridlib.data.xm3600 import xm3600_split

    split = xm3600_split(XM3600_SPLIT_FRACTIONS, XM3600_SPLIT_SEED, path=path, root=root)
    if part not in split:
        raise ValueError(f"part must be one of {sorted(split)}, but got {part!r}")
    return split[part]


def direction(name: str) -> Direction:
    """The :class:`Direction` called ``name`` (an error lists the valid names)."""
    if name not in DIRECTIONS:
        raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, but got {name!r}")
    return DIRECTIONS[name]


@functools.lru_cache(maxsize=8)
def suite_articles(suite: str, root: str | None = None) -> tuple[str, ...]:
    """Sorted article titles of a LAReQA suite.

    Read from the English files: every XQuAD-R and MLQA-R question has its English version,
    so English holds every article (and parsing one language is ten times faster).
    """
    from hybridlib.data import load_lareqa

    loaded = load_lareqa(suite, languages=["en"], root=root)
    return tuple(sorted({c.article for c in loaded.candidates if c.article}))


def shared_articles(suite: str, root: str | None = None) -> list[str]:
    """Articles of ``suite`` whose title (normalised) is also an article of the other set."""
    other = next(s for s in LAREQA_SUITES if s != suite)
    theirs = {normalise_title(t) for t in suite_articles(other, root)}
    return [t for t in suite_articles(suite, root) if normalise_title(t) in theirs]


def xm3600_units(part: str, root: str | None = None, limit: int | None = None) -> list[str]:
    """The training units (``xm3600/<image>``) of XM3600's ``part`` under the protocol's
    split; ``limit``: the first ``limit`` of them in a seeded order
    (``default_rng(XM3600_SPLIT_SEED).permutation`` of the sorted keys), returned sorted — a
    smaller profile's stated cut, the same images for every system."""
    units = [f"xm3600/{key}" for key in xm3600_images(part, root=root)]
    if limit is None or limit >= len(units):
        return units
    if limit < 1:
        raise ValueError(f"limit must be at least 1, but got {limit}")
    order = np.random.default_rng(XM3600_SPLIT_SEED).permutation(len(units))
    return sorted(units[i] for i in order[:limit])


def validation_articles(
    name: str, fraction: float, seed: int = 0, root: str | None = None,
    limit: int | None = None,
) -> list[str]:  # fmt: skip
    """The validation split of direction ``name``'s training set: ``ceil(fraction * n)`` of
    its ``n`` articles that are not shared with the test set, drawn by
    ``default_rng(seed).permutation`` of the sorted titles; returned sorted. XM3600: the
    protocol's validation images (``fraction`` and ``seed`` do not apply; ``limit``:
    :func:`xm3600_units`)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), but got {fraction}")
    train_suite = direction(name).train_suite
    if train_suite == "xm3600":
        return xm3600_units("validation", root, limit)
    shared = set(shared_articles(train_suite, root))
    usable = [t for t in suite_articles(train_suite, root) if t not in shared]
    count = int(np.ceil(fraction * len(usable)))
    order = np.random.default_rng(seed).permutation(len(usable))
    return sorted(usable[i] for i in order[:count])


def training_articles(
    name: str, validation_fraction: float, seed: int = 0, root: str | None = None,
    limit: int | None = None,
) -> list[str]:  # fmt: skip
    """The articles direction ``name`` trains on: its training set's articles minus the
    ones shared with the test set and the validation split. XM3600: the protocol's training
    images (``limit``: :func:`xm3600_units`)."""
    train_suite = direction(name).train_suite
    if train_suite == "xm3600":
        return xm3600_units("train", root, limit)
    excluded = set(shared_articles(train_suite, root)) | set(
        validation_articles(name, validation_fraction, seed, root)
    )
    return [t for t in suite_articles(train_suite, root) if t not in excluded]


def curve_languages(name: str, requested: Sequence[str] | None) -> list[str] | None:
    """The languages direction ``name``'s learning curve is scored in: ``requested`` (a
    profile's ``xm3600_validation_languages``) for XM3600, whose 33-language curve has
    1,123 cells a point; None (its training languages) for the other directions or when
    none is requested."""
    if requested and direction(name).train_suite == "xm3600":
        return list(requested)
    return None


def unseen_languages(name: str, suite_languages: Sequence[str]) -> list[str]:
    """Languages of an evaluated suite that direction ``name`` never trains on."""
    seen = set(direction(name).languages)
    return [lang for lang in suite_languages if lang not in seen]


def protocol_table(validation_fraction: float, validation_seed: int = 0, root: str | None = None):
    """What each LAReQA direction's models saw: one row per direction with the training set, its
    languages, its articles (trained, shared with the test set and left out, validation),
    the training pairs, the test suite and its languages never trained on."""
    import pandas as pd

    from hybridlib.data import lareqa_training_pairs, load_lareqa

    rows = []
    for name, chosen in DIRECTIONS.items():
        if chosen.train_suite not in LAREQA_SUITES:
            continue  # XM3600: xm3600_table
        trained = training_articles(name, validation_fraction, validation_seed, root)
        pairs = lareqa_training_pairs(chosen.train_suite, languages=chosen.languages,
                                      articles=trained, root=root)  # fmt: skip
        test_languages = load_lareqa(chosen.test_suite, root=root).languages
        rows.append({
            "direction": name,
            "trained on": f"{chosen.train_suite} ({' '.join(chosen.languages)})",
            "training articles": len(trained),
            "shared with the test set (left out)": len(shared_articles(chosen.train_suite, root)),
            "validation articles": len(validation_articles(name, validation_fraction, validation_seed, root)),
            "training pairs": len(pairs),
            "evaluated on": f"{chosen.test_suite}, in full",
            "languages never trained on": " ".join(unseen_languages(name, test_languages)) or "none",
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("direction")


def xm3600_table(
    train_images: int | None = None, validation_images: int | None = None, root: str | None = None
) -> pd.DataFrame:
    """What each language contributes to the ``xm3600`` direction: per language, the captions
    of the training images used (``train_images``: :func:`xm3600_units`'s limit), the X-X
    pairs they give (two different captions of one image; none with one caption per image),
    and the captions of the validation and test images; a last row ``all`` sums them."""
    import pandas as pd

    from hybridlib.data.xm3600 import captions_path, read_xm3600, xm3600_training_pairs

    captions = read_xm3600(captions_path(root=root))
    parts = {
        "training": [u.removeprefix("xm3600/") for u in xm3600_units("train", root, train_images)],
        "validation": [u.removeprefix("xm3600/") for u in xm3600_units("validation", root, validation_images)],
        "test": xm3600_images("test", root=root),
    }  # fmt: skip
    pairs = xm3600_training_pairs(parts["training"], root=root)
    rows = []
    for lang in XM3600_LANGUAGES:
        row: dict[str, object] = {"language": lang}
        for part, images in parts.items():
            row[f"{part} captions"] = sum(len(captions[i].get(lang, ())) for i in images)
        row["X-X pairs"] = sum(p.language == lang for p in pairs)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("language")
    table.loc["all"] = table.sum()
    counts = {part: len(images) for part, images in parts.items()}
    table.attrs["images"] = counts
    return table
