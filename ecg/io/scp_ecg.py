"""Read SCP-ECG files (EN 1064 / ISO 11073-91064, versions 1.x-2.x), written from the standard.

No maintained Python SCP-ECG reader exists (PyPI has none; the known readers
are Java/C#: pixelmed, ECG Toolkit, SCP-Tools), so this one follows the
specification. Layout: a CRC-CCITT and the record length, then sections,
each with a 16-byte header (CRC, id, length, versions, reserved). Section 0
points at the others (id, length, 1-based byte index). Used here:

* section 1: patient data tags (2 id, 4 age, 5 birth date, 8 sex,
  25/26 acquisition date and time);
* section 2: Huffman tables (19999 = the default table of the standard);
* section 3: leads (count, flags: bit 0 reference-beat subtraction, bits 3-7
  simultaneous leads) with each lead's first/last sample and lead code;
* section 6: rhythm data: amplitude multiplier (nV), sample interval (µs),
  difference encoding (0 none, 1 first, 2 second), bimodal flag, the byte
  length of each lead, then each lead's Huffman-coded data.

Files whose rhythm data were stored as residuals after reference-beat
subtraction (section 3 bit 0, needing sections 4 and 5) or with bimodal
compression are refused with that reason: decoding them without the
reference beat would produce a wrong ECG. CRCs are checked and a mismatch
is reported as a warning (the sizes are checked regardless).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

import numpy as np

from ecg.io.derived import add_derived_limb_leads, standard_order
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording
from ecg.io.demographics import sex_code
from ecg.types import Demographics, Recording, UnreadableRecording


#: SCP-ECG lead codes (EN 1064 table 14) to names; other codes are kept as "SCP lead <n>".
LEAD_CODES = {
    1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6", 9: "V7", 10: "V2R", 11: "V3R",
    12: "V4R", 13: "V5R", 14: "V6R", 15: "V7R", 16: "X", 17: "Y", 18: "Z", 19: "CC5", 20: "CM5", 21: "LA",
    22: "RA", 23: "LL", 61: "III", 62: "aVR", 63: "aVL", 64: "aVF", 65: "-aVR", 66: "V8", 67: "V9",
    68: "V8R", 69: "V9R",
}

_NEEDED = (1, 2, 3, 4, 5, 6)  # sections whose damage makes the waveform untrustworthy
_MAX_TABLES = 32  # real devices use the default table or a handful of their own


@dataclass(frozen=True)
class _Code:
    prefix_bits: int
    total_bits: int
    mode: int  # 1 = a value; 0 = switch to table number ``base``
    base: int
    code: int  # the prefix, MSB first


# EN 1064 default Huffman table: 0 -> 0, 10x -> +/-1, 110x -> +/-2 ... 1111111110 + 8 bits, 1111111111 + 16 bits
def _default_table() -> list[_Code]:
    codes = [_Code(1, 1, 1, 0, 0)]
    for v in range(1, 9):
        n = v + 2
        ones = (1 << v) - 1
        codes.append(_Code(n, n, 1, v, ones << 2))
        codes.append(_Code(n, n, 1, -v, (ones << 2) | 1))
    codes.append(_Code(10, 18, 1, 0, 0b1111111110))
    codes.append(_Code(10, 26, 1, 0, 0b1111111111))
    return codes


DEFAULT_TABLE = _default_table()


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (polynomial 0x1021, initial 0xFFFF) as used by SCP-ECG."""
    import binascii

    return binascii.crc_hqx(data, 0xFFFF)


def _u16(b: bytes, o: int) -> int:
    return int(struct.unpack_from("<H", b, o)[0])


def _u32(b: bytes, o: int) -> int:
    return int(struct.unpack_from("<I", b, o)[0])



class _Scp:
    def __init__(self, data: bytes):
        self.data = data
        self.warnings: list[str] = []
        if len(data) < 6 + 16 + 10:
            raise UnreadableRecording("the SCP-ECG file is too short to hold its section 0 (truncated)")
        declared = _u32(data, 2)
        if declared != len(data):
            if declared > len(data):
                raise UnreadableRecording(
                    f"the SCP-ECG file declares {declared} bytes but holds {len(data)} (truncated)")
            self.warnings.append(f"SCP-ECG: {len(data) - declared} bytes after the declared end of the record ignored")
        if crc_ccitt(data[2:declared]) != _u16(data, 0):
            self.warnings.append("SCP-ECG: the file checksum (CRC) does not match; the content was read anyway")
        self.sections: dict[int, tuple[int, int]] = {}  # id -> (body offset, body length)
        s0_len = _u32(data, 6 + 4)
        if s0_len < 16 or 6 + s0_len > len(data):
            raise UnreadableRecording("SCP-ECG: section 0 (the table of contents) is damaged or truncated")
        for p in range(6 + 16, 6 + s0_len - 9, 10):
            sid, length, index = struct.unpack_from("<HII", data, p)
            if length == 0 or index == 0:
                continue
            start = index - 1
            problem = None
            if length < 16 or start + length > len(data):
                problem = (f"section {sid} lies outside the file (at byte {start}, {length} bytes; "
                           f"the file has {len(data)}): the file is truncated or damaged")
            elif _u16(data, start + 2) != sid or _u32(data, start + 4) != length:
                problem = f"section {sid}'s header does not match section 0 (damaged file)"
            if problem and sid in _NEEDED:
                raise UnreadableRecording(f"SCP-ECG: {problem}")
            if problem:  # a section this reader does not use (measurements, statements...)
                self.warnings.append(f"SCP-ECG: {problem}; that section was ignored")
                continue
            if crc_ccitt(data[start + 2:start + length]) != _u16(data, start):
                self.warnings.append(f"SCP-ECG: section {sid} checksum (CRC) does not match")
            self.sections[sid] = (start + 16, length - 16)

    def body(self, sid: int) -> bytes | None:
        if sid not in self.sections:
            return None
        o, n = self.sections[sid]
        return self.data[o:o + n]


def _tags(body: bytes) -> dict[int, bytes]:
    tags: dict[int, bytes] = {}
    p = 0
    while p + 3 <= len(body):
        tag, length = body[p], _u16(body, p + 1)
        if tag == 255:
            break
        value = body[p + 3:p + 3 + length]
        tags.setdefault(tag, value)
        p += 3 + length
    return tags


def _text(v: bytes | None) -> str | None:
    if not v:
        return None
    s = v.split(b"\x00", 1)[0].decode("latin-1").strip()
    return s or None


def _date(v: bytes | None) -> dt.date | None:
    if not v or len(v) < 4:
        return None
    try:
        return dt.date(_u16(v, 0), v[2], v[3])
    except ValueError:
        return None


def _patient(body: bytes | None) -> tuple[Demographics, dt.datetime | None]:
    if body is None:
        return Demographics(), None
    tags = _tags(body)
    birth = _date(tags.get(5))
    start = None
    day, t = _date(tags.get(25)), tags.get(26)
    if day is not None:
        try:
            start = dt.datetime(day.year, day.month, day.day, *(t[:3] if t and len(t) >= 3 else (0, 0, 0)))
        except ValueError:
            start = dt.datetime(day.year, day.month, day.day)
    age = None
    if birth is not None and start is not None and 0 <= (start.date() - birth).days <= 130 * 366:
        age = (start.date() - birth).days
    elif tags.get(4) and len(tags[4]) >= 3:
        value, unit = _u16(tags[4], 0), tags[4][2]
        per = {1: 365.25, 2: 30.4375, 3: 7, 4: 1}.get(unit)
        age = round(value * per) if per and value * per <= 130 * 366 else None
    sex = {1: "M", 2: "F"}.get(tags[8][0]) if tags.get(8) else None
    return Demographics(patient_id=_text(tags.get(2)), age_days=age, sex=sex_code(sex), birth_date=birth), start



def _tables(body: bytes | None) -> list[list[_Code]]:
    if body is None or len(body) < 2 or _u16(body, 0) == 19999:
        return [DEFAULT_TABLE]
    n_tables = _u16(body, 0)
    if not 1 <= n_tables <= _MAX_TABLES:
        raise UnreadableRecording(f"SCP-ECG: the file declares {n_tables} Huffman tables (damaged; at most "
                                  f"{_MAX_TABLES} are accepted)")
    p = 2
    tables = []
    for _ in range(n_tables):
        if p + 2 > len(body):
            raise UnreadableRecording("SCP-ECG: the Huffman table section is truncated")
        n_codes = _u16(body, p)
        p += 2
        if not 1 <= n_codes <= 512 or p + 9 * n_codes > len(body):
            raise UnreadableRecording("SCP-ECG: the Huffman table section is damaged")
        codes = []
        for _k in range(n_codes):
            prefix, total, mode, base, rev = struct.unpack_from("<BBBhI", body, p)
            p += 9
            if not 1 <= prefix <= 16 or not prefix <= total <= prefix + 32:
                raise UnreadableRecording("SCP-ECG: a Huffman code in the file is not valid")
            code = int(f"{rev & ((1 << prefix) - 1):0{prefix}b}"[::-1], 2)  # stored least significant bit first
            codes.append(_Code(prefix, total, mode, base, code))
        tables.append(codes)
    return tables


class _Lookup:
    """Prefix lookup: a ``2**width``-entry table from the next ``width`` bits to a code (None: no code)."""

    def __init__(self, codes: list[_Code]):
        self.width = max(c.prefix_bits for c in codes)
        index = np.full(1 << self.width, -1, dtype=np.int32)
        for k, c in enumerate(codes):
            shift = self.width - c.prefix_bits
            seg = index[c.code << shift:(c.code + 1) << shift]
            seg[seg < 0] = k  # the first code wins where a damaged table has overlapping codes
        self.table: list[_Code | None] = [codes[k] if k >= 0 else None for k in index.tolist()]


def huffman_decode(raw: bytes, n_samples: int, tables: list[list[_Code]] | list[_Lookup], lead: str) -> np.ndarray:
    """Decode one lead's Huffman bit stream into ``n_samples`` integers (``tables``: codes or prepared lookups)."""
    if n_samples > 8 * len(raw):  # every code is at least one bit: refuse before allocating
        raise UnreadableRecording(
            f"SCP-ECG: lead {lead} declares {n_samples} samples but its {len(raw)} bytes of data cannot hold them "
            "(truncated or damaged)")
    lookups = [t if isinstance(t, _Lookup) else _Lookup(t) for t in tables]
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).astype(np.int64)
    n_bits = len(bits)
    pad = np.concatenate([bits, np.zeros(48, dtype=np.int64)])
    # window[i] = the next 32 bits from bit i, as an integer (for prefixes and appended values)
    window = np.zeros(n_bits + 1, dtype=np.int64)
    for k in range(32):
        window = (window << 1) | pad[k:k + n_bits + 1]
    win = window.tolist()
    out = [0] * n_samples
    pos = 0
    lk = lookups[0]
    i = 0
    while i < n_samples:
        if pos >= n_bits:
            raise UnreadableRecording(
                f"SCP-ECG: the data of lead {lead} end after {i} of {n_samples} samples (truncated or damaged)")
        w = win[pos]
        c = lk.table[w >> (32 - lk.width)]
        if c is None:
            raise UnreadableRecording(f"SCP-ECG: lead {lead} holds a code that is not in the Huffman table (damaged)")
        if c.mode == 0:
            if not 1 <= c.base <= len(lookups):
                raise UnreadableRecording(f"SCP-ECG: lead {lead} switches to a Huffman table that does not exist")
            lk = lookups[c.base - 1]
            pos += c.prefix_bits
            continue
        extra = c.total_bits - c.prefix_bits
        if extra:
            v = (w >> (32 - c.prefix_bits - extra)) & ((1 << extra) - 1) if c.prefix_bits + extra <= 32 else None
            if v is None:
                raise UnreadableRecording(f"SCP-ECG: lead {lead} uses a Huffman code longer than supported")
            if v >= 1 << (extra - 1):
                v -= 1 << extra
            out[i] = v
        else:
            out[i] = c.base
        pos += c.total_bits
        i += 1
    if pos > n_bits:
        raise UnreadableRecording(f"SCP-ECG: the data of lead {lead} are truncated")
    return np.asarray(out, dtype=np.int64)


def _undifference(x: np.ndarray, order: int) -> np.ndarray:
    if order == 0:
        return x
    if order == 1:
        return np.cumsum(x)
    out = x.copy()
    res = out.tolist()
    for k in range(2, len(res)):
        res[k] = res[k] + 2 * res[k - 1] - res[k - 2]
        if abs(res[k]) > 1 << 40:
            raise UnreadableRecording("SCP-ECG: the second-difference data diverge (damaged file)")
    return np.asarray(res, dtype=np.int64)


def read_scp(data: bytes, name: str | None = None) -> Recording:
    """Read an SCP-ECG file (bytes) into a Recording (mV)."""
    scp = _Scp(data)
    warnings = scp.warnings
    s3, s6 = scp.body(3), scp.body(6)
    if s3 is None or len(s3) < 2:
        raise UnreadableRecording("SCP-ECG: section 3 (the lead definitions) is missing")
    if s6 is None or len(s6) < 6:
        raise UnreadableRecording("SCP-ECG: section 6 (the rhythm data) is missing: the file holds no rhythm ECG")
    n_leads, flags = s3[0], s3[1]
    if flags & 1:
        raise UnreadableRecording(
            "SCP-ECG: the rhythm data are stored after reference-beat subtraction (sections 4 and 5), "
            "which this service does not decode; export the ECG without beat subtraction or as DICOM/HL7 aECG")
    if len(s3) < 2 + 9 * n_leads:
        raise UnreadableRecording("SCP-ECG: section 3 is shorter than its lead count needs (truncated)")
    defs = [struct.unpack_from("<IIB", s3, 2 + 9 * k) for k in range(n_leads)]
    avm, interval_us, diff, bimodal = struct.unpack_from("<HHBB", s6, 0)
    if bimodal:
        raise UnreadableRecording("SCP-ECG: bimodal compression (decimated rhythm data) is not supported")
    if diff not in (0, 1, 2):
        raise UnreadableRecording(f"SCP-ECG: unknown difference encoding {diff}")
    if avm == 0:
        raise UnreadableRecording("SCP-ECG: the amplitude multiplier is 0 (damaged file)")
    fs = check_fs(1e6 / interval_us if interval_us else 0.0)
    counts = [end - start + 1 for start, end, _ in defs]
    if not counts or min(counts) <= 0:
        raise UnreadableRecording("SCP-ECG: a lead's first and last sample numbers are not valid")
    n = max(counts)
    check_declared_shape(n, n_leads, fs)
    if len(s6) < 6 + 2 * n_leads:
        raise UnreadableRecording("SCP-ECG: section 6 is shorter than its lead table (truncated)")
    sizes = [_u16(s6, 6 + 2 * k) for k in range(n_leads)]
    p = 6 + 2 * n_leads
    if p + sum(sizes) > len(s6):
        raise UnreadableRecording(
            f"SCP-ECG: the rhythm data declare {sum(sizes)} bytes but section 6 holds {len(s6) - p} (truncated)")
    tables = [_Lookup(t) for t in _tables(scp.body(2))]
    names = [LEAD_CODES.get(code, f"SCP lead {code}") for _, _, code in defs]
    columns = []
    for k in range(n_leads):
        raw = s6[p:p + sizes[k]]
        p += sizes[k]
        x = huffman_decode(raw, counts[k], tables, names[k])
        columns.append(_undifference(x, diff))
    signals = np.zeros((n, n_leads))
    for k, col in enumerate(columns):
        signals[: len(col), k] = col * (avm * 1e-6)  # nV -> mV
    if len(set(counts)) > 1:
        warnings.append("SCP-ECG: the leads have different lengths; shorter leads were padded with zeros")
    leads = normalise_leads(names)
    signals, leads, derived = add_derived_limb_leads(signals, leads)
    signals, leads = standard_order(signals, leads)
    demographics, start = _patient(scp.body(1))
    return make_recording(signals, fs, leads, "scp_ecg", start_time=start, demographics=demographics,
                          warnings=warnings + derived)
