"""Language codes: ISO 639-1 two-letter codes everywhere, three-letter only where no
two-letter code exists (e.g. Tatoeba's ``yue``, ``wuu``, ``arz``; XM3600's ``fil``, ``quz``; TICO-19's ``ckb``,
``din``, ``fuv``, ``nus``, ``prs``), and a lowercase region subtag only where one data set
holds two translations into one language (TICO-19's Tigrinya: ``ti``, ``ti-er``, ``ti-et``).

A member of a macrolanguage is mapped to the macrolanguage's two-letter code only when it is
the standard variety and no other member is in the same data set (``cmn`` -> ``zh``,
``pes`` -> ``fa``, ``swh`` -> ``sw``, ``zsm`` -> ``ms``, ``lvs`` -> ``lv``); Cantonese
(``yue``), Wu (``wuu``) and Egyptian Arabic (``arz``) keep their own codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from hybridlib.data.errors import DataError

ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()
)

# Tatoeba (LASER) file code -> the code hybridlib uses (two-letter where one exists).
TATOEBA_CODES: dict[str, str] = {
    "afr": "af", "amh": "am", "ang": "ang", "ara": "ar", "arq": "arq", "arz": "arz",
    "ast": "ast", "awa": "awa", "aze": "az", "bel": "be", "ben": "bn", "ber": "ber",
    "bos": "bs", "bre": "br", "bul": "bg", "cat": "ca", "cbk": "cbk", "ceb": "ceb",
    "ces": "cs", "cha": "ch", "cmn": "zh", "cor": "kw", "csb": "csb", "cym": "cy",
    "dan": "da", "deu": "de", "dsb": "dsb", "dtp": "dtp", "ell": "el", "epo": "eo",
    "est": "et", "eus": "eu", "fao": "fo", "fin": "fi", "fra": "fr", "fry": "fy",
    "gla": "gd", "gle": "ga", "glg": "gl", "gsw": "gsw", "heb": "he", "hin": "hi",
    "hrv": "hr", "hsb": "hsb", "hun": "hu", "hye": "hy", "ido": "io", "ile": "ie",
    "ina": "ia", "ind": "id", "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja",
    "kab": "kab", "kat": "ka", "kaz": "kk", "khm": "km", "kor": "ko", "kur": "ku",
    "kzj": "kzj", "lat": "la", "lfn": "lfn", "lit": "lt", "lvs": "lv", "mal": "ml",
    "mar": "mr", "max": "max", "mhr": "mhr", "mkd": "mk", "mon": "mn", "nds": "nds",
    "nld": "nl", "nno": "nn", "nob": "nb", "nov": "nov", "oci": "oc", "orv": "orv",
    "pam": "pam", "pes": "fa", "pms": "pms", "pol": "pl", "por": "pt", "ron": "ro",
    "rus": "ru", "slk": "sk", "slv": "sl", "spa": "es", "sqi": "sq", "srp": "sr",
    "swe": "sv", "swg": "swg", "swh": "sw", "tam": "ta", "tat": "tt", "tel": "te",
    "tgl": "tl", "tha": "th", "tuk": "tk", "tur": "tr", "tzl": "tzl", "uig": "ug", "ukr": "uk",
    "urd": "ur", "uzb": "uz", "vie": "vi", "war": "war", "wuu": "wuu", "xho": "xh",
    "yid": "yi", "yue": "yue", "zsm": "ms",
}  # fmt: skip

# XM3600's three-letter codes and its one legacy alias.
XM3600_EXTRA_CODES = frozenset({"fil", "quz"})
ALIASES = {"iw": "he", "in": "id", "ji": "yi"}

# TICO-19 file code (``all.en-{code}.tmx.zip``) -> hybridlib code, where they differ: the one
# Spanish and one Portuguese variant are plain ``es`` and ``pt``; Tigrinya has three distinct
# translations (``ti``, Eritrean ``ti_ER``, Ethiopian ``ti_ET``), kept apart by region subtag.
TICO19_CODES: dict[str, str] = {"es-LA": "es", "pt-BR": "pt", "ti_ER": "ti-er", "ti_ET": "ti-et"}
# TICO-19's languages without a two-letter code: Central Kurdish, Dinka, Nigerian Fulfulde,
# Nuer, Dari; and the two Tigrinya variants above.
TICO19_EXTRA_CODES = frozenset({"ckb", "din", "fuv", "nus", "prs", "ti-er", "ti-et"})

KNOWN_CODES = (
    ISO_639_1 | frozenset(TATOEBA_CODES.values()) | XM3600_EXTRA_CODES | TICO19_EXTRA_CODES
)


def normalize_language(code: str, *, file: str | os.PathLike[str], field: str) -> str:
    """``code`` as hybridlib writes it; an unknown code raises :class:`DataError`."""
    if not isinstance(code, str):
        raise DataError(file, field, code, "is not a language code (a string)")
    lowered = ALIASES.get(code.lower(), code.lower())
    if lowered in KNOWN_CODES:
        return lowered
    raise DataError(
        file, field, code, "is not a known language code (ISO 639-1, e.g. 'en', 'de', 'zh')"
    )


def select_languages(
    languages: str | Iterable[str] | None,
    available: Sequence[str],
    *,
    file: str | os.PathLike[str],
    unavailable: str,
) -> list[str]:
    """The requested languages, normalised and de-duplicated in the order asked; all of
    ``available`` when ``languages`` is None. A code outside ``available`` raises
    :class:`DataError` with the problem text ``unavailable``."""
    if languages is None:
        return list(available)
    if isinstance(languages, str):
        languages = [languages]
    chosen: list[str] = []
    for code in languages:
        lang = normalize_language(code, file=file, field="languages")
        if lang not in available:
            raise DataError(file, "languages", code, unavailable)
        if lang not in chosen:
            chosen.append(lang)
    return chosen
