"""Read EDF / EDF+ (and BDF) recordings.

The fixed-layout header is parsed and checked here first (field syntax,
signal count, declared size against the limits and against the real byte
count); the samples are then decoded by pyedflib from a private temporary
file. edflib refuses files whose text fields are not strictly EDF(+)
compliant (a non-ASCII transducer, a free-text EDF+ patient field); such a
file, once its sizes and calibration are checked, is decoded directly with
numpy instead and carries a warning, so that a clinic's slightly
non-standard export is still read. Only ECG-like channels are kept: EDF+ annotation channels and channels
whose physical dimension is not a voltage (uV, mV, V) are left out with a
warning, and so are channels sampled at a different rate than the majority.

Long files stay bounded in memory: ``inspect_edf`` describes a file from its header and size
alone, and ``read_edf_window`` decodes only the fixed-size data records that hold a time window
(directly with numpy, calibrated as edflib does), so the API never holds a whole 2 h recording.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, overload

import numpy as np
import pyedflib

from ecg.io import limits
from ecg.io.demographics import from_edf_patient
from ecg.io.info import RecordingInfo
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, describe_duration, make_recording, unit_to_mv
from ecg.types import Recording, UnreadableRecording

_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("unit", 8), ("phys_min", 8), ("phys_max", 8),
                  ("dig_min", 8), ("dig_max", 8), ("prefilter", 80), ("samples", 8), ("reserved", 32))


@dataclass(frozen=True)
class EdfHeader:
    """The parts of an EDF header the reader needs; sizes in bytes, durations in s."""

    patient: str
    start: dt.datetime | None
    header_bytes: int
    n_records: int
    record_s: float
    labels: list[str]
    units: list[str]
    samples_per_record: list[int]
    sample_bytes: int
    discontinuous: bool
    calibration: dict[str, list[bytes]]


def _ascii(raw: bytes, what: str) -> str:
    """A header field as stripped text (Latin-1 when not ASCII)."""
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


Number = TypeVar("Number", int, float)


@overload
def _number(raw: bytes, what: str) -> int: ...
@overload
def _number(raw: bytes, what: str, kind: type[Number]) -> Number: ...
def _number(raw: bytes, what: str, kind: type[float] = int) -> float:
    """A numeric header field (``kind`` int or float), or an UnreadableRecording naming ``what``."""

    text = _ascii(raw, what)
    try:
        return kind(text)
    except ValueError:
        raise UnreadableRecording(f"EDF header: {what} {text!r} is not a number; the file is damaged") from None


def _start(date: str, time: str) -> dt.datetime | None:
    """EDF start: ``dd.mm.yy`` and ``hh.mm.ss``; years 85-99 are 19xx (EDF spec clipping date)."""
    try:
        d, m, y = (int(p) for p in date.split("."))
        hh, mm, ss = (int(p) for p in time.split("."))
        return dt.datetime(1900 + y if y >= 85 else 2000 + y, m, d, hh, mm, ss)
    except ValueError:
        return None


def _signal_fields(data: bytes, ns: int) -> dict[str, list[bytes]]:
    """The per-signal header fields, each a list of ``ns`` raw byte strings."""
    fields, pos = {}, 256
    for name, width in _SIGNAL_FIELDS:
        fields[name] = [data[pos + i * width: pos + (i + 1) * width] for i in range(ns)]
        pos += width * ns
    return fields


def parse_header(data: bytes) -> EdfHeader:
    """Parse and check the fixed header; refuse anything inconsistent before decoding."""
    ns = _number(data[252:256], "number of signals")
    if not 1 <= ns <= limits.MAX_LEADS + 1:
        raise UnreadableRecording(f"EDF header declares {ns} signals; 1 to {limits.MAX_LEADS} are accepted")
    header_bytes = _number(data[184:192], "header size")
    if header_bytes != 256 * (ns + 1) or len(data) < header_bytes:
        raise UnreadableRecording("EDF header size does not match its signal count; the file is damaged or cut short")
    f = _signal_fields(data, ns)
    spr = [_number(v, "samples per record") for v in f["samples"]]
    if any(s <= 0 for s in spr):
        raise UnreadableRecording("EDF header: a signal declares no samples per data record")
    record_s = _number(data[244:252], "data record duration", float)
    if not np.isfinite(record_s) or record_s <= 0:
        raise UnreadableRecording(f"EDF header: data record duration {record_s:g} s is not plausible")
    return EdfHeader(
        patient=_ascii(data[8:88], "patient"), start=_start(_ascii(data[168:176], "date"), _ascii(data[176:184], "time")),
        header_bytes=header_bytes, n_records=_number(data[236:244], "number of data records"), record_s=record_s,
        labels=[_ascii(v, "label") for v in f["label"]], units=[_ascii(v, "unit") for v in f["unit"]],
        samples_per_record=spr, sample_bytes=3 if data[:1] == b"\xff" else 2,
        discontinuous=data[192:197] in (b"EDF+D", b"BDF+D"),
        calibration={k: f[k] for k in ("phys_min", "phys_max", "dig_min", "dig_max")})


def _check_size(h: EdfHeader, size: int) -> tuple[int, list[str]]:
    """Number of complete data records to read; refuse truncation beyond one record."""
    record_bytes = sum(h.samples_per_record) * h.sample_bytes
    available = (size - h.header_bytes) // record_bytes
    if h.n_records == -1:  # allowed while recording; use what is there
        return available, ["EDF header does not state the number of data records; read all complete records"]
    if h.n_records <= 0:
        raise UnreadableRecording("the EDF file holds no data records (zero-length signal)")
    if available < h.n_records:
        raise UnreadableRecording(
            f"the EDF file holds {describe_duration(available * h.record_s)} of samples but its header declares "
            f"{describe_duration(h.n_records * h.record_s)} ({h.n_records} data records): the file is truncated")
    extra = ["the EDF file is longer than its header declares; the extra bytes were ignored"] \
        if size > h.header_bytes + h.n_records * record_bytes else []
    return h.n_records, extra


def _select(h: EdfHeader) -> tuple[list[int], list[float], list[str]]:
    """Indices of the ECG channels to keep, their mV factors, and warnings for the rest."""
    warnings, voltage = [], []
    for i, (label, unit) in enumerate(zip(h.labels, h.units)):
        if label.upper() in ("EDF ANNOTATIONS", "BDF ANNOTATIONS"):
            continue
        if unit_to_mv(unit) is None:
            warnings.append(f"{label}: unit {unit!r} is not a voltage; the channel was left out")
            continue
        voltage.append(i)
    if not voltage:
        raise UnreadableRecording("no ECG channel in the EDF file: no signal is in a voltage unit (uV, mV, V)")
    common = Counter(h.samples_per_record[i] for i in voltage).most_common(1)[0][0]
    keep = [i for i in voltage if h.samples_per_record[i] == common]
    for i in voltage:
        if i not in keep:
            warnings.append(f"{h.labels[i]}: sampled at a different rate from the other leads; left out")
    return keep, [unit_to_mv(h.units[i]) or 1.0 for i in keep], warnings


def _decode_pyedflib(body: bytes, keep: list[int], n: int) -> np.ndarray:
    """Physical samples of channels ``keep`` (first ``n`` each) via pyedflib: (n, len(keep)).

    Raises ``ValueError`` with edflib's reason when it refuses the file.
    """
    with tempfile.TemporaryDirectory(prefix="ecghub-edf-") as tmp:
        path = os.path.join(tmp, "upload.edf")
        with open(path, "wb") as fh:
            fh.write(body)
        try:
            with pyedflib.EdfReader(path) as reader:
                cols = [reader.readSignal(i, 0, n, digital=False) for i in keep]
        except Exception as exc:  # pyedflib raises OSError with edflib's reason
            raise ValueError(str(exc).replace(path + ": ", "").replace(path, "the file")) from exc
    if any(len(c) != n for c in cols):
        raise ValueError("fewer samples than the header declares")
    return np.stack(cols, axis=1).astype(np.float64)


def _calibration(h: EdfHeader, i: int) -> tuple[float, float]:
    """(gain, offset) turning channel ``i``'s digital values d into physical ones: gain * (d + offset).

    Written as edflib computes it, so a file decoded here (a window, or a file edflib refuses)
    gets the full read's values to the bit.
    """
    names = {"phys_min": "physical minimum", "phys_max": "physical maximum",
             "dig_min": "digital minimum", "dig_max": "digital maximum"}
    values = [_number(h.calibration[k][i], f"{names[k]} of {h.labels[i]!r}", float) for k in names]
    pmin, pmax, dmin, dmax = values
    if not all(np.isfinite(values)) or dmax <= dmin or pmax == pmin:
        raise UnreadableRecording(f"EDF header: the calibration of {h.labels[i]!r} is invalid "
                                  "(digital or physical minimum and maximum)")
    gain = (pmax - pmin) / (dmax - dmin)
    return gain, pmax / gain - dmax


def _decode_records(raw: bytes | memoryview, h: EdfHeader, keep: list[int], n_records: int) -> np.ndarray:
    """Physical samples of channels ``keep`` from ``n_records`` whole data records at the start of ``raw``:
    little-endian 16-bit (EDF) or 24-bit (BDF), calibrated per channel; (samples, len(keep))."""
    per_record = sum(h.samples_per_record)
    raw_u8 = np.frombuffer(raw, dtype=np.uint8, count=n_records * per_record * h.sample_bytes)
    if h.sample_bytes == 2:
        digital = raw_u8.view("<i2").astype(np.int32)
    else:
        b = raw_u8.reshape(-1, 3).astype(np.int32)
        digital = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        digital = np.where(digital >= 1 << 23, digital - (1 << 24), digital)
    records = digital.reshape(n_records, per_record)
    starts = np.concatenate(([0], np.cumsum(h.samples_per_record)))
    cols = []
    for i in keep:
        gain, offset = _calibration(h, i)
        cols.append((records[:, starts[i]: starts[i + 1]].ravel() + offset) * gain)
    return np.stack(cols, axis=1)


def _decode_numpy(body: bytes, h: EdfHeader, keep: list[int], n_records: int) -> np.ndarray:
    """Decode the (size-checked) data records of a whole file directly, without edflib."""
    return _decode_records(memoryview(body)[h.header_bytes:], h, keep, n_records)


def _decode(body: bytes, h: EdfHeader, keep: list[int], n_records: int, warnings: list[str]) -> np.ndarray:
    """pyedflib first; a file it refuses as not standard-compliant is decoded directly, with a warning."""
    n = n_records * h.samples_per_record[keep[0]]
    try:
        return _decode_pyedflib(body, keep, n)
    except ValueError as exc:
        warnings.append(f"the EDF header is not fully standard-compliant ({exc}); read anyway")
    return _decode_numpy(body, h, keep, n_records)


@dataclass(frozen=True)
class EdfPlan:
    """What an EDF file holds, known from its header and byte size alone (nothing decoded):
    the data records to read, the ECG channels kept with their mV factors, and the warnings."""

    header: EdfHeader
    n_records: int
    keep: list[int]
    factors: list[float]   # physical unit -> mV, per kept channel
    fs: float              # Hz
    warnings: list[str]    # size and EDF+D notes (the reader's own, before decoding)
    channel_warnings: list[str]

    @property
    def samples_per_record(self) -> int:
        """Samples of each kept channel in one data record."""
        return self.header.samples_per_record[self.keep[0]]

    @property
    def record_bytes(self) -> int:
        """Bytes of one data record (all channels, annotations included)."""
        return sum(self.header.samples_per_record) * self.header.sample_bytes

    @property
    def n_samples(self) -> int:
        """Samples per kept channel in the whole recording."""
        return self.n_records * self.samples_per_record

    @property
    def leads(self) -> tuple[str, ...]:
        """The kept channels' lead names, normalised."""
        return normalise_leads([self.header.labels[i] for i in self.keep])


def plan_edf(head: bytes, size: int) -> EdfPlan:
    """Check an EDF file from its header ``head`` (at least the whole header) and its ``size`` (bytes);
    refuses what ``read_edf`` refuses on header, sizes and channels."""
    h = parse_header(head)
    n_records, warnings = _check_size(h, size)
    keep, factors, channel_warnings = _select(h)
    if h.discontinuous:
        warnings.append("EDF+D (discontinuous) file: its data records were joined end to end; "
                        "gaps in time between them are not shown")
    fs = check_fs(h.samples_per_record[keep[0]] / h.record_s)
    check_declared_shape(n_records * h.samples_per_record[keep[0]], len(keep), fs)
    return EdfPlan(h, n_records, keep, factors, fs, warnings, channel_warnings)


def _info(p: EdfPlan) -> RecordingInfo:
    """The description ``RecordingInfo.of(read_edf(...))`` gives, from the plan alone."""
    return RecordingInfo(format="edf", fs=p.fs, leads=p.leads, n_samples=p.n_samples, start_time=p.header.start,
                         demographics=from_edf_patient(p.header.patient, p.header.start),
                         warnings=tuple(p.warnings + p.channel_warnings))


def inspect_edf(data: bytes, name: str | None = None) -> RecordingInfo:
    """Describe an EDF/EDF+/BDF file from its header and size, decoding no sample."""
    return _info(plan_edf(data, len(data)))


def read_edf(data: bytes, name: str | None = None) -> Recording:
    """Read an EDF/EDF+/BDF file's ECG channels; signals in mV."""
    p = plan_edf(data, len(data))
    h = p.header
    # pyedflib reads the data records its header declares; hand it exactly those.
    body = data[: h.header_bytes + p.n_records * p.record_bytes]
    if h.n_records == -1:
        body = body[:236] + f"{p.n_records:<8d}".encode() + body[244:]
    warnings = list(p.warnings)
    signals = _decode(body, h, p.keep, p.n_records, warnings) * np.asarray(p.factors)
    return make_recording(signals, p.fs, p.leads, "edf", start_time=h.start,
                          demographics=from_edf_patient(h.patient, h.start), warnings=warnings + p.channel_warnings)


#: Reads ``length`` bytes of the file from byte ``offset`` (fewer at its end).
Fetch = Callable[[int, int], bytes]


def _fetch_header(fetch: Fetch) -> bytes:
    """The whole fixed header (256 bytes, then 256 per signal), read in two ranges."""
    first = fetch(0, 256)
    try:
        ns = int(first[252:256].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return first  # parse_header names the damaged field
    return first if not 1 <= ns <= limits.MAX_LEADS + 1 else fetch(0, 256 * (ns + 1))


def inspect_edf_range(fetch: Fetch, size: int) -> RecordingInfo:
    """Describe an EDF file known by byte ranges (``fetch``) and its ``size`` (bytes), e.g. a zip member."""
    return _info(plan_edf(_fetch_header(fetch), size))


def read_edf_window(fetch: Fetch, size: int, start_s: float, duration_s: float) -> tuple[Recording, RecordingInfo]:
    """Samples [start_s, start_s + duration_s) s of an EDF file (clamped to it), decoding only the data
    records that hold them, and the whole file's description.

    ``fetch`` reads byte ranges of the ``size``-byte file, so a 2 h 12-lead file (83 MB as float64)
    costs a 10 s window's records (about 240 KB of float64). Values are calibrated as the full read's.
    """
    p = plan_edf(_fetch_header(fetch), size)
    spr = p.samples_per_record
    first = min(p.n_samples - 1, max(0, int(start_s * p.fs)))
    count = max(1, min(p.n_samples - first, int(round(duration_s * p.fs))))
    r0, r1 = first // spr, -(-(first + count) // spr)
    raw = fetch(p.header.header_bytes + r0 * p.record_bytes, (r1 - r0) * p.record_bytes)
    if len(raw) < (r1 - r0) * p.record_bytes:
        raise UnreadableRecording("the EDF file is shorter than its size: the file is truncated")
    lead_in = first - r0 * spr
    signals = _decode_records(raw, p.header, p.keep, r1 - r0)[lead_in: lead_in + count] * np.asarray(p.factors)
    rec = make_recording(signals, p.fs, p.leads, "edf", start_time=p.header.start,
                         demographics=from_edf_patient(p.header.patient, p.header.start),
                         warnings=p.warnings + p.channel_warnings)
    return rec, _info(p)
