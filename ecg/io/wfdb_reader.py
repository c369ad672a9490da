"""Read a WFDB record (header ``.hea`` + signal files) from uploaded bytes, with numpy only.

The header is parsed by hand (``ecg.io.wfdb_header``), every referenced signal file is
matched and its size checked against what the header declares and against the limits,
and only then is ONE float64 (samples, leads) array allocated and filled from the bytes
(``ecg.io.wfdb_decode``): no temporary folder, no wfdb-python, no pandas.

``inspect_wfdb`` stops before the decode: the API uses it to refuse a bad upload at once
(format, header, file sizes) without reading the samples, which the worker reads once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from ecg.io.demographics import from_wfdb_comments
from ecg.io.info import RecordingInfo
from ecg.io.leads import normalise_leads
from ecg.io.signals import (
    check_declared_shape,
    describe_duration,
    make_recording,
    unit_to_mv,
)
from ecg.io.wfdb_decode import FORMAT_BITS, INVALID, decode_file
from ecg.io.wfdb_header import SignalSpec, WfdbHeader, header_text, parse_header
from ecg.types import Recording, UnreadableRecording

__all__ = ["FORMAT_BITS", "inspect_wfdb", "inspect_wfdb_sizes", "read_wfdb", "read_wfdb_window"]


@dataclass(frozen=True)
class _Plan:
    """What the decode will do, all checked: the header, the uploaded file behind each referenced
    name, the frames to read, the signals kept (voltage) with their factor to mV, and warnings."""

    header: WfdbHeader
    uploaded: dict[str, str]
    frames: int
    keep: list[int]
    to_mv: list[float]
    leads: tuple[str, ...]
    warnings: list[str]


def _find_file(files: Mapping[str, object], wanted: str) -> str | None:
    """The uploaded name for ``wanted``: exact, else case-insensitive (Windows uploads)."""
    if wanted in files:
        return wanted
    lowered = {k.lower(): k for k in files}
    return lowered.get(wanted.lower())


def _file_signals(header: WfdbHeader, name: str) -> dict[str, list[int]]:
    """Signal indices per referenced file, in header order; one storage format per file."""
    by_file: dict[str, list[int]] = {}
    for j, s in enumerate(header.signals):
        if s.fmt not in FORMAT_BITS:
            raise UnreadableRecording(f"{name}: WFDB storage format {s.fmt} is not supported (use format 16 or 212)")
        by_file.setdefault(s.file_name, []).append(j)
    for fname, idx in by_file.items():
        if any(header.signals[j].fmt == "8" and header.signals[j].skew for j in idx):
            raise UnreadableRecording(f"{name}: skewed signals in difference format 8 are not supported")
        if len({header.signals[j].fmt for j in idx}) > 1 or len({header.signals[j].byte_offset for j in idx}) > 1:
            raise UnreadableRecording(f"{name}: the signals stored in {fname} disagree on format or byte offset")
    return by_file


def _frame_bits(header: WfdbHeader, idx: list[int]) -> Fraction:
    return sum((FORMAT_BITS[header.signals[j].fmt] * header.signals[j].samples_per_frame for j in idx), Fraction(0))


def _check_files(header: WfdbHeader, files: Mapping[str, int], name: str) -> tuple[dict[str, str], int]:
    """Match referenced signal files to uploaded ones (``files``: name -> size in bytes) and check
    their sizes against the header.

    Returns ({name in header: uploaded name}, frames to read). Nothing is allocated here.
    """
    uploaded: dict[str, str] = {}
    available: dict[str, int] = {}
    for fname, idx in _file_signals(header, name).items():
        found = _find_file(files, fname)
        if found is None:
            raise UnreadableRecording(f"the header refers to {fname}, which was not uploaded")
        uploaded[fname] = found
        usable = max(0, files[found] - header.signals[idx[0]].byte_offset)
        available[fname] = int(usable * 8 // _frame_bits(header, idx))
    shortest = min(available, key=available.__getitem__)
    have, declared = available[shortest], header.sig_len or 0
    frames = declared or have
    check_declared_shape(frames, len(header.signals), header.fs)
    check_declared_shape(frames, sum(s.samples_per_frame for s in header.signals), header.fs)
    if have < declared:
        raise UnreadableRecording(
            f"{shortest} holds {describe_duration(have / header.fs)} of samples ({have}) but the header declares "
            f"{describe_duration(declared / header.fs)} ({declared} samples): the file is truncated")
    return uploaded, frames


def _plan(header_bytes: bytes, sizes: Mapping[str, int], header_name: str) -> _Plan:
    """Parse and check everything the decode needs (``sizes``: uploaded name -> bytes); refuses
    with a reason, allocates nothing."""
    header = parse_header(header_text(header_bytes, header_name), header_name)
    uploaded, frames = _check_files(header, sizes, header_name)
    warnings = [f"the header refers to {ref}; the uploaded {found} was used" for ref, found in uploaded.items()
                if ref != found]
    if any(s.samples_per_frame > 1 for s in header.signals):
        warnings.append("some signals have several samples per frame; they were averaged to the frame rate")
    names = normalise_leads([s.description or f"ch{j + 1}" for j, s in enumerate(header.signals)])
    keep, factors = [], []
    for j, s in enumerate(header.signals):
        factor = unit_to_mv(s.units)
        if factor is None:
            warnings.append(f"{names[j]}: unit {s.units!r} is not a voltage; the channel was left out")
            continue
        keep.append(j)
        factors.append(factor)
    if not keep:
        raise UnreadableRecording("no ECG channel: no signal is in a voltage unit (mV, uV, V)")
    return _Plan(header, uploaded, frames, keep, factors, tuple(names[j] for j in keep), warnings)


def inspect_wfdb(files: Mapping[str, bytes], header_name: str) -> RecordingInfo:
    """What ``read_wfdb`` would return, from the header and the file sizes alone (no sample decoded)."""
    return _info(_plan(files[header_name], _sizes(files), header_name))


def inspect_wfdb_sizes(header: bytes, header_name: str, sizes: Mapping[str, int]) -> RecordingInfo:
    """``inspect_wfdb`` from the header's bytes and the other files' sizes alone (a zip's directory)."""
    return _info(_plan(header, sizes, header_name))


def _sizes(files: Mapping[str, bytes]) -> dict[str, int]:
    return {name: len(data) for name, data in files.items()}


def _info(p: _Plan) -> RecordingInfo:
    return RecordingInfo(format="wfdb", fs=p.header.fs, leads=p.leads, n_samples=p.frames,
                         start_time=p.header.start_time, demographics=from_wfdb_comments(list(p.header.comments)),
                         warnings=tuple(p.warnings))


def _physical(samples: np.ndarray, s: SignalSpec, factor: float, out: np.ndarray) -> None:
    """Digital samples of one signal (frames x samples-per-frame, flat) to mV in ``out`` (frames,).

    Format 8 stores first differences from ``init_value``; the format's invalid value is NaN.
    Several samples per frame are averaged to the frame rate (as wfdb's ``smooth_frames``).
    """
    if s.fmt == "8":
        values = s.init_value + np.cumsum(samples, dtype=np.int64)
        invalid = None
    else:
        values, invalid = samples, INVALID[s.fmt]
    phys = (values.astype(np.float64) - s.baseline) * (factor / s.gain)
    if invalid is not None:
        phys[samples == invalid] = np.nan
    if s.samples_per_frame > 1:
        phys = phys.reshape(-1, s.samples_per_frame).mean(axis=1)
    out[: len(phys)] = phys
    out[len(phys):] = np.nan  # skewed past the end of the file: missing


def _decode(p: _Plan, files: Mapping[str, bytes], name: str) -> np.ndarray:
    """The (frames, kept signals) mV array, filled file by file."""
    h = p.header
    out = np.empty((p.frames, len(p.keep)))
    column = {j: k for k, j in enumerate(p.keep)}
    for fname, idx in _file_signals(h, name).items():
        data = files[p.uploaded[fname]]
        first = h.signals[idx[0]]
        per_frame = sum(h.signals[j].samples_per_frame for j in idx)
        skew = max(h.signals[j].skew for j in idx)
        usable = max(0, len(data) - first.byte_offset)
        frames = min(p.frames + skew, int(usable * 8 // _frame_bits(h, idx)))
        flat = decode_file(data, first.fmt, first.byte_offset, frames * per_frame).reshape(frames, per_frame)
        at = 0
        for j in idx:
            s = h.signals[j]
            if j in column:
                samples = flat[s.skew: s.skew + p.frames, at: at + s.samples_per_frame].reshape(-1)
                _physical(samples, s, p.to_mv[column[j]], out[:, column[j]])
            at += s.samples_per_frame
    return out


def read_wfdb(files: Mapping[str, bytes], header_name: str) -> Recording:
    """Read the record whose header is ``files[header_name]``; other files are signal files or ignored."""
    p = _plan(files[header_name], _sizes(files), header_name)
    try:
        signals = _decode(p, files, header_name)
    except UnreadableRecording:
        raise
    except (ValueError, IndexError) as exc:
        raise UnreadableRecording(f"{header_name}: the WFDB signal could not be decoded ({exc})") from exc
    return make_recording(signals, p.header.fs, p.leads, "wfdb", start_time=p.header.start_time,
                          demographics=from_wfdb_comments(list(p.header.comments)), warnings=p.warnings)



#: Reads ``length`` bytes at ``offset`` of an uploaded file (by its uploaded name).
Fetch = Callable[[str, int, int], bytes]


def _window_plan(p: _Plan, first: int, count: int, name: str) -> tuple[_Plan, dict[str, tuple[int, int]], int] | None:
    """The plan of frames [first, first + count) decoded from byte ranges of the signal files:
    (plan over the fetched bytes, {uploaded name: (offset, length)}, frames to drop at the start);
    None when a file's format needs the samples before the window (difference format 8)."""
    h = p.header
    ranges, lead_in = {}, 0
    by_file = _file_signals(h, name)
    if any(h.signals[j].fmt == "8" for idx in by_file.values() for j in idx):
        return None
    for idx in by_file.values():  # frames per whole-byte group: a window starts on a group
        lead_in = max(lead_in, first % (_frame_bits(h, idx) / 8).denominator)
    start = first - lead_in
    for fname, idx in by_file.items():
        frame_bytes = _frame_bits(h, idx) / 8
        skew = max(h.signals[j].skew for j in idx)
        offset = h.signals[idx[0]].byte_offset + int(start * frame_bytes)
        ranges[p.uploaded[fname]] = (offset, int(-(-(lead_in + count + skew) * frame_bytes // 1)))
    signals = tuple(replace(s, byte_offset=0) for s in h.signals)
    return replace(p, header=replace(h, signals=signals), frames=lead_in + count), ranges, lead_in


def read_wfdb_window(header: bytes, header_name: str, sizes: Mapping[str, int], fetch: Fetch, start_s: float,
                     duration_s: float) -> tuple[Recording, RecordingInfo]:
    """Frames [start_s, start_s + duration_s) of a record, decoding only the bytes that hold them
    (a 60 s window of a 4 h 12-lead record: 0.7 MB of 173 MB); and the whole record's description.

    ``sizes`` are the uploaded files' sizes and ``fetch`` reads a byte range of one of them, so the
    files need not be in memory (a zip member is inflated up to the window only). Difference
    format 8 is decoded from the start. The missing-sample policy sees the window only.
    """
    p = _plan(header, sizes, header_name)
    first = min(p.frames - 1, max(0, int(start_s * p.header.fs)))
    count = max(1, min(p.frames - first, int(round(duration_s * p.header.fs))))
    window = _window_plan(p, first, count, header_name)
    if window is None:
        ranges, wp, lead_in = {n: (0, sizes[n]) for n in p.uploaded.values()}, p, first
    else:
        wp, ranges, lead_in = window
    data = {n: fetch(n, offset, min(length, max(0, sizes[n] - offset))) for n, (offset, length) in ranges.items()}
    try:
        signals = _decode(wp, data, header_name)[lead_in: lead_in + count].copy()
    except (ValueError, IndexError) as exc:
        raise UnreadableRecording(f"{header_name}: the WFDB signal could not be decoded ({exc})") from exc
    rec = make_recording(signals, p.header.fs, p.leads, "wfdb", start_time=p.header.start_time,
                         demographics=from_wfdb_comments(list(p.header.comments)), warnings=p.warnings)
    return rec, _info(p)
