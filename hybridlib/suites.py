"""The evaluation suites: one registry entry each, read by everything that names a suite.

:data:`SUITES` holds one :class:`SuiteSpec` per suite: its name and display name, its
loader, its LAReQA settings and measures, the headline (setting, measure) the domain-shift
chapter tests, whether it is one suite per language, the data folders it reads, whether a
pool that is a whole Wikipedia drops the articles trained on, and how its languages are
aggregated. Evaluation (:mod:`hybridlib.evaluation.suites`), the ``data`` and ``evaluate``
commands, the profiles and their plan (:mod:`hybridlib.runner`) and the book's tables
(:mod:`hybridlib.reporting`) read a suite from here, never by its name; a new suite is one
:func:`register_suite` call (``tests/test_suites.py`` adds one).

- ``xquad-r``, ``mlqa-r`` (``load_lareqa``): Mono, Cross, Multi; map, recall@1, recall@10,
  and rank distance (plain and normalised) in Multi.
- ``multi30k`` (``load_multi30k``, test_2016_flickr, en de fr cs): Cross, caption to
  caption over every ordered language pair; map, recall@1, recall@10.
- ``xm3600`` (``load_xm3600``, the test images of :func:`hybridlib.protocol.xm3600_images`,
  33 languages): the LAReQA protocol on captions: a caption's answers are the other captions
  of its image, in its language (Mono) and in every other (Cross), all of them in Multi; a
  caption is never its own answer (it is left out of its own pool).
- ``tatoeba`` (``load_tatoeba(xx)`` per language): xx -> en and en -> xx; recall@1 (the
  usual bitext accuracy: one relevant sentence) and map; aggregated per direction
  (:func:`tatoeba_aggregates`).
- ``scifact`` (``load_beir("scifact", "test")``): Mono en; ndcg@10, recall@100, map.
- ``scifact-mt`` (``load_scifact_mt_pool``): SciFact's 300 test claims in English and
  machine-translated (Apertium) into es, ca, gl, eo, fr, pt, it, against one pool of the
  abstracts in en, es and ca: Mono (en, es, ca), Cross (x -> y), Multi with rank distance;
  ndcg@10, recall@100, map.
- ``scifact-mt-en``: the same claims against the English abstracts alone (BEIR's corpus):
  Mono en -> en (BEIR's SciFact) and Cross x -> en; a third of ``scifact-mt``'s cost.
- ``tico19`` (``load_tico19``): TICO-19's COVID-19 segments, English and 37 languages,
  misaligned segments dropped; Cross x -> en only; map, recall@1, recall@10.
- ``tydiqa`` (``load_tydiqa("dev")``, GoldP, native questions -> paragraphs of the same
  language): Mono per language; map, mrr@10, recall@1, recall@10.
- ``miracl`` (``load_miracl_languages("dev")``, when its published layout is in the data
  folder): Mono per language, each language's whole corpus its pool; ndcg@10 and recall@100
  (the paper's third suite), macro-averaged over languages.

Tatoeba rows: one cell per direction and language (``query_language="de",
candidate_language="en"`` is de -> en); aggregates are per direction (``all -> en`` and
``en -> all``), and, when ``training_languages`` are given, per direction and group in the
extra column ``seen`` (``True``: the non-English language was a training language).

This module imports neither torch nor a data loader, and nothing of evaluation: loaders and
aggregations import what they need (data modules, pandas) when called.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hybridlib.io import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from hybridlib.data.types import RetrievalSuite, TrainingPair

SETTINGS: tuple[str, ...] = ("mono", "cross", "multi")  # LAReQA's settings
ALL = "all"  # the language of a Multi pool, and of a row aggregated over languages
LAREQA_MEASURES: tuple[str, ...] = ("map", "recall@1", "recall@10")
MULTI_EXTRA_MEASURES: tuple[str, ...] = ("rank_distance", "rank_distance_norm")

PathLike = str | os.PathLike[str]


class SuiteLoader(Protocol):
    """``(languages, root, path=None) -> suites``: ``languages`` None is all of the suite,
    ``root`` None is ``$HYBRIDLIB_DATA_DIR``, ``path`` a file given outside the data folder
    (XM3600's captions); one :class:`~hybridlib.data.types.RetrievalSuite` per pool."""

    def __call__(
        self, languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
    ) -> list[RetrievalSuite]: ...


class TrainingLoader(Protocol):
    """``(languages, articles, root) -> pairs``: a suite's training pairs in ``languages``
    (None: all) from ``articles`` (its training units, e.g. article titles or
    ``xm3600/<image>``; None: every unit that may be trained on), ``root`` the data folder."""

    def __call__(
        self, languages: list[str] | None, articles: list[str] | None, root: PathLike | None
    ) -> list[TrainingPair]: ...


class HeldOutLoader(Protocol):
    """``(languages, articles, root) -> (pairs, suite)``: the validation pairs and the
    evaluation suite (the suite's own protocol) of held-out training units ``articles``."""

    def __call__(
        self, languages: list[str] | None, articles: list[str], root: PathLike | None
    ) -> tuple[list[TrainingPair], RetrievalSuite]: ...


# (a per-language suite's rows, the training languages or None) -> the rows with aggregates
Aggregate = Callable[["pd.DataFrame", "Sequence[str] | None"], "pd.DataFrame"]


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: everything the library knows of it.

    ``name``: as in paths, results and profiles; ``label``: as tables show it. ``load``: a
    :class:`SuiteLoader`. ``settings`` (of :data:`SETTINGS`), ``measures`` and, in Multi,
    ``multi_measures`` also: what is evaluated. ``headline``: the (setting, measure) the
    domain-shift chapter tests on it (None: not a domain-shift suite). ``per_language``: loaded
    as one suite per language, each its own pool, its rows then aggregated by ``aggregate``
    (None: the macro average over languages appended). ``folders``: the folders of the data
    folder it reads (a suite none of whose files is pinned in ``SHA256SUMS`` is optional:
    :func:`optional_suites`); ``present(data folder)`` a finer check of them (default: each
    exists).
    ``drop_training_articles``: a pool that is a whole Wikipedia holds the articles trained
    on; their passages are removed from it (``leakage.restrict_articles``) instead of the
    suite being refused. ``cross_pivot``: its Cross cells are ``x -> pivot`` only (TICO-19's
    37 languages against English), not every ordered pair. ``training_pairs``: a
    :class:`TrainingLoader` for a suite that is also a training set (None: never trained on);
    ``held_out``: its :class:`HeldOutLoader` (the learning curves' validation units).
    ``lexical_settings``: the settings a lexical retriever (BM25) runs, where a query and its
    answers may share words (default Mono; Cross too where a translation keeps words).
    """

    name: str
    label: str
    load: SuiteLoader
    settings: tuple[str, ...]
    measures: tuple[str, ...]
    multi_measures: tuple[str, ...] = ()
    headline: tuple[str, str] | None = None
    per_language: bool = False
    aggregate: Aggregate | None = None
    folders: tuple[str, ...] = ()
    present: Callable[[Path], bool] | None = None
    drop_training_articles: bool = False
    cross_pivot: str | None = None
    training_pairs: TrainingLoader | None = None
    held_out: HeldOutLoader | None = None
    lexical_settings: tuple[str, ...] = ("mono",)

    def __post_init__(self) -> None:
        where = f"suite {self.name!r}"
        if not self.name or not self.label:
            raise ValueError(f"{where}: name and label must be non-empty")
        unknown = [s for s in self.settings if s not in SETTINGS]
        if not self.settings or unknown:
            raise ValueError(
                f"{where}: settings must be some of {SETTINGS}, but got {self.settings!r}"
            )
        if not self.measures:
            raise ValueError(f"{where}: measures must name at least one measure")
        if self.headline is not None and self.headline[0] not in self.settings:
            raise ValueError(
                f"{where}: the headline's setting {self.headline[0]!r} is not one of its "
                f"settings {self.settings!r}"
            )
        if self.headline is not None and self.headline[1] not in self.measures:
            raise ValueError(
                f"{where}: the headline's measure {self.headline[1]!r} is not one of its "
                f"measures {self.measures!r}"
            )
        if self.aggregate is not None and not self.per_language:
            raise ValueError(f"{where}: an aggregate applies to a per-language suite only")


SUITES: dict[str, SuiteSpec] = {}


def register_suite(spec: SuiteSpec, *, replace: bool = False) -> SuiteSpec:
    """Add ``spec`` to :data:`SUITES` (a name taken is refused unless ``replace``); its
    measures are checked (:func:`hybridlib.metrics.measures.parse_measure`). Returns it."""
    from hybridlib.metrics.measures import parse_measure

    if spec.name in SUITES and not replace:
        raise ValueError(f"suite {spec.name!r} is registered already")
    for measure in (*spec.measures, *spec.multi_measures):
        parse_measure(measure)
    SUITES[spec.name] = spec
    return spec


def unregister_suite(name: str) -> None:
    """Remove suite ``name`` from :data:`SUITES` (what a test registered)."""
    suite_spec(name)
    del SUITES[name]


def suite_spec(name: str) -> SuiteSpec:
    """The entry of suite ``name``; ValueError naming it, the known suites and the closest."""
    if name not in SUITES:
        raise ValueError(
            f"unknown suite {name!r}{did_you_mean(name, SUITES, ' (did you mean {!r}?)')}; "
            f"choose from {sorted(SUITES)}"
        )
    return SUITES[name]


def suite_label(name: str) -> str:
    """How suite ``name`` reads in the book (``xquad-r`` -> ``XQuAD-R``); an unknown name
    as it is."""
    spec = SUITES.get(name)
    return spec.label if spec is not None else name


def training_suites() -> tuple[str, ...]:
    """The suites that are also training sets (their ``training_pairs``), in registry order."""
    return tuple(name for name, spec in SUITES.items() if spec.training_pairs is not None)


def headline_measures() -> dict[str, tuple[str, str]]:
    """Each domain-shift suite's headline ``(setting, measure)``, in registry order: what the
    domain-shift and mixing chapters test."""
    return {name: spec.headline for name, spec in SUITES.items() if spec.headline is not None}


def optional_suites() -> tuple[str, ...]:
    """The suites whose data are not among the pinned data (no file of their folders in
    ``SHA256SUMS``): evaluated where a reader has put them (a profile's
    ``domain_shift_suites_if_present``)."""
    from hybridlib.data.sources import expected_sha256

    pinned = list(expected_sha256())
    return tuple(
        name
        for name, spec in SUITES.items()
        if spec.folders
        and not all(any(rel.startswith(f"{folder}/") for rel in pinned) for folder in spec.folders)
    )


def suite_present(name: str, root: PathLike | None = None) -> bool:
    """Whether suite ``name``'s data are in the data folder ``root`` (None:
    ``$HYBRIDLIB_DATA_DIR``): each of its folders exists, and its own ``present`` check
    passes; without a data folder, nothing is present."""
    from hybridlib.data.errors import DataError
    from hybridlib.data.sources import resolve_root

    spec = suite_spec(name)
    try:
        folder = resolve_root(root)
        if not all((folder / sub).is_dir() for sub in spec.folders):
            return False
        return spec.present is None or spec.present(folder)
    except DataError:  # no data folder at all
        return False


@functools.lru_cache(maxsize=1)
def loader_code_sha256() -> str:
    """SHA-256 of the code that decides a suite's texts and judgements (this registry and
    the data loaders, ``hybridlib/data/*.py``): results and counts made by other loaders are
    another suite's (the evaluation identity and the build's token counts hold it)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in [package / "suites.py", *sorted((package / "data").glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# the loaders: each imports its data module when called


def _lareqa(name: str) -> SuiteLoader:
    def load(
        languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
    ) -> list[RetrievalSuite]:
        from hybridlib.data.lareqa import load_lareqa

        return [load_lareqa(name, languages=languages, root=root)]

    return load


def _lareqa_pairs(name: str) -> TrainingLoader:
    def pairs(
        languages: list[str] | None, articles: list[str] | None, root: PathLike | None
    ) -> list[TrainingPair]:
        from hybridlib.data.lareqa import lareqa_training_pairs

        return lareqa_training_pairs(name, languages=languages, articles=articles, root=root)

    return pairs


def _lareqa_held_out(name: str) -> HeldOutLoader:
    def held_out(
        languages: list[str] | None, articles: list[str], root: PathLike | None
    ) -> tuple[list[TrainingPair], RetrievalSuite]:
        from hybridlib.data.lareqa import lareqa_training_pairs, load_lareqa

        pairs = lareqa_training_pairs(name, languages=languages, articles=articles, root=root)
        loaded = load_lareqa(name, languages=languages, root=root)
        return pairs, loaded.subset(articles=articles)

    return held_out


def _xm3600_held_out(
    languages: list[str] | None, articles: list[str], root: PathLike | None
) -> tuple[list[TrainingPair], RetrievalSuite]:
    """Pairs and captions (LAReQA protocol) of validation images (``xm3600/<image>``); a
    training or test image is refused."""
    from hybridlib.data.xm3600 import load_xm3600, xm3600_training_pairs
    from hybridlib.protocol import xm3600_images

    validation = set(xm3600_images("validation", root=root))
    images = [a.removeprefix("xm3600/") for a in articles]
    outside = sorted(set(images) - validation)
    if outside:
        raise ValueError(
            f"validation.articles: {len(outside)} XM3600 image(s) are not validation images of "
            f"the protocol's split (training or test, or unknown), e.g. {outside[0]!r}"
        )
    pairs = xm3600_training_pairs(images, languages=languages, root=root)
    suite = load_xm3600(languages=languages, images=images, same_language=True, root=root)
    return pairs, suite


def _xm3600_pairs(
    languages: list[str] | None, articles: list[str] | None, root: PathLike | None
) -> list[TrainingPair]:
    """Pairs of the protocol's training images (``articles``: ``xm3600/<image>`` among them);
    a validation or test image is refused, never trained on."""
    from hybridlib.data.xm3600 import xm3600_training_pairs
    from hybridlib.protocol import xm3600_images

    train = xm3600_images("train", root=root)
    if articles is None:
        return xm3600_training_pairs(train, languages=languages, root=root)
    images = [a.removeprefix("xm3600/") for a in articles]
    outside = sorted(set(images) - set(train))
    if outside:
        raise ValueError(
            f"data.articles: {len(outside)} XM3600 image(s) are not training images of the "
            f"protocol's split (validation or test, or unknown), e.g. {outside[0]!r}"
        )
    return xm3600_training_pairs(images, languages=languages, root=root)


def _multi30k(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    from hybridlib.data.multi30k import load_multi30k

    return [load_multi30k(languages=languages, root=root)]


def _xm3600(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    """XM3600's test images (:func:`hybridlib.protocol.xm3600_images`) under the LAReQA
    protocol: a caption's relevant answers are the other captions of its image, in its own
    language (Mono) and in every other (Cross); ``path``: another captions file."""
    from hybridlib.data.xm3600 import load_xm3600
    from hybridlib.protocol import xm3600_images

    test = xm3600_images("test", path=path, root=root)
    return [load_xm3600(path, languages=languages, images=test, same_language=True, root=root)]


def _scifact_mt(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    """SciFact's 300 test claims in English and in every machine-translated language
    (``languages``: these only) against one pool of the abstracts in en, es and ca."""
    from hybridlib.data.scifact_mt import QUERY_LANGUAGES, load_scifact_mt_pool

    queries = languages if languages is not None else QUERY_LANGUAGES
    return [load_scifact_mt_pool(query_languages=queries, root=root)]


def _scifact_mt_en(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    """SciFact's 300 test claims in English and machine-translated (``languages``: these
    only) against the English abstracts alone (BEIR's corpus)."""
    from hybridlib.data.scifact_mt import QUERY_LANGUAGES, load_scifact_mt_pool

    queries = languages if languages is not None else QUERY_LANGUAGES
    return [load_scifact_mt_pool(query_languages=queries, corpus_languages=["en"], root=root)]


def _tico19(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    """TICO-19's segments in ``languages`` (None: all 37) as queries against the English ones
    (its Cross cells are ``x -> en`` only, :attr:`SuiteSpec.cross_pivot`): only those texts
    are kept, so an evaluation encodes each language's queries and English's candidates, not
    every text twice."""
    from hybridlib.data.tico19 import load_tico19

    chosen = None if languages is None else [lang for lang in languages if lang != "en"]
    loaded = load_tico19(chosen, root=root)
    others = [lang for lang in loaded.languages if lang != "en"]
    return [loaded.subset(query_languages=others, candidate_languages=["en"], name=loaded.name)]


def _tatoeba(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    from hybridlib.data.tatoeba import load_tatoeba, tatoeba_languages

    chosen = languages if languages is not None else tatoeba_languages()
    return [load_tatoeba(lang, root=root) for lang in chosen if lang != "en"]


def _scifact(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    from hybridlib.data.beir import load_beir

    return [load_beir("scifact", split="test", root=root)]


def _tydiqa(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    from hybridlib.data.tydiqa import load_tydiqa

    return [load_tydiqa(split="dev", languages=languages, root=root)]


def _miracl(
    languages: list[str] | None, root: PathLike | None, path: PathLike | None = None
) -> list[RetrievalSuite]:
    from hybridlib.data.miracl import load_miracl_languages

    return load_miracl_languages("dev", languages=languages, root=root)


def _miracl_present(root: Path) -> bool:
    """A MIRACL language with its dev topics, qrels and corpus (``miracl_languages``)."""
    from hybridlib.data.miracl import miracl_languages

    return bool(miracl_languages("dev", root))


def tatoeba_aggregates(
    results: pd.DataFrame, training_languages: Iterable[str] | None = None
) -> pd.DataFrame:
    """Tatoeba cells plus per-direction macro means: the ``aggregate`` of its entry.

    With ``training_languages``, a ``seen`` column tags each cell and the means are per
    direction and group (plus an overall row per direction, ``seen`` empty).

    Directions: ``xx -> en`` cells aggregate into ``all -> en``, ``en -> xx`` into ``en -> all``.
    """
    import pandas as pd

    from hybridlib.data.tatoeba import tatoeba_directions

    cells = results[(results["query_language"] != ALL) & (results["candidate_language"] != ALL)]
    cells = cells.copy()
    cells["direction"], foreign = tatoeba_directions(
        cells["query_language"], cells["candidate_language"]
    )
    group_keys: list[str] = ["direction"]
    if training_languages is not None:
        train = set(training_languages)
        cells["seen"] = [lang in train for lang in foreign]
        group_keys.append("seen")
    rows = []
    for keys, frame in cells.groupby(group_keys, sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        label = dict(zip(group_keys, keys))
        for metric, by_metric in frame.groupby("metric", sort=False):
            rows.append(
                {
                    "suite": by_metric["suite"].iloc[0],
                    "setting": by_metric["setting"].iloc[0],
                    "query_language": ALL if label["direction"] == "xx->en" else "en",
                    "candidate_language": "en" if label["direction"] == "xx->en" else ALL,
                    "metric": metric,
                    "value": float(by_metric["value"].mean()),
                    "n": int(by_metric["n"].sum()),
                    **({"seen": label["seen"]} if "seen" in label else {}),
                }
            )
    if training_languages is not None:
        # overall rows (both groups) too
        for direction_label, frame in cells.groupby("direction", sort=True):
            for metric, by_metric in frame.groupby("metric", sort=False):
                rows.append(
                    {
                        "suite": by_metric["suite"].iloc[0],
                        "setting": by_metric["setting"].iloc[0],
                        "query_language": ALL if direction_label == "xx->en" else "en",
                        "candidate_language": "en" if direction_label == "xx->en" else ALL,
                        "metric": metric,
                        "value": float(by_metric["value"].mean()),
                        "n": int(by_metric["n"].sum()),
                        "seen": None,
                    }
                )
    return pd.concat([cells.drop(columns="direction"), pd.DataFrame(rows)], ignore_index=True)


# the built-in suites (their measures checked by tests/test_suites.py)
SUITES.update({spec.name: spec for spec in (
    SuiteSpec("xquad-r", "XQuAD-R", _lareqa("xquad-r"), SETTINGS, LAREQA_MEASURES,
              MULTI_EXTRA_MEASURES, folders=("xquad-r",), training_pairs=_lareqa_pairs("xquad-r"),
              held_out=_lareqa_held_out("xquad-r")),
    SuiteSpec("mlqa-r", "MLQA-R", _lareqa("mlqa-r"), SETTINGS, LAREQA_MEASURES,
              MULTI_EXTRA_MEASURES, folders=("mlqa-r",), training_pairs=_lareqa_pairs("mlqa-r"),
              held_out=_lareqa_held_out("mlqa-r")),
    SuiteSpec("multi30k", "Multi30K", _multi30k, ("cross",), LAREQA_MEASURES,
              headline=("cross", "map"), folders=("multi30k",)),
    SuiteSpec("xm3600", "XM3600", _xm3600, SETTINGS, LAREQA_MEASURES, MULTI_EXTRA_MEASURES,
              headline=("cross", "map"), folders=("xm3600",), training_pairs=_xm3600_pairs,
              held_out=_xm3600_held_out),
    SuiteSpec("tatoeba", "Tatoeba", _tatoeba, ("cross",), ("recall@1", "map"),
              headline=("cross", "recall@1"), per_language=True, aggregate=tatoeba_aggregates,
              folders=("tatoeba",)),
    SuiteSpec("tydiqa", "TyDi QA", _tydiqa, ("mono",), ("map", "mrr@10", "recall@1", "recall@10"),
              headline=("mono", "map"), folders=("tydiqa-goldp",)),
    SuiteSpec("scifact", "SciFact", _scifact, ("mono",), ("ndcg@10", "recall@100", "map"),
              headline=("mono", "ndcg@10"), folders=("beir/scifact",)),
    SuiteSpec("scifact-mt", "SciFact (claims machine-translated)", _scifact_mt, SETTINGS,
              ("ndcg@10", "recall@100", "map"), MULTI_EXTRA_MEASURES,
              headline=("cross", "ndcg@10"), folders=("beir/scifact", "beir/scifact-mt"),
              lexical_settings=("mono", "cross")),
    SuiteSpec("scifact-mt-en", "SciFact (claims machine-translated, English abstracts)",
              _scifact_mt_en, ("mono", "cross"), ("ndcg@10", "recall@100", "map"),
              headline=("cross", "ndcg@10"), folders=("beir/scifact", "beir/scifact-mt"),
              lexical_settings=("mono", "cross")),
    SuiteSpec("tico19", "TICO-19", _tico19, ("cross",), LAREQA_MEASURES,
              headline=("cross", "map"), folders=("tico-19",), cross_pivot="en",
              lexical_settings=("cross",)),
    SuiteSpec("miracl", "MIRACL", _miracl, ("mono",), ("ndcg@10", "recall@100"),
              headline=("mono", "ndcg@10"), per_language=True, folders=("miracl",),
              present=_miracl_present, drop_training_articles=True),
)})  # fmt: skip


__all__ = [
    "ALL",
    "LAREQA_MEASURES",
    "MULTI_EXTRA_MEASURES",
    "SETTINGS",
    "SUITES",
    "HeldOutLoader",
    "SuiteLoader",
    "SuiteSpec",
    "headline_measures",
    "loader_code_sha256",
    "tatoeba_aggregates",
    "optional_suites",
    "register_suite",
    "suite_label",
    "suite_present",
    "suite_spec",
    "training_suites",
    "unregister_suite",
]
