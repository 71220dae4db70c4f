"""A disk cache of the token states that an encoder's frozen bottom computes.

Top-k fine-tuning (:meth:`hybridlib.models.Encoder.freeze_bottom`) trains only the top ``k``
of the ``L`` layers; the embeddings and layers ``0 .. L - k - 1`` (the *bottom*) are frozen
and run in eval mode, so for a given input they always compute the same states. Every model
of an experiment grid that shares the bottom (each one fine-tuned from the same encoder with
the same ``k``) therefore needs them only once: this cache computes them once per input,
stores them on disk, and serves them to every training step and every evaluation, which then
run only the top ``k`` layers.

An input is identified by its token ids (after prefixing, tokenisation and truncation), so the
key holds everything that decides the bottom's output for it: a changed text, prefix,
tokenizer or maximum length is another input. The folder holds one model's bottom::

    <cache root>/hidden_states/<model>-L<split>-<key>/
        cache.json                  what the key was made of (bottom weights' SHA-256, split
                                    layer, compute precision, storage dtype, hidden size)
        cache.lock                  held while opening or filling (processes sharing the cache)
        <shard>.keys.npy            (n, 16) uint8   BLAKE2b-128 of each input's token ids
        <shard>.offsets.npy         (n + 1,) int64  input i owns rows offsets[i]:offsets[i+1]
        <shard>.states.npy          (T, h) float16  its token states, real tokens only
        <shard>.json                written last: sizes and SHA-256 of the three files

A shard is complete only when its ``.json`` exists and every file matches it (checked when a
cache is opened; states are memory-mapped, so suites larger than RAM are served). Files of an
interrupted fill (no ``.json``) are removed; a shard that fails its check is moved into
``corrupt/``, reported, and its inputs are computed again: a bad entry is never used.
Shards hold at most ``shard_size`` inputs, so an interrupted fill loses one shard's work.

Several processes may share a cache (a book's executions on a Dask cluster): opening and
filling hold the folder's ``cache.lock`` (``filelock``), so one process never removes the
files another is writing, and a fill first reads the shards others wrote meanwhile and
computes only what is still missing. Reading a complete shard needs no lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hybridlib.io import atomic_path, atomic_write_json, cache_root, contained, sha256_file

if TYPE_CHECKING:
    from hybridlib.models.encoder import Encoder
    from hybridlib.models.settings import Kind

LOG = logging.getLogger(__name__)
FORMAT = 1
KEY_BYTES = 16
LOCK_FILE = "cache.lock"
STORAGE_DTYPES = {"float16": np.float16, "float32": np.float32}
PARTS = ("keys", "offsets", "states")
KEEP_SET_ASIDE = 3  # corrupt shards kept in ``corrupt/`` for a look, the newest first


class CacheCorruptError(RuntimeError):
    """A shard whose files do not match their record."""


def input_keys(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[bytes]:
    """One key per row: BLAKE2b-128 of the row's real token ids (int64, little-endian)."""
    ids = input_ids.detach().cpu().to(torch.int64).numpy()  # (n, s)
    lengths = attention_mask.detach().cpu().sum(dim=1).numpy()  # (n,)
    return [
        hashlib.blake2b(
            ids[i, : lengths[i]].astype("<i8").tobytes(), digest_size=KEY_BYTES
        ).digest()
        for i in range(ids.shape[0])
    ]


@dataclass
class _Shard:
    name: str
    offsets: np.ndarray  # (n + 1,) int64
    states: np.ndarray  # (T, h) memory-mapped


class HiddenStateCache:
    """Token states entering layer ``split`` of ``encoder``, cached on disk per input.

    ``encoder`` must have a frozen bottom (``encoder.split_layer > 0``). ``dtype`` is the
    storage type (``"float16"``: half the disk, relative rounding about 5e-4; ``"float32"``:
    exact). The bottom runs in ``encoder.settings.precision``.
    """

    def __init__(
        self,
        encoder: Encoder,
        root: str | os.PathLike[str] | None = None,
        *,
        dtype: str = "float16",
        shard_size: int = 4096,
    ) -> None:
        if encoder.split_layer < 1:
            raise ValueError(
                "a hidden-state cache needs a frozen bottom: call encoder.freeze_bottom(k) with "
                f"k < {encoder.n_layers} layers first (split layer is {encoder.split_layer})"
            )
        if dtype not in STORAGE_DTYPES:
            raise ValueError(f"dtype must be one of {sorted(STORAGE_DTYPES)}, but got {dtype!r}")
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, but got {shard_size}")
        self.encoder = encoder
        self.dtype = dtype
        self.shard_size = int(shard_size)
        self.record = {
            "format": FORMAT,
            "model": encoder.name,
            "bottom_sha256": encoder.bottom_sha256(),
            "split_layer": encoder.split_layer,
            "precision": encoder.settings.precision,
            "dtype": dtype,
            "hidden_size": encoder.dim,
        }
        digest = hashlib.sha256(json.dumps(self.record, sort_keys=True).encode()).hexdigest()
        base = Path(root) if root is not None else cache_root() / "hidden_states"
        self.folder = contained(
            base, base / f"{_safe(encoder.name)}-L{encoder.split_layer}-{digest[:16]}",
            "hidden-state cache",
        )  # fmt: skip
        self.folder.mkdir(parents=True, exist_ok=True)
        from filelock import FileLock

        self._lock = FileLock(str(self.folder / LOCK_FILE))
        with self._lock:
            self._check_record()
        self._shards: list[_Shard] = []
        self._loaded: set[str] = set()  # names of the shards in the index
        self._index: dict[bytes, tuple[int, int]] = {}
        self.set_aside: list[Path] = []  # corrupt shards moved away when opening
        self.computed_on_the_fly = 0  # inputs served without being in the cache
        self.filled = 0  # inputs computed and stored by this object's fill()
        self.fill_seconds = 0.0  # wall time spent in fill() (the build's budget shows it)
        self._open()

    # ------------------------------------------------------------------ opening
    def _check_record(self) -> None:
        path = self.folder / "cache.json"
        if path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                stored = None
            if stored == self.record:
                return
            LOG.warning("hidden-state cache %s: cache.json does not match; rewritten", self.folder)
        atomic_write_json(path, self.record)

    def _open(self) -> None:
        with self._lock:  # no other process is writing a shard now
            records = sorted(self.folder.glob("*.json"))
            names = {p.name[: -len(".json")] for p in records if p.name != "cache.json"}
            self._remove_leftovers(names)
            self._load_new(names)

    def _remove_leftovers(self, names: set[str]) -> None:
        """Files of an interrupted fill (a shard without its record), and temporary folders."""
        for leftover in self.folder.iterdir():
            if leftover.is_file() and leftover.name not in ("cache.json", LOCK_FILE):
                stem = leftover.name.split(".", 1)[0]
                if stem not in names:
                    leftover.unlink(missing_ok=True)
            elif leftover.is_dir() and leftover.name.startswith("."):  # atomic_path temp dirs
                shutil.rmtree(leftover, ignore_errors=True)

    def _load_new(self, names: set[str]) -> None:
        """Index the complete shards ``names`` not indexed yet (a bad one is set aside)."""
        for name in sorted(names - self._loaded):
            try:
                shard = self._load_shard(name)
            except CacheCorruptError as error:
                self._set_aside(name, str(error))
                continue
            self._add(shard, np.load(self.folder / f"{name}.keys.npy"))

    def _load_shard(self, name: str) -> _Shard:
        meta_path = self.folder / f"{name}.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            files = meta["files"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise CacheCorruptError(f"{meta_path}: unreadable record ({error})") from None
        for part in PARTS:
            path = self.folder / f"{name}.{part}.npy"
            expected = files.get(part, {})
            if not path.is_file():
                raise CacheCorruptError(f"{path}: missing")
            if path.stat().st_size != expected.get("size"):
                raise CacheCorruptError(
                    f"{path}: size {path.stat().st_size} bytes, but its record says "
                    f"{expected.get('size')}"
                )
            if sha256_file(path) != expected.get("sha256"):
                raise CacheCorruptError(f"{path}: SHA-256 differs from its record")
        try:
            offsets = np.load(self.folder / f"{name}.offsets.npy")
            states = np.load(self.folder / f"{name}.states.npy", mmap_mode="r")
        except (OSError, ValueError) as error:
            raise CacheCorruptError(f"{self.folder / name}: unreadable array ({error})") from None
        if states.ndim != 2 or states.shape[1] != self.encoder.dim or offsets[-1] != len(states):
            raise CacheCorruptError(f"{self.folder / name}: shapes do not agree")
        return _Shard(name, offsets, states)

    def _set_aside(self, name: str, reason: str) -> None:
        """Move shard ``name``'s files to ``corrupt/`` (``{file}.{stamp}``), keeping there
        the :data:`KEEP_SET_ASIDE` newest shards set aside (older ones are deleted, so a
        cache corrupted again and again does not fill the disk)."""
        corrupt = self.folder / "corrupt"
        corrupt.mkdir(exist_ok=True)
        # sortable and unique within a second: 20261207T024304-123456789
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 10**9:09d}"
        for path in self.folder.glob(f"{name}.*"):
            path.replace(corrupt / f"{path.name}.{stamp}")
        self.set_aside.append(corrupt / f"{name}.json.{stamp}")
        _prune_set_aside(corrupt, KEEP_SET_ASIDE)
        LOG.warning(
            "hidden-state cache: shard %s set aside and will be recomputed: %s", name, reason
        )

    def _add(self, shard: _Shard, keys: np.ndarray) -> None:
        self._loaded.add(shard.name)
        number = len(self._shards)
        self._shards.append(shard)
        for row, key in enumerate(keys):
            self._index.setdefault(key.tobytes(), (number, row))

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def lookup(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """States entering the split layer for a tokenized batch: ``(n, s, h)`` float32,
        zeros at padding. Rows not in the cache are computed by the bottom (not stored)."""
        n, s = input_ids.shape
        lengths = attention_mask.sum(dim=1).tolist()  # (n,)
        out = torch.zeros(n, s, self.encoder.dim, dtype=torch.float32)
        missing = []
        for i, key in enumerate(input_keys(input_ids, attention_mask)):
            where = self._index.get(key)
            if where is None:
                missing.append(i)
                continue
            shard = self._shards[where[0]]
            start, stop = shard.offsets[where[1]], shard.offsets[where[1] + 1]
            if stop - start != lengths[i]:
                raise CacheCorruptError(
                    f"{self.folder / shard.name}: input {i} has {lengths[i]} tokens but its "
                    f"cached states have {stop - start} rows"
                )
            out[i, : lengths[i]] = torch.from_numpy(
                np.array(shard.states[start:stop], dtype=np.float32)
            )
        if missing:
            self.computed_on_the_fly += len(missing)
            rows = torch.tensor(missing)
            out[rows] = (
                self.encoder.bottom_states(
                    {"input_ids": input_ids[rows], "attention_mask": attention_mask[rows]}
                )
                .float()
                .cpu()
            )
        return out

    # ------------------------------------------------------------------ filling
    def fill(
        self,
        texts: Sequence[str],
        kind: Kind = "passage",
        *,
        batch_size: int = 64,
        show_progress: bool | None = None,
    ) -> int:
        """Compute and store the states of every text not yet cached; returns how many.

        Texts are tokenized as :meth:`Encoder.tokenize` does (prefix, truncation); see
        :meth:`fill_ids`.
        """
        ids = self.encoder.token_ids(list(dict.fromkeys(texts)), kind)
        return self.fill_ids(ids, kind, batch_size=batch_size, show_progress=show_progress)

    def fill_ids(
        self,
        ids: Sequence[Sequence[int]],
        kind: str = "passage",
        *,
        batch_size: int = 64,
        show_progress: bool | None = None,
    ) -> int:
        """Compute and store the states of every token-id row not yet cached (sorted by
        length so batches pad little, written in shards of ``shard_size`` inputs); returns
        how many. ``kind`` only labels the progress bar."""
        with self._lock:  # one process fills at a time; it first reads what others wrote
            records = self.folder.glob("shard-*.json")
            self._load_new({p.name[: -len(".json")] for p in records})
            return self._fill_locked(ids, kind, batch_size=batch_size, show_progress=show_progress)

    def _fill_locked(
        self,
        ids: Sequence[Sequence[int]],
        kind: str,
        *,
        batch_size: int,
        show_progress: bool | None,
    ) -> int:
        todo: list[tuple[int, bytes, Sequence[int]]] = []  # (length, key, ids)
        seen: set[bytes] = set()
        for row in ids:
            key = hashlib.blake2b(
                np.asarray(row, dtype="<i8").tobytes(), digest_size=KEY_BYTES
            ).digest()
            if key not in self._index and key not in seen:
                seen.add(key)
                todo.append((len(row), key, row))
        if not todo:
            return 0
        started = time.perf_counter()
        todo.sort(key=lambda item: -item[0])
        show = len(todo) > 4 * batch_size if show_progress is None else show_progress
        with tqdm(
            total=len(todo), desc=f"caching {kind} states", unit="text", disable=not show
        ) as bar:
            for shard_start in range(0, len(todo), self.shard_size):
                chunk = todo[shard_start : shard_start + self.shard_size]
                parts = []
                for start in range(0, len(chunk), batch_size):
                    rows = [row for _, _, row in chunk[start : start + batch_size]]
                    features = self.encoder.pad(rows)
                    hidden = self.encoder.bottom_states(features)
                    parts.append(
                        hidden[features["attention_mask"].bool()].float().cpu().numpy()
                    )  # (T_batch, h)
                    bar.update(len(rows))
                self._write_shard(chunk, np.concatenate(parts))
        self.filled += len(todo)
        self.fill_seconds += time.perf_counter() - started
        return len(todo)

    def _write_shard(
        self, chunk: list[tuple[int, bytes, Sequence[int]]], states: np.ndarray
    ) -> None:
        keys = np.frombuffer(b"".join(k for _, k, _ in chunk), dtype=np.uint8).reshape(
            -1, KEY_BYTES
        )
        offsets = np.zeros(len(chunk) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([length for length, _, _ in chunk])
        name = "shard-" + hashlib.sha256(keys.tobytes()).hexdigest()[:16]
        arrays: dict[str, np.ndarray] = {
            "keys": keys,
            "offsets": offsets,
            "states": states.astype(STORAGE_DTYPES[self.dtype]),
        }
        files: dict[str, Any] = {}
        for part, array in arrays.items():
            path = self.folder / f"{name}.{part}.npy"
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, array)
            files[part] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
        atomic_write_json(
            self.folder / f"{name}.json",
            {
                "format": FORMAT,
                "n_inputs": len(chunk),
                "n_tokens": int(offsets[-1]),
                "files": files,
            },
        )
        shard = _Shard(name, offsets, np.load(self.folder / f"{name}.states.npy", mmap_mode="r"))
        self._add(shard, keys)

    def info(self) -> dict[str, Any]:
        """The key record, the folder and the counts (for provenance)."""
        return {
            **self.record,
            "folder": str(self.folder),
            "n_inputs": len(self._index),
            "n_shards": len(self._shards),
            "filled": self.filled,
            "fill_seconds": round(self.fill_seconds, 3),
            "computed_on_the_fly": self.computed_on_the_fly,
            "set_aside": [str(p) for p in self.set_aside],
        }


def use_hidden_state_cache(
    encoder: Encoder, root: str | os.PathLike[str] | None = None, *, dtype: str = "float16"
) -> HiddenStateCache:
    """Serve ``encoder``'s frozen bottom's states from a disk cache (a
    :class:`HiddenStateCache` under ``root``, stored as ``dtype``): ``encode`` fills it first,
    ``embed`` reads it, and both then run only the top layers. Sets ``encoder.hidden_cache``
    and returns the cache."""
    cache = HiddenStateCache(encoder, root, dtype=dtype)
    encoder.hidden_cache = cache
    return cache


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


def _prune_set_aside(corrupt: Path, keep: int) -> list[Path]:
    """Delete the files of all but the ``keep`` newest shards set aside in ``corrupt``
    (``{shard}.{part}.{stamp}``, grouped by shard and stamp); returns what was deleted."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in corrupt.iterdir():
        if path.is_file():
            shard, stamp = path.name.split(".", 1)[0], path.name.rsplit(".", 1)[-1]
            groups.setdefault((stamp, shard), []).append(path)
    deleted = [p for group in sorted(groups, reverse=True)[keep:] for p in groups[group]]
    for path in deleted:
        path.unlink(missing_ok=True)
    return deleted
