"""Query and candidate embeddings, computed once per (model, suite, kind) and cached on disk.

Encoding, not scoring, dominates evaluation time on a CPU (13,014 XQuAD-R sentences take
about 10 minutes with multilingual-e5-small on 2 cores), so every setting of a suite reuses
one embedding matrix per side.

A cache entry is two files under ``cache_dir()/<suite>/``::

    <role>-<key>.npy    # (n_texts, dim) float32, L2-normalised rows, input order
    <role>-<key>.json   # provenance: model name, weights hash, settings, suite, role, kind,
                        # number of texts, text hash, shape

The key is a hash of the model fingerprint (name, SHA-256 of its weights, encoder
settings), the suite name, the role, the kind and the SHA-256 of the texts; a changed model or
changed texts therefore miss the cache (nothing stale is ever read). Both files are written
atomically with :mod:`hybridlib.io`, the record last with the array file's SHA-256; an entry
whose record, hash or shape does not match is set aside and recomputed, never used.

Candidate input (``candidate_input``): the paper does not say whether candidates are encoded
alone or with their paragraph. The default, ``"sentence"``, encodes each candidate alone, as
LAReQA's sentence candidates; ``"sentence+context"`` appends the paragraph
(``f"{text}\\n{context}"``, truncated by the encoder's ``max_length``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from hybridlib.data.types import Candidate, RetrievalSuite
from hybridlib.io import (
    atomic_path,
    atomic_write_json,
    cache_root,
    contained,
    remove_stale_temporaries,
    sha256_file,
)

CandidateInput = Literal["sentence", "sentence+context"]
CANDIDATE_INPUTS: tuple[str, ...] = ("sentence", "sentence+context")
TextKind = Literal["query", "passage"]  # which side a text is embedded as
# settings of an encoder that change its embeddings, recorded when the encoder has them
ENCODER_SETTINGS = ("pooling", "query_prefix", "passage_prefix", "max_length", "normalize")


class TextEncoder(Protocol):
    """What evaluation needs from an encoder (``hybridlib.models.Encoder`` is one)."""

    @property
    def name(self) -> str: ...

    def encode(
        self,
        texts: list[str],
        kind: TextKind = ...,
        batch_size: int = ...,
        show_progress: Any = ...,
    ) -> np.ndarray: ...


# a cache entry's temporary folder this old is a write that was killed: writing one entry
# takes seconds, and the cache is shared by concurrent evaluations, so a younger one may be
# another process's write in progress and is left alone (removed by a later use)
STALE_TEMPORARY_SECONDS = 3600.0


def cache_dir() -> Path:
    """``$HYBRIDLIB_CACHE_DIR/embeddings`` (default ``~/.cache/hybridlib/embeddings``)."""
    return cache_root() / "embeddings"


def weights_sha256(encoder: Any) -> str:
    """SHA-256 over the encoder's ``state_dict`` (names, dtypes, shapes and bytes, sorted by name).

    Recomputed on every call (about 1 s for 118M parameters): the same object can be trained
    between two evaluations, so the hash is never memoised.
    """
    from hybridlib.models.encoder import state_sha256

    return state_sha256(encoder.state_dict())


def model_fingerprint(encoder: Any) -> dict[str, Any]:
    """Name, weights hash and embedding-relevant settings of ``encoder``."""
    settings_obj: Any = getattr(encoder, "settings", None)
    if hasattr(settings_obj, "to_json"):  # hybridlib.models.EncoderSettings
        settings = {k: v for k, v in settings_obj.to_json().items() if k != "metadata"}
    else:
        settings = {
            attr: getattr(encoder, attr)
            for attr in ENCODER_SETTINGS
            if isinstance(getattr(encoder, attr, None), (str, int, float, bool))
        }
    if getattr(encoder, "split_layer", 0):  # a frozen bottom (and its cache) computes differently
        settings["split_layer"] = encoder.split_layer
        cache = getattr(encoder, "hidden_cache", None)
        settings["hidden_state_dtype"] = cache.dtype if cache is not None else None
    return {
        "model": str(getattr(encoder, "name", type(encoder).__name__)),
        "weights_sha256": weights_sha256(encoder),
        "settings": settings,
    }


def texts_sha256(texts: Sequence[str]) -> str:
    """SHA-256 of the texts in order (each UTF-8 text followed by a NUL byte)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def candidate_texts(
    candidates: Sequence[Candidate], candidate_input: CandidateInput = "sentence"
) -> list[str]:
    """The strings a candidate is encoded from (see the module docstring)."""
    if candidate_input == "sentence":
        return [c.text for c in candidates]
    if candidate_input == "sentence+context":
        return [c.text if not c.context else f"{c.text}\n{c.context}" for c in candidates]
    raise ValueError(
        f"candidate_input must be one of {CANDIDATE_INPUTS}, but got {candidate_input!r}"
    )


def encode_cached(
    encoder: TextEncoder,
    texts: Sequence[str],
    *,
    kind: TextKind,
    suite: str,
    role: str,
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    fingerprint: dict[str, Any] | None = None,
    show_progress: bool | None = None,
) -> np.ndarray:
    """``encoder.encode(texts, kind)`` through the on-disk cache; returns ``(n, dim)`` float32.

    ``role`` names the side ("queries", "candidates", or a variant such as
    "candidates-sentence+context"); ``fingerprint`` may be passed when already computed
    (:func:`model_fingerprint`).
    """
    texts = list(texts)
    fingerprint = fingerprint or model_fingerprint(encoder)
    record = {
        **fingerprint,
        "suite": suite,
        "role": role,
        "kind": kind,
        "n_texts": len(texts),
        "texts_sha256": texts_sha256(texts),
    }
    key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:20]
    folder = Path(cache) if cache is not None else cache_dir()
    stem = folder / _safe(suite) / f"{_safe(role)}-{key}"
    npy, meta = stem.with_suffix(".npy"), stem.with_suffix(".json")
    for file in (npy, meta):
        contained(folder, file, "embedding cache entry")

    for file in (npy, meta):  # what a killed write of this entry left, never a live one's
        remove_stale_temporaries(file.parent, file.name, older_than=STALE_TEMPORARY_SECONDS)
    cached = _load_entry(npy, meta, record)
    if cached is not None:
        return cached

    if texts:
        embeddings = np.asarray(
            encoder.encode(texts, kind=kind, batch_size=batch_size, show_progress=show_progress),
            dtype=np.float32,
        )  # (n_texts, dim)
    else:
        embeddings = np.zeros((0, int(getattr(encoder, "dim", 0))), dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
        raise ValueError(
            f"encoder {record['model']!r} returned shape {embeddings.shape} "
            f"for {len(texts)} texts; expected ({len(texts)}, dim)"
        )
    with atomic_path(npy) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, embeddings)
    # the record is written last and holds the array file's hash: an entry is complete and
    # intact only when both agree
    atomic_write_json(meta, {**record, "shape": list(embeddings.shape), "sha256": sha256_file(npy)})
    return embeddings


def _load_entry(npy: Path, meta: Path, record: dict[str, Any]) -> np.ndarray | None:
    """The cached array if both files exist, agree with ``record`` and the array file has the
    SHA-256 its record says; else None (a corrupt entry is set aside, ``*.corrupt``, and
    recomputed by the caller)."""
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        stored = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _set_aside(npy, meta, "its record is unreadable")
        return None
    if any(stored.get(k) != v for k, v in record.items()):
        return None
    if stored.get("sha256") != sha256_file(npy):
        _set_aside(npy, meta, "its SHA-256 differs from the record")
        return None
    try:
        array = np.load(npy)
    except (OSError, ValueError) as error:
        _set_aside(npy, meta, f"unreadable ({error})")
        return None
    if list(array.shape) != stored.get("shape") or array.shape[0] != record["n_texts"]:
        _set_aside(npy, meta, f"shape {list(array.shape)} differs from the record")
        return None
    return array.astype(np.float32, copy=False)


def _set_aside(npy: Path, meta: Path, reason: str) -> None:
    """Move a corrupt cache entry out of the way (``*.corrupt``) and say so."""
    import logging

    for path in (npy, meta):
        if path.exists():
            path.replace(path.with_name(path.name + ".corrupt"))
    logging.getLogger(__name__).warning(
        "embedding cache entry %s set aside and recomputed: %s", npy, reason
    )
    return None


def _safe(name: str) -> str:
    """A file-name-safe form of a suite or role name."""
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in name)


@dataclass(frozen=True)
class SuiteEmbeddings:
    """Embeddings of one suite, rows in the suite's query / candidate order."""

    queries: np.ndarray  # (n_queries, dim) float32
    candidates: np.ndarray  # (n_candidates, dim) float32
    fingerprint: dict[str, Any]


def embed_suite(
    encoder: TextEncoder,
    suite: RetrievalSuite,
    *,
    candidate_input: CandidateInput = "sentence",
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    show_progress: bool | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> SuiteEmbeddings:
    """Encode (or load from the cache) every query (kind "query") and candidate (kind "passage").

    ``fingerprint`` (:func:`model_fingerprint`) may be passed when already computed: hashing
    the weights takes about a second for the embedded model, once per call otherwise.

    One cache entry per language and side (roles ``queries-<lang>``, ``candidates-<lang>``),
    encoded language by language (queries, then candidates): an interrupted run resumes
    at the language it was in, and a run on fewer languages or the full suite reuses the
    languages already cached. The key includes the texts, so another article subset is
    another entry.
    """
    fingerprint = fingerprint or model_fingerprint(encoder)
    common: dict[str, Any] = dict(
        suite=suite.name,
        batch_size=batch_size,
        cache=cache,
        fingerprint=fingerprint,
        show_progress=show_progress,
    )
    texts = candidate_texts(suite.candidates, candidate_input)
    variant = "" if candidate_input == "sentence" else f"-{candidate_input}"
    query_language = np.array([q.language for q in suite.queries], dtype=object)
    candidate_language = np.array([c.language for c in suite.candidates], dtype=object)
    queries: np.ndarray | None = None
    candidates: np.ndarray | None = None
    for language in suite.languages:
        sides: tuple[tuple[str, np.ndarray, TextKind, str, list[str]], ...] = (
            ("q", query_language, "query", f"queries-{language}", [q.text for q in suite.queries]),
            ("c", candidate_language, "passage", f"candidates{variant}-{language}", texts),
        )
        for side, langs, kind, role, side_texts in sides:
            rows = np.flatnonzero(langs == language)
            if rows.size == 0:
                continue
            part = encode_cached(
                encoder, [side_texts[i] for i in rows], kind=kind, role=role, **common
            )  # (n_rows, dim)
            if side == "q":
                queries = _scatter(queries, rows, part, len(suite.queries))
            else:
                candidates = _scatter(candidates, rows, part, len(suite.candidates))
    dim = int(getattr(encoder, "dim", 0))
    if queries is None:
        queries = np.zeros((0, dim if candidates is None else candidates.shape[1]), np.float32)
    if candidates is None:
        candidates = np.zeros((0, queries.shape[1]), np.float32)
    return SuiteEmbeddings(queries=queries, candidates=candidates, fingerprint=fingerprint)


def _scatter(out: np.ndarray | None, rows: np.ndarray, part: np.ndarray, n: int) -> np.ndarray:
    """Write ``part`` into rows ``rows`` of ``out`` (allocated ``(n, dim)`` on first use)."""
    if out is None:
        out = np.zeros((n, part.shape[1]), dtype=np.float32)
    out[rows] = part
    return out
