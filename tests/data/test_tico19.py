"""TICO-19 (hybridlib.data.tico19): hand-made TMX zips, the alignment rule on a constructed
misaligned block, bad input named, and the real files."""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest

from hybridlib.data import DataError, load_tico19
from hybridlib.data.tico19 import alignment_check, numbers, source_of, tico19_languages
from hybridlib.data.types import RetrievalSuite

from .conftest import assert_names

Unit = tuple[str, str | None, str | None]  # (tuid, English, translation); None: no tuv


def _tmx(language: str, units: list[Unit]) -> str:
    body = []
    for tuid, english, translation in units:
        tuvs = "".join(
            f'<tuv xml:lang="{lang}"><seg>{escape(text)}</seg></tuv>'
            for lang, text in (("en", english), (language, translation))
            if text is not None
        )
        body.append(f'<tu tuid="{tuid}"><prop type="note">http://x</prop>{tuvs}</tu>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="en"/>'
        f"<body>\n{chr(10).join(body)}\n</body></tmx>\n"
    )


def _write(root: Path, code: str, units: list[Unit] | None = None, text: str | None = None) -> Path:
    """``root/tico-19/all.en-{code}.tmx.zip`` holding ``units`` (or the raw ``text``)."""
    path = root / "tico-19" / f"all.en-{code}.tmx.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    language = code.replace("_", "-")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"all.en-{code}.tmx", text if text is not None else _tmx(language, units or [])
        )
    return path


ENGLISH = [
    ("PubMed_1:1", "Cases rose by 25 in 2020.", "Les cas ont augmenté de 25 en 2020."),
    ("PubMed_1:2", 'He said "stay home".', "Il a dit « restez chez vous »."),
    ("wiki_3:3", "Wash your hands.", "Lavez-vous les mains."),
]


def test_tico19_hand_made(tmp_path: Path) -> None:
    _write(tmp_path, "fr", ENGLISH)
    spanish = [
        ("PubMed_1:1", "Cases rose by 25 in 2020.", "Los casos subieron 25 en 2020."),
        ("PubMed_1:2", '" He said ""stay home"". "', 'Dijo "quédate en casa".'),  # quoting only
        ("wiki_3:3", "Wash your hands.", "Lávate las manos."),
    ]
    _write(tmp_path, "es-LA", spanish)
    suite = load_tico19(["es-LA", "fr"], root=tmp_path)
    assert suite.name == "tico19" and suite.languages == ["en", "es", "fr"]
    assert len(suite.queries) == len(suite.candidates) == 9
    by_id = {q.id: q for q in suite.queries}
    # English from the English file (all.en-fr), not from the es-LA file's doubled quotes
    assert by_id["tico19/en/PubMed_1:2"].text == 'He said "stay home".'
    assert by_id["tico19/es/PubMed_1:1"].parallel_key == "tico19/PubMed_1:1"
    assert by_id["tico19/es/PubMed_1:1"].article == "PubMed_1"
    assert {c.article for c in suite.candidates} == {"PubMed_1", "wiki_3"}
    assert suite.qrels["tico19/fr/wiki_3:3"] == {"tico19/en/wiki_3:3": 1, "tico19/es/wiki_3:3": 1}
    assert suite.metadata["english_differences"] == {"es": 1, "fr": 0}
    assert suite.metadata["sources"] == {
        "PubMed_1:1": "PubMed", "PubMed_1:2": "PubMed", "wiki_3:3": "wiki"
    }  # fmt: skip
    assert suite.metadata["documents_by_source"] == {"PubMed": ["PubMed_1"], "wiki": ["wiki_3"]}
    assert suite.metadata["file_codes"] == {"es": "es-LA", "fr": "fr"}
    assert suite.metadata["alignment"]["dropped"] == {"es": [], "fr": []}
    pubmed = suite.subset(articles=suite.metadata["documents_by_source"]["PubMed"])
    assert len(pubmed.queries) == 6
    # languages may be named by file code or hybridlib code; English alone reads all.en-fr
    assert load_tico19("es", root=tmp_path).languages == ["en", "es"]
    _write(tmp_path, "ti_ER", ENGLISH)  # xml:lang="ti-ER" inside
    assert load_tico19(["en", "ti_ER"], root=tmp_path).languages == ["en", "ti-er"]
    assert load_tico19(["en"], root=tmp_path).languages == ["en"]


def test_tico19_unknown_language(tmp_path: Path) -> None:
    _write(tmp_path, "fr", ENGLISH)
    with pytest.raises(DataError, match="is not a TICO-19 language") as caught:
        load_tico19(["de"], root=tmp_path)
    assert_names(caught.value, tmp_path / "tico-19", "languages", "de")


@pytest.mark.parametrize(
    ("units", "field", "value", "problem"),
    [
        ([("PubMed_1:1", "Hello.", None)], "tu[tuid=PubMed_1:1].tuv[xml:lang=fr]", None,
         "is missing"),
        ([("PubMed_1:1", None, "Bonjour.")], "tu[tuid=PubMed_1:1].tuv[xml:lang=en]", None,
         "is missing"),
        ([("PubMed_1:1", "Hello.", " ")], "tu[tuid=PubMed_1:1].tuv[xml:lang=fr].seg", " ",
         "is empty"),
        ([("PubMed_1:1", "Hello.", "Salut."), ("PubMed_1:1", "Hi.", "Salut.")], "tuid",
         "PubMed_1:1", "repeats tu"),
        ([("nocolon", "Hello.", "Salut.")], "tu[0].tuid", "nocolon", "is not a tuid"),
    ],
)  # fmt: skip
def test_tico19_bad_units(
    tmp_path: Path, units: list[Unit], field: str, value: str | None, problem: str
) -> None:
    path = _write(tmp_path, "fr", units)
    with pytest.raises(DataError, match=problem) as caught:
        load_tico19("fr", root=tmp_path)
    assert_names(caught.value, path, field, value)


def test_tico19_malformed_xml_and_zip(tmp_path: Path) -> None:
    path = _write(tmp_path, "fr", text='<tmx><body><tu tuid="a:1"><tuv></body></tmx>')
    with pytest.raises(DataError, match="is malformed") as caught:
        load_tico19("fr", root=tmp_path)
    assert caught.value.file == str(path) and caught.value.field.startswith("XML at line 1")
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot be read") as caught:
        load_tico19("fr", root=tmp_path)
    assert_names(caught.value, path, "zip archive", path.name)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "x")
    with pytest.raises(DataError, match="not exactly one .tmx") as caught:
        load_tico19("fr", root=tmp_path)
    assert_names(caught.value, path, "zip members", ["a.txt"])


def test_tico19_english_sides_must_agree(tmp_path: Path) -> None:
    _write(tmp_path, "fr", ENGLISH)
    other = [ENGLISH[0], ("PubMed_1:2", "He said go.", "Dijo vete."), ENGLISH[2]]
    path = _write(tmp_path, "es-LA", other)
    with pytest.raises(DataError, match="beyond quoting") as caught:
        load_tico19("es", root=tmp_path)
    assert_names(caught.value, path, "tu[tuid=PubMed_1:2].tuv[xml:lang=en].seg", "He said go.")
    path = _write(tmp_path, "es-LA", ENGLISH[:2])
    with pytest.raises(DataError, match="is missing") as caught:
        load_tico19("es", root=tmp_path)
    assert_names(caught.value, path, "tuid", "wiki_3:3")


def test_numbers_and_sources() -> None:
    assert numbers("\u0661\u0662 and 3.5, 1,000") == ["12", "3", "5", "1", "000"]
    assert numbers("no digits") == []
    assert source_of("Wikipedia_handpicked_4") == "Wikipedia" and source_of("PubMed_8") == "PubMed"
    assert source_of("wiki_29") == "wiki" and source_of("CMU_1") == "CMU"
    assert len(tico19_languages()) == 37 and {"es", "pt", "ti", "ti-er", "ti-et"} <= set(
        tico19_languages()
    )


def _constructed() -> tuple[list[str], list[str], list[str]]:
    """Two documents: A with 40 segments translated at ratio ~1.2, except a block A:20-A:27
    whose translations belong elsewhere (lengths unrelated to the English), one segment A:5
    that drops its number, one A:10 four times too long; B with 10 sound segments."""
    rng = np.random.default_rng(0)
    english, translation, documents = [], [], []
    for doc, n in (("A", 40), ("B", 10)):
        for i in range(n):
            length = int(rng.integers(30, 200))
            english.append("e" * length)
            factor = 1.2 * float(np.exp(rng.normal(0, 0.05)))
            if doc == "A" and 20 <= i <= 27:
                factor = [0.2, 3.0, 1.25, 0.3, 2.5, 1.1, 0.25, 4.0][i - 20]
            translation.append("t" * max(1, int(length * factor)))
            documents.append(doc)
    english[5] += " in 2020"
    translation[5] += " en deux mille"
    translation[10] = "t" * (len(english[10]) * 5)
    return english, translation, documents


def test_alignment_rule_on_a_constructed_block() -> None:
    english, translation, documents = _constructed()
    check = alignment_check(english, translation, documents)
    assert check.z.shape == check.dropped.shape == (50,)
    assert np.isnan(check.digits_missing[0]) and check.digits_missing[5] == 1.0
    dropped = set(np.flatnonzero(check.dropped).tolist())
    # the block whole (A:22 and A:25 look plausible alone), A:5 (no number kept), A:10 (z)
    assert dropped == {5, 10, *range(20, 28)}
    assert not check.suspect[22] and not check.suspect[25]
    # without the window and the gap filling, single pairs of plausible length survive
    alone = alignment_check(english, translation, documents, window=1, window_share=2.0, gap=0)
    assert 22 not in set(np.flatnonzero(alone.dropped).tolist())
    with pytest.raises(ValueError, match="one entry per segment"):
        alignment_check(english, translation[:-1], documents)


@lru_cache(maxsize=1)
def _real(root: str) -> RetrievalSuite:
    return load_tico19(root=root)


def test_tico19_real(real_data_dir: Path) -> None:
    suite = _real(str(real_data_dir))
    alignment = suite.metadata["alignment"]
    assert alignment["segments"] == 3071
    assert len(suite.languages) == 38 and "en" in suite.languages
    assert sum(q.language == "en" for q in suite.queries) == 3071
    assert len({q.parallel_key for q in suite.queries}) == 3071
    counts = {}
    for source in suite.metadata["sources"].values():
        counts[source] = counts.get(source, 0) + 1
    assert counts == {"PubMed": 939, "Wikipedia": 877, "wiki": 661, "Wikivoyage": 243,
                      "CMU": 141, "Wikisource": 122, "Wikinews": 88}  # fmt: skip
    french = set(alignment["dropped"]["fr"])
    assert {f"PubMed_8:{i}" for i in range(721, 728)} <= french  # the README's known block
    assert {f"PubMed_8:{i}" for i in range(462, 736)} <= french  # the whole shifted block
    assert not any(t.startswith("PubMed_8:") and int(t.split(":")[1]) > 735 for t in french)
    kept = {q.id for q in suite.queries}
    assert "tico19/fr/PubMed_8:724" not in kept and "tico19/en/PubMed_8:724" in kept
    assert "tico19/ar/PubMed_8:724" in kept
    others = {
        lang: n for lang, n in alignment["dropped_counts"].items() if lang not in {"fr", "so"}
    }
    assert max(others.values()) < 50  # few elsewhere; Somali is shifted in many documents
    differences = suite.metadata["english_differences"]
    assert differences["fr"] == differences["ar"] == 0 and max(differences.values()) <= 151
