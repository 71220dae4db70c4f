"""TICO-19 (Anastasopoulos et al., 2020): COVID-19 text human-translated from English into 37
language variants, as one multi-way parallel retrieval suite.

Each ``tico-19/all.en-{code}.tmx.zip`` holds one TMX 1.4 file of 3,071 translation units::

    <tu tuid="PubMed_8:724"><prop type="note">{url}</prop>
      <tuv xml:lang="en"><seg>...</seg></tuv><tuv xml:lang="fr"><seg>...</seg></tuv></tu>

``tuid`` = ``{document}:{index}`` is the same segment in every file, so it is the parallel
key. The **document** (``PubMed_8``, ``wiki_29``, ...) is the ``article`` of every query and
candidate (the leakage and clustering unit: sentences of one document are not independent),
and its **source** is the document name without its number (``Wikipedia_handpicked`` ->
``Wikipedia``; ``wiki`` is kept apart, as the data set's README counts it): PubMed,
Wikipedia, wiki, Wikivoyage, CMU (medical phrasebook), Wikisource, Wikinews. Filter on a
source with ``suite.subset(articles=suite.metadata["documents_by_source"]["PubMed"])``.

English is read from one file, :data:`ENGLISH_FILE` (``all.en-fr``, one of the ten files
whose English sides are identical and keep the source's quotes). The other files' English
differs from it only in quoting (doubled quotes, a dropped apostrophe) and in ``<`` written
as a literal ``&lt;`` in 12 PubMed segments (all but the fa, id and ps files); any other
difference raises :class:`DataError`. The counts are in ``metadata["english_differences"]``.

Segments that fail the model-free alignment check (:func:`alignment_check`) are dropped from
their language (English and the other languages keep them); ``metadata["alignment"]`` says
which, per language.
"""

from __future__ import annotations

import html
import math
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybridlib.data.errors import DataError
from hybridlib.data.languages import TICO19_CODES, select_languages
from hybridlib.data.parallel import parallel_suite
from hybridlib.data.sources import expected_sha256, require, resolve_root
from hybridlib.data.types import RetrievalSuite

FOLDER = "tico-19"
NAME = "tico19"
ENGLISH_FILE = "all.en-fr.tmx.zip"
SOURCE_NAMES = {"Wikipedia_handpicked": "Wikipedia"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DIGITS = re.compile(r"\d+")  # any Unicode decimal digit (Arabic-Indic, Devanagari, ...)
_QUOTES = re.compile(r"[\"'\s\u2018\u2019\u201c\u201d]+")

# The alignment rule's parameters (see alignment_check).
Z_SUSPECT = 3.0
Z_DROP = 5.0
WINDOW = 9
WINDOW_SHARE = 0.5
DIGITS_SUSPECT = 0.5
GAP = 2


@dataclass(frozen=True)
class Segment:
    """One translation unit of a TMX file: its English and its translation."""

    tuid: str
    english: str
    translation: str

    @property
    def document(self) -> str:
        """``PubMed_8`` of ``PubMed_8:724``."""
        return self.tuid.rpartition(":")[0]


def source_of(document: str) -> str:
    """The source of a document: its name without ``_{number}`` (``PubMed_8`` -> ``PubMed``),
    ``Wikipedia_handpicked`` written ``Wikipedia``."""
    stem = re.sub(r"_\d+$", "", document)
    return SOURCE_NAMES.get(stem, stem)


def file_codes() -> list[str]:
    """The 37 TICO-19 file codes (``ar``, ``es-LA``, ``ti_ER``, ...), from the pinned files."""
    return sorted(
        name.removeprefix(f"{FOLDER}/all.en-").removesuffix(".tmx.zip")
        for name in expected_sha256()
        if name.startswith(f"{FOLDER}/all.en-") and name.endswith(".tmx.zip")
    )


def tico19_languages() -> list[str]:
    """The 37 TICO-19 languages as hybridlib codes (``es``, ``pt``, ``ti-er``, ...), sorted."""
    return sorted(TICO19_CODES.get(code, code) for code in file_codes())


def read_tmx(path: Path, language: str) -> list[Segment]:
    """The segments of a zipped TMX file with English and ``language`` (its ``xml:lang``,
    e.g. ``es-LA``), in file order.

    A file that is not a zip of one ``.tmx``, malformed XML, a ``tu`` without ``tuid`` or
    with a repeated one, a ``tu`` without either language, or an empty ``seg`` raises
    :class:`DataError` naming the file, the field (``tu[tuid=...]...``) and the value.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            if len(members) != 1 or not members[0].endswith(".tmx"):
                raise DataError(path, "zip members", members, "are not exactly one .tmx file")
            data = archive.read(members[0])
    except FileNotFoundError:
        raise DataError(path, "file", str(path), "does not exist") from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(path, "zip archive", path.name, f"cannot be read ({error})") from None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        line, column = error.position
        text = data.decode("utf-8", "replace").split("\n")[line - 1] if line else ""
        raise DataError(
            path,
            f"XML at line {line}, column {column}",
            text[max(0, column - 20) : column + 20],
            f"is malformed ({error})",
        ) from None
    segments: list[Segment] = []
    seen: dict[str, int] = {}
    for number, unit in enumerate(root.iter("tu")):
        tuid = unit.get("tuid")
        if not tuid or ":" not in tuid:
            raise DataError(path, f"tu[{number}].tuid", tuid, "is not a tuid '{document}:{index}'")
        if tuid in seen:
            raise DataError(path, "tuid", tuid, f"repeats tu[{seen[tuid]}]")
        seen[tuid] = number
        texts: dict[str, str] = {}
        for variant in unit.iter("tuv"):
            seg = variant.find("seg")
            texts[variant.get(_XML_LANG, "")] = "" if seg is None else "".join(seg.itertext())
        for lang in ("en", language):
            if lang not in texts:
                raise DataError(
                    path,
                    f"tu[tuid={tuid}].tuv[xml:lang={lang}]",
                    DataError.MISSING,
                    f"is missing (languages present: {', '.join(sorted(texts)) or 'none'})",
                )
            if not texts[lang].strip():
                raise DataError(
                    path, f"tu[tuid={tuid}].tuv[xml:lang={lang}].seg", texts[lang], "is empty"
                )
        segments.append(Segment(tuid, texts["en"], texts[language]))
    if not segments:
        raise DataError(path, "tu", 0, "translation units: the file has none")
    return segments


def english_key(text: str) -> str:
    """An English side as the files are compared: ``&lt;``-style entities decoded, quotes
    (straight and curly) and whitespace removed."""
    return _QUOTES.sub("", html.unescape(text))


def numbers(text: str) -> list[str]:
    """The digit runs of ``text`` with every Unicode decimal digit written in ASCII
    (``"١٢ and 3.5"`` -> ``["12", "3", "5"]``): separators and decimal marks never matter."""
    return [
        run if run.isascii() else "".join(str(unicodedata.decimal(c)) for c in run)
        for run in _DIGITS.findall(text)
    ]


@dataclass(frozen=True)
class AlignmentCheck:
    """Per segment of one language (arrays of shape ``(n,)``): ``log_ratio`` =
    ``ln(len(translation) / len(english))`` in characters, ``z`` its robust z-score,
    ``digits_missing`` the share of the English numbers absent from the translation (NaN
    without English numbers), ``suspect`` and ``dropped`` (bool)."""

    log_ratio: np.ndarray
    z: np.ndarray
    digits_missing: np.ndarray
    suspect: np.ndarray
    dropped: np.ndarray


def alignment_check(
    english: Sequence[str],
    translation: Sequence[str],
    documents: Sequence[str],
    *,
    z_suspect: float = Z_SUSPECT,
    z_drop: float = Z_DROP,
    window: int = WINDOW,
    window_share: float = WINDOW_SHARE,
    digits_suspect: float = DIGITS_SUSPECT,
    gap: int = GAP,
) -> AlignmentCheck:
    """The model-free alignment rule for one language's segments (in document order).

    ``r_i = ln(len(t_i) / len(e_i))``; ``z_i = (r_i - median(r)) / (1.4826 * MAD(r))`` with
    the median and MAD over all the language's segments (its typical length ratio). With
    ``E_i`` the digit runs of the English (:func:`numbers`) and ``m_i`` the share of them
    absent from the translation's:

    * **suspect**: ``|z_i| > z_suspect`` or ``m_i > digits_suspect``;
    * **dropped**: ``|z_i| > z_drop``, or ``m_i = 1`` (no English number survives), or at
      least ``window_share`` of the ``window`` segments centred on ``i`` in its document
      (fewer at the document's ends) are suspect: a shifted block, whose lengths are
      unrelated to the English, is dropped whole even where single pairs look plausible;
    * and a run of at most ``gap`` kept segments between two dropped ones of a document is
      dropped too (a misaligned block is contiguous).
    """
    n = len(english)
    if not n == len(translation) == len(documents):
        raise ValueError(
            f"english, translation and documents must have one entry per segment, but got "
            f"{n}, {len(translation)} and {len(documents)}"
        )
    ratio = np.array([math.log(len(t) / len(e)) for e, t in zip(english, translation)])
    deviation = ratio - np.median(ratio) if n else ratio
    mad = 1.4826 * float(np.median(np.abs(deviation))) if n else 0.0
    z = deviation / mad if mad > 0 else np.zeros(n)
    missing = np.full(n, np.nan)
    for i, (e, t) in enumerate(zip(english, translation)):
        wanted = numbers(e)
        if wanted:
            found = set(numbers(t))
            missing[i] = sum(w not in found for w in wanted) / len(wanted)
    has_numbers = ~np.isnan(missing)
    digits_bad = np.where(has_numbers, missing, 0.0)
    suspect = (np.abs(z) > z_suspect) | (digits_bad > digits_suspect)
    dropped = (np.abs(z) > z_drop) | (has_numbers & (digits_bad == 1.0))
    half = window // 2
    doc = np.asarray(documents, dtype=object)
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]]) if n else np.array([], int)
    for start, stop in zip(starts, np.r_[starts[1:], n]):
        counts = np.r_[0, np.cumsum(suspect[start:stop])]  # (m + 1,) running suspect count
        position = np.arange(stop - start)
        low = np.maximum(position - half, 0)
        high = np.minimum(position + half + 1, stop - start)
        share = (counts[high] - counts[low]) / (high - low)
        dropped[start:stop] |= share >= window_share
        _fill_gaps(dropped[start:stop], gap)
    return AlignmentCheck(ratio, z, missing, suspect, dropped)


def _fill_gaps(dropped: np.ndarray, gap: int) -> None:
    """Set, in place, every run of at most ``gap`` False values of the ``(m,)`` bool array
    ``dropped`` that has True on both sides."""
    where = np.flatnonzero(dropped)
    for before, after in zip(where[:-1], where[1:]):
        if 1 < after - before <= gap + 1:
            dropped[before + 1 : after] = True


def _tuid_key(tuid: str) -> tuple[str, int, str]:
    """Sort key of a tuid: document, then numeric index (``PubMed_8:99`` before ``:100``)."""
    document, _, index = tuid.rpartition(":")
    return (document, int(index) if index.isdigit() else -1, index)


def _document_order(segments: Sequence[Segment]) -> list[int]:
    """Indices of ``segments`` sorted by document, then numeric index within it."""
    return sorted(range(len(segments)), key=lambda i: _tuid_key(segments[i].tuid))


ALIGNMENT_RULE = (
    "per language: r = ln(chars(translation) / chars(English)), z = (r - median r) / "
    "(1.4826 MAD r); m = share of the English digit runs absent from the translation; "
    f"suspect: |z| > {Z_SUSPECT} or m > {DIGITS_SUSPECT}; dropped: |z| > {Z_DROP}, or m = 1, "
    f"or >= {WINDOW_SHARE:.0%} suspect among the {WINDOW} segments centred on it in its "
    f"document, or in a run of <= {GAP} kept segments between dropped ones of its document"
)


def load_tico19(
    languages: str | Iterable[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    check_alignment: bool = True,
) -> RetrievalSuite:
    """English and the TICO-19 ``languages`` (hybridlib codes or file codes; default all 37)
    as one suite named ``tico19``.

    Ids ``f"tico19/{lang}/{tuid}"``, ``parallel_key = f"tico19/{tuid}"``, ``article`` = the
    document; a text is relevant to the same tuid in every other language (Cross). Metadata:
    ``files``, ``english_file``, ``file_codes`` ``{lang: file code}``, ``sources``
    ``{tuid: source}``, ``documents_by_source`` ``{source: [documents]}``,
    ``english_differences`` ``{lang: segments whose English differs from the English file's
    (quoting only)}``, ``alignment`` (``rule``, ``dropped`` ``{lang: [tuids]}``,
    ``dropped_counts`` ``{lang: n}``, ``segments``); with ``check_alignment=False`` nothing
    is dropped and ``alignment["dropped"]`` is empty.
    """
    root = resolve_root(root)
    codes = {TICO19_CODES.get(code, code): code for code in file_codes()}
    if languages is not None:  # file codes (es-LA, ti_ER) are accepted; English is always in
        by_file = {code.lower(): lang for lang, code in codes.items()}
        languages = [languages] if isinstance(languages, str) else list(languages)
        languages = [by_file.get(c.lower(), c) if isinstance(c, str) else c for c in languages]
        languages = [c for c in languages if c != "en"]
    chosen = select_languages(
        languages,
        sorted(codes),
        file=root / FOLDER,
        unavailable=f"is not a TICO-19 language (these are: {', '.join(sorted(codes))})",
    )
    english_code = ENGLISH_FILE.removeprefix("all.en-").removesuffix(".tmx.zip")
    wanted = {lang: codes[lang] for lang in chosen}
    read_codes = sorted({*wanted.values(), english_code})
    paths = dict(
        zip(read_codes, require([f"{FOLDER}/all.en-{c}.tmx.zip" for c in read_codes], root))
    )
    segments = {code: read_tmx(paths[code], code.replace("_", "-")) for code in read_codes}
    reference = segments[english_code]
    english_of = {s.tuid: s.english for s in reference}
    differences: dict[str, int] = {}
    dropped: dict[str, list[str]] = {}
    items: list[tuple[str, str, str]] = [("en", s.tuid, s.english) for s in reference]
    for lang, code in wanted.items():
        rows = segments[code]
        differences[lang] = _check_english(paths[code], rows, english_of, paths[english_code])
        order = _document_order(rows)
        keep = np.ones(len(rows), dtype=bool)
        if check_alignment:
            check = alignment_check(
                [rows[i].english for i in order],
                [rows[i].translation for i in order],
                [rows[i].document for i in order],
            )
            keep[np.asarray(order, dtype=np.int64)[check.dropped]] = False
            dropped[lang] = sorted((rows[i].tuid for i in np.flatnonzero(~keep)), key=_tuid_key)
        items.extend((lang, s.tuid, s.translation) for s, k in zip(rows, keep) if k)
    documents = {s.tuid: s.document for s in reference}
    by_source: dict[str, list[str]] = {}
    for document in sorted(set(documents.values())):
        by_source.setdefault(source_of(document), []).append(document)
    metadata: dict[str, object] = {
        "files": [str(paths[c]) for c in read_codes],
        "english_file": f"{FOLDER}/{ENGLISH_FILE}",
        "file_codes": wanted,
        "sources": {tuid: source_of(doc) for tuid, doc in documents.items()},
        "documents_by_source": by_source,
        "english_differences": differences,
        "alignment": {
            "rule": ALIGNMENT_RULE if check_alignment else "not checked",
            "dropped": dropped,
            "dropped_counts": {lang: len(tuids) for lang, tuids in dropped.items()},
            "segments": len(reference),
        },
    }
    return parallel_suite(NAME, items, metadata, articles=documents)


def _check_english(
    path: Path, rows: Sequence[Segment], english_of: dict[str, str], english_path: Path
) -> int:
    """The number of ``rows`` whose English differs from ``english_of`` (the English file's)
    only in quoting or entities; another difference, or a tuid set that differs, raises
    :class:`DataError`."""
    tuids = {s.tuid for s in rows}
    for tuid in english_of:
        if tuid not in tuids:
            raise DataError(path, "tuid", tuid, f"is missing (it is in {english_path.name})")
    differ = 0
    for s in rows:
        if s.tuid not in english_of:
            raise DataError(path, "tuid", s.tuid, f"is not in {english_path.name}")
        reference = english_of[s.tuid]
        if s.english != reference:
            if english_key(s.english) != english_key(reference):
                raise DataError(
                    path,
                    f"tu[tuid={s.tuid}].tuv[xml:lang=en].seg",
                    s.english,
                    f"differs from the English of {english_path.name} ({reference!r}) beyond "
                    "quoting: the files are not parallel there",
                )
            differ += 1
    return differ
