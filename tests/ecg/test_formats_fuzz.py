"""Fuzz every device-format reader with mutated real files: only ``UnreadableRecording`` may escape.

Each reader gets ~150 hypothesis examples built from its real sample files in
../shared/data/formats (bit flips, truncation, splices, overwritten header
fields, numbers in XML text replaced by hostile values). Besides the type,
the message must come from a reader, not from the last-resort boundary in
``read_recording`` (which would mean an unchecked path). Bounded: the whole
module runs in well under 40 s.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common import data_dir
from ecg.io import read_recording
from ecg.types import UnreadableRecording

_FORMATS = data_dir() / "formats"
READERS = {
    "dicom": ["dicom/waveform_ecg.dcm", "dicom/ECGToolkit_Example.dcm"],
    "hl7_aecg": ["hl7_aecg/ECGToolkit_Example.xml"],
    "scp_ecg": ["scp_ecg/ECGToolkit_Example.scp", "scp_ecg/WelchAllyn_CP_2007.SCP"],
    "ge_muse": ["ge_muse/EGM_muse-sinus.xml", "ge_muse/BRAVEHEART_example1.xml"],
    "philips": ["philips/129DYPRG.XML", "philips/3191723_ZZDEMOPTONLY_1-04_orig.xml"],
}
_NASTY_TEXT = [b"0", b"-1", b"nan", b"inf", b"1e308", b"99999999999", b"2147483648", b"", b"x", b"-0.0000001"]
_NASTY_BIN = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x01\x00\x00\x00", b"\x00\x00\x00\x80"]
_DIGITS = re.compile(rb"\d+")


def _blobs(kind: str) -> list[bytes]:
    paths = [_FORMATS / p for p in READERS[kind]]
    if not all(p.exists() for p in paths):
        pytest.fail(f"sample files missing under {_FORMATS}; set ECGHUB_DATA_DIR")
    return [p.read_bytes() for p in paths]


@st.composite
def mutated(draw, blobs: list[bytes]) -> bytes:
    b = bytearray(draw(st.sampled_from(blobs)))
    for op in draw(st.lists(st.sampled_from(["flip", "truncate", "splice", "field", "number"]), min_size=1, max_size=3)):
        if not b:
            break
        n = len(b)
        # header fields live near the start: bias half of the positions into the first 2 kB
        pos = draw(st.one_of(st.integers(0, min(n, 2048) - 1), st.integers(0, n - 1)))
        if op == "flip":
            for _ in range(draw(st.integers(1, 16))):
                i = draw(st.integers(0, n - 1))
                b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            b = b[:draw(st.integers(1, n))]
        elif op == "splice":
            a, c = sorted((pos, draw(st.integers(0, n - 1))))
            at = draw(st.integers(0, n - 1))
            b = b[:at] + b[a:c] + b[at:] if draw(st.booleans()) else b[:a] + b[c:]
        elif op == "field":
            b[pos:pos + 4] = draw(st.sampled_from(_NASTY_BIN))
        else:
            m = _DIGITS.search(b, pos)
            if m:
                b[m.start():m.end()] = draw(st.sampled_from(_NASTY_TEXT))
    return bytes(b)


def _only_unreadable(blob: bytes, name: str) -> None:
    for source in (blob, {name: blob}):
        try:
            read_recording(source)
        except UnreadableRecording as exc:
            assert not str(exc).startswith("the recording could not be read ("), f"unchecked path: {exc}"


_SETTINGS = settings(max_examples=150, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_fuzz(kind: str) -> None:
    blobs = _blobs(kind)
    name = Path(READERS[kind][0]).name

    @_SETTINGS
    @given(mutated(blobs))
    def run(blob: bytes) -> None:
        _only_unreadable(blob, name)

    run()
