"""Read only the DICOM elements an ECG waveform needs, by walking the bytes (no pydicom).

pydicom must parse every item of every undefined-length sequence to find where it ends,
even with ``specific_tags``: an ECG cart's ~240 waveform annotations cost it ~11 ms per
file, about all of a DICOM upload's check. This walker skips what it does not need by
length, descends only into the waveform sequences, and builds small ``Node`` mappings
keyed by the pydicom keyword, so ``ecg.io.dicom_reader`` reads them exactly as it reads a
pydicom ``Dataset`` (``get``, ``in``, attribute access).

Encoding: DICOM PS3.5 section 7 (data elements, explicit/implicit VR) and 7.5 (sequences,
items, delimiters); PS3.10 section 7 (the file's preamble and meta group). Only the
little-endian uncompressed transfer syntaxes are walked; anything else (or anything odd)
returns None and the caller falls back to pydicom, whose messages name the damage.
"""

from __future__ import annotations

import struct
from typing import Any

_EXPLICIT_LE, _IMPLICIT_LE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
_LONG_VR = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF

#: tag -> (keyword, kind): "str", "int" (US/UL), "bytes" or "seq" (walked into).
KEYWORDS: dict[int, tuple[str, str]] = {
    0x00080016: ("SOPClassUID", "str"), 0x00100020: ("PatientID", "str"), 0x00100030: ("PatientBirthDate", "str"),
    0x00100040: ("PatientSex", "str"), 0x00101010: ("PatientAge", "str"),
    0x0008002A: ("AcquisitionDateTime", "str"), 0x00080023: ("ContentDate", "str"),
    0x00080033: ("ContentTime", "str"), 0x7FE00010: ("PixelData", "skip"),
    0x54000100: ("WaveformSequence", "seq"), 0x003A0020: ("MultiplexGroupLabel", "str"),
    0x003A0004: ("WaveformOriginality", "str"), 0x003A0005: ("NumberOfWaveformChannels", "int"),
    0x003A0010: ("NumberOfWaveformSamples", "int"), 0x003A001A: ("SamplingFrequency", "str"),
    0x003A0200: ("ChannelDefinitionSequence", "seq"), 0x54001004: ("WaveformBitsAllocated", "int"),
    0x54001006: ("WaveformSampleInterpretation", "str"), 0x54001010: ("WaveformData", "bytes"),
    0x003A0208: ("ChannelSourceSequence", "seq"), 0x00080104: ("CodeMeaning", "str"),
    0x003A0203: ("ChannelLabel", "str"), 0x003A0210: ("ChannelSensitivity", "str"),
    0x003A0211: ("ChannelSensitivityUnitsSequence", "seq"), 0x00080100: ("CodeValue", "str"),
    0x003A0212: ("ChannelSensitivityCorrectionFactor", "str"), 0x003A0213: ("ChannelBaseline", "str"),
}
_INT_SIZE = {2: "<H", 4: "<I"}


class Odd(Exception):
    """The bytes are not what this walker handles: let pydicom read the file."""


class Node(dict[str, Any]):

    """A dataset or sequence item: keyword -> value, read like a pydicom Dataset."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def read_tags(data: bytes) -> Node | None:
    """The needed elements of a DICOM Part 10 file, or None to let pydicom decide."""
    try:
        return _read(data)
    except (Odd, struct.error, IndexError, UnicodeDecodeError, ValueError):
        return None


def _read(data: bytes) -> Node:
    if len(data) < 132 or data[128:132] != b"DICM":
        raise Odd("no DICM")
    meta, at = _Walker(data, explicit=True).dataset(132, len(data), meta_only=True)
    syntax = meta.get("TransferSyntaxUID")
    if syntax not in (_EXPLICIT_LE, _IMPLICIT_LE):
        raise Odd(f"transfer syntax {syntax}")
    node, _ = _Walker(data, explicit=syntax == _EXPLICIT_LE).dataset(at, len(data))
    return node


class _Walker:
    def __init__(self, data: bytes, explicit: bool) -> None:
        self.data, self.explicit = data, explicit

    def _header(self, at: int) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, value length, value offset) of the element at ``at``."""
        group, elem = struct.unpack_from("<HH", self.data, at)
        tag = (group << 16) | elem
        if group == 0xFFFE or not self.explicit:
            (length,) = struct.unpack_from("<I", self.data, at + 4)
            return tag, None, length, at + 8
        vr = self.data[at + 4: at + 6]
        if vr in _LONG_VR:
            (length,) = struct.unpack_from("<I", self.data, at + 8)
            return tag, vr, length, at + 12
        (length,) = struct.unpack_from("<H", self.data, at + 6)
        return tag, vr, length, at + 8

    def dataset(self, at: int, end: int, meta_only: bool = False) -> tuple[Node, int]:
        """Elements from ``at`` to ``end`` (or an item delimiter); returns (node, offset after)."""
        node = Node()
        while at < end:
            tag, vr, length, value = self._header(at)
            if meta_only and tag >> 16 != 0x0002:
                return node, at
            if tag == _ITEM_END:
                return node, value
            if tag == 0x00020010:
                node["TransferSyntaxUID"] = self.data[value: value + length].decode("ascii").strip("\x00 ")
            name, kind = KEYWORDS.get(tag, ("", "skip"))
            if vr == b"SQ" or kind == "seq" or length == _UNDEFINED:
                items, at = self.sequence(value, length)
                if kind == "seq":
                    node[name] = items
                elif name:
                    node[name] = True
                continue
            if value + length > len(self.data):
                raise Odd("element runs past the end of the file")
            if name:
                node[name] = self._value(kind, value, length)
            at = value + length
        if at != end:
            raise Odd("dataset overruns its length")
        return node, at

    def sequence(self, at: int, length: int) -> tuple[list[Node], int]:
        """Items of a sequence (defined or undefined length); returns (items, offset after)."""
        end = len(self.data) if length == _UNDEFINED else at + length
        items: list[Node] = []
        while at < end:
            tag, _vr, item_len, value = self._header(at)
            if tag == _SEQ_END:
                return items, value
            if tag != _ITEM:
                raise Odd("expected a sequence item")
            item_end = len(self.data) if item_len == _UNDEFINED else value + item_len
            node, at = self.dataset(value, item_end)
            items.append(node)
        if length == _UNDEFINED or at != end:
            raise Odd("sequence not terminated")
        return items, at

    def _value(self, kind: str, at: int, length: int) -> Any:
        raw = self.data[at: at + length]
        if kind == "int":
            if length not in _INT_SIZE:
                raise Odd("integer of odd size")
            return struct.unpack(_INT_SIZE[length], raw)[0]
        if kind == "bytes":
            return raw
        if kind == "skip":
            return True
        return raw.decode("latin-1").strip("\x00 ")
