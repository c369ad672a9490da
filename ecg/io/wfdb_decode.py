"""Decode WFDB signal files with numpy: the storage formats of the WFDB specification.

Reference: "signal(5)" (PhysioNet, https://physionet.org/physiotools/wag/signal-5.htm);
bit layouts checked against wfdb-python 4.x in tests/ecg/test_io.py (every format written by
``wfdb.wrsamp`` and read by ``wfdb.rdrecord``, sample for sample).

A file holds frames; a frame holds, for each of the file's signals in header order,
``samples_per_frame`` samples. ``decode_file`` returns every sample of ``frames`` frames as
one flat integer array in storage order (a view of the bytes for the byte-aligned formats:
no copy), and ``INVALID`` gives each format's "no sample here" value (NaN downstream).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ecg.types import UnreadableRecording

#: Bits per sample of each storage format.
FORMAT_BITS = {
    "8": Fraction(8), "16": Fraction(16), "24": Fraction(24), "32": Fraction(32), "61": Fraction(16),
    "80": Fraction(8), "160": Fraction(16), "212": Fraction(12), "310": Fraction(32, 3), "311": Fraction(32, 3),
}

#: The stored value meaning "sample missing" (after the offset of formats 80/160 is removed);
#: format 8 (first differences) has none.
INVALID = {"80": -(2**7), "310": -(2**9), "311": -(2**9), "212": -(2**11), "16": -(2**15), "61": -(2**15),
           "160": -(2**15), "24": -(2**23), "32": -(2**31), "8": None}

_SIMPLE = {"16": "<i2", "61": ">i2", "32": "<i4", "80": "u1", "160": "<u2", "8": "i1"}


def byte_count(fmt: str, n_samples: int) -> int:
    """Bytes that hold ``n_samples`` samples in ``fmt`` (a last partial group rounded up)."""
    return int(-(-FORMAT_BITS[fmt] * n_samples // 8))


def decode_file(data: bytes, fmt: str, offset: int, n_samples: int) -> np.ndarray:
    """The first ``n_samples`` samples after ``offset`` bytes, as integers (storage order).

    The caller has checked that the file holds them (``byte_count``); a shortfall inside a
    last packed group reads as zero bits, as wfdb does.
    """
    if fmt in _SIMPLE:
        raw = np.frombuffer(data, dtype=_SIMPLE[fmt], count=n_samples, offset=offset)
        if fmt == "80":
            return raw.astype(np.int16) - 128
        if fmt == "160":
            return raw.astype(np.int32) - 32768
        return raw
    packed = np.frombuffer(data, dtype=np.uint8, count=min(len(data) - offset, byte_count(fmt, n_samples)),
                           offset=offset)
    if fmt == "212":
        return _unpack_212(packed, n_samples)
    if fmt == "24":
        b = packed[: 3 * n_samples].reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v)
    if fmt in ("310", "311"):
        return _unpack_10bit(packed, n_samples, fmt)
    raise UnreadableRecording(f"WFDB storage format {fmt} is not supported (use format 16 or 212)")


def _groups(packed: np.ndarray, size: int) -> np.ndarray:
    """``packed`` zero-padded to whole groups of ``size`` bytes, as (groups, size) int32."""
    pad = -len(packed) % size
    if pad:
        packed = np.concatenate([packed, np.zeros(pad, dtype=np.uint8)])
    return packed.reshape(-1, size).astype(np.int32)


def _unpack_212(packed: np.ndarray, n: int) -> np.ndarray:
    """Two 12-bit samples in 3 bytes: low 8 bits, then the high nibbles of both in the middle byte."""
    b = _groups(packed, 3)
    out = np.empty(2 * len(b), dtype=np.int16)
    out[0::2] = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    out[1::2] = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out[out >= 2048] -= 4096
    return out[:n]


def _unpack_10bit(packed: np.ndarray, n: int, fmt: str) -> np.ndarray:
    """Three 10-bit samples in 4 bytes (310: in two 16-bit words; 311: in one 32-bit word)."""
    b = _groups(packed, 4)
    out = np.empty(3 * len(b), dtype=np.int16)
    if fmt == "310":
        out[0::3] = (b[:, 0] >> 1) + 128 * (b[:, 1] & 0x07)
        out[1::3] = (b[:, 2] >> 1) + 128 * (b[:, 3] & 0x07)
        out[2::3] = ((b[:, 1] >> 3) & 0x1F) + 32 * ((b[:, 3] >> 3) & 0x1F)
    else:
        w = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)
        out[0::3] = w & 0x3FF
        out[1::3] = (w >> 10) & 0x3FF
        out[2::3] = (w >> 20) & 0x3FF
    out[out > 511] -= 1024
    return out[:n]
