"""Read a WFDB record (header ``.hea`` + signal files) from uploaded bytes.

The header is checked by hand first (record line, signal count, signal file
names, formats, declared size against the limits and against the real file
sizes); only then are the files written to a private temporary directory and
decoded by wfdb (physical units, float64). wfdb alone would happily try to
allocate whatever a header declares.

The header is parsed ONCE: ``wfdb.rdrecord`` would parse it again, and wfdb's
header parser (pandas look-ups per field) is ~3 ms for a 12-lead header, most
of the cost of reading a 10 s record. The decode therefore calls the steps of
``rdrecord``'s single-segment path on the parsed header (wfdb 4.x internals,
``_signal._rd_segment``; pyproject pins wfdb below 5 for that).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from fractions import Fraction
from typing import Mapping

import numpy as np
import wfdb
from wfdb.io._signal import _rd_segment  # wfdb 4.x: rdrecord's decode step, on our parsed header

from ecg.io import limits
from ecg.io.demographics import from_wfdb_comments
from ecg.io.detect import RECORD_LINE, content_lines
from ecg.io.leads import normalise_leads
from ecg.io.names import safe_name
from ecg.io.signals import check_declared_shape, check_fs, describe_duration, make_recording, unit_to_mv
from ecg.types import Recording, UnreadableRecording

#: Bits per sample of each uncompressed WFDB storage format.
FORMAT_BITS = {
    "8": Fraction(8), "16": Fraction(16), "24": Fraction(24), "32": Fraction(32), "61": Fraction(16),
    "80": Fraction(8), "160": Fraction(16), "212": Fraction(12), "310": Fraction(32, 3), "311": Fraction(32, 3),
}


_FS_TOKEN = re.compile(r"^([-+0-9.eE]+)(?:/[-+0-9.eE]+(?:\([-+0-9.eE]+\))?)?$")


def _header_text(data: bytes, name: str) -> str:
    """Header bytes as text (UTF-8, else Latin-1); refuses absurd sizes."""
    if len(data) > limits.MAX_HEADER_BYTES:
        raise UnreadableRecording(f"{name}: the WFDB header is {len(data)} bytes, far larger than any real header")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _precheck(text: str, name: str) -> str:
    """Check the record line (name, signal count, fs, length) and signal-line count; return the record name."""
    lines = content_lines(text)
    m = RECORD_LINE.match(lines[0]) if lines else None
    if not m:
        raise UnreadableRecording(f"{name}: the first line is not a WFDB record line (name nsig fs nsamp)")
    if m.group("nseg") is not None:
        raise UnreadableRecording(f"{name}: multi-segment WFDB records are not supported; upload a single-segment record")
    record = m.group("name")
    if ".." in record or record.startswith(".") or len(record) > 100:
        raise UnreadableRecording(f"{name}: unsafe record name {record!r} in the header")
    nsig = int(m.group("nsig"))
    check_declared_shape(1, nsig, 1.0)
    tokens = lines[0].split()
    if len(tokens) > 2:
        _check_fs_token(tokens[2], name)
    if len(tokens) > 3 and not tokens[3].isdigit():
        raise UnreadableRecording(f"{name}: the number of samples {tokens[3]!r} is not a whole number")
    if len(tokens) > 3 and int(tokens[3]) == 0:
        raise UnreadableRecording(f"{name}: the header declares 0 samples (zero-length signal)")
    described = len(lines) - 1
    if described != nsig:
        raise UnreadableRecording(
            f"{name}: the header declares {nsig} signals but describes {described}; the header is damaged")
    return record


def _check_fs_token(token: str, name: str) -> None:
    """``fs[/counter[(base)]]``: the frame rate must be a plausible number (Hz)."""
    m = _FS_TOKEN.match(token)
    if not m:
        raise UnreadableRecording(f"{name}: sampling rate {token!r} is not a number")
    try:
        fs = float(m.group(1))
    except ValueError:
        raise UnreadableRecording(f"{name}: sampling rate {m.group(1)!r} is not a number") from None
    check_fs(fs)


def _rdheader(directory: str, record: str, name: str) -> wfdb.Record:
    """Let wfdb parse the (pre-checked) header written to ``directory``."""
    try:
        return wfdb.rdheader(os.path.join(directory, record))
    except Exception as exc:  # wfdb raises many types on malformed headers
        raise UnreadableRecording(f"{name}: the WFDB header is malformed ({exc})") from exc


def _find_file(files: Mapping[str, bytes], wanted: str) -> str | None:
    """The uploaded name for ``wanted``: exact, else case-insensitive (Windows uploads)."""
    if wanted in files:
        return wanted
    lowered = {k.lower(): k for k in files}
    return lowered.get(wanted.lower())


def _frame_layout(header: wfdb.Record, name: str) -> tuple[dict[str, Fraction], dict[str, int]]:
    """Bits per frame and byte offset of each referenced signal file; refuses odd formats and names."""
    frame_bits: dict[str, Fraction] = {}
    offsets: dict[str, int] = {}
    for fname, fmt, spf, off in zip(header.file_name, header.fmt, header.samps_per_frame, header.byte_offset):
        if fmt not in FORMAT_BITS:
            raise UnreadableRecording(f"{name}: WFDB storage format {fmt} is not supported (use format 16 or 212)")
        safe_name(fname)
        if spf is not None and int(spf) < 1:
            raise UnreadableRecording(f"{name}: {spf} samples per frame is not valid; the header is damaged")
        frame_bits[fname] = frame_bits.get(fname, Fraction(0)) + FORMAT_BITS[fmt] * int(spf or 1)
        offsets.setdefault(fname, int(off or 0))
    return frame_bits, offsets


def _check_signal_files(header: wfdb.Record, files: Mapping[str, bytes], name: str) -> tuple[dict[str, str], int]:
    """Match referenced signal files to uploaded ones and check their sizes against the header.

    Returns ({name in header: uploaded name}, number of samples to read).
    """
    frame_bits, offsets = _frame_layout(header, name)
    uploaded: dict[str, str] = {}
    available: dict[str, int] = {}
    for fname, bits in frame_bits.items():
        found = _find_file(files, fname)
        if found is None:
            raise UnreadableRecording(f"the header refers to {fname}, which was not uploaded")
        uploaded[fname] = found
        available[fname] = int(max(0, len(files[found]) - offsets[fname]) * 8 // bits)
    shortest = min(available, key=available.get)
    have, declared = available[shortest], int(header.sig_len or 0)
    n = declared or have
    check_declared_shape(n, header.n_sig, float(header.fs))
    check_declared_shape(n, sum(int(s or 1) for s in header.samps_per_frame), float(header.fs))
    if have < declared:
        raise UnreadableRecording(
            f"{shortest} holds {describe_duration(have / header.fs)} of samples ({have}) but the header declares "
            f"{describe_duration(declared / header.fs)} ({declared} samples): the file is truncated")
    return uploaded, n


def _start_time(header: wfdb.Record) -> dt.datetime | None:
    """Header base date + time; None without a date (a time of day alone is not a start time)."""
    if header.base_date is None:
        return None
    return dt.datetime.combine(header.base_date, header.base_time or dt.time(0))


def _decode(directory: str, header: wfdb.Record, n: int, name: str) -> wfdb.Record:
    """Physical (float64) samples of the first ``n`` frames, decoded on the parsed ``header``.

    Missing samples come back as NaN.
    """
    try:
        channels = list(range(header.n_sig))
        if header.sig_len is None:
            header.sig_len = n
        header.check_read_inputs(0, n, channels, True, True, 64)
        header.e_d_signal = _rd_segment(
            file_name=header.file_name, dir_name=directory, pn_dir=None, fmt=header.fmt, n_sig=header.n_sig,
            sig_len=header.sig_len, byte_offset=header.byte_offset, samps_per_frame=header.samps_per_frame,
            skew=header.skew, init_value=header.init_value, sampfrom=0, sampto=n, channels=channels,
            ignore_skew=False, no_file=False, sig_data=None, return_res=64)
        header._arrange_fields(channels=channels, sampfrom=0, smooth_frames=True)
        header.dac(expanded=False, return_res=64, inplace=True)
        return header
    except Exception as exc:
        raise UnreadableRecording(f"{name}: the WFDB signal could not be decoded ({exc})") from exc


def _to_mv(rec: wfdb.Record, leads: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Scale each channel to mV; drop non-voltage channels (e.g. blood pressure) with a warning."""
    keep, factors, warnings = [], [], []
    for j, unit in enumerate(rec.units or [None] * len(leads)):
        factor = unit_to_mv(unit)
        if factor is None:
            warnings.append(f"{leads[j]}: unit {unit!r} is not a voltage; the channel was left out")
            continue
        keep.append(j)
        factors.append(factor)
    if not keep:
        raise UnreadableRecording("no ECG channel: no signal is in a voltage unit (mV, uV, V)")
    if len(keep) == len(leads) and all(f == 1.0 for f in factors):
        return rec.p_signal, leads, warnings  # the common case: no copy
    return rec.p_signal[:, keep] * np.asarray(factors), tuple(leads[j] for j in keep), warnings


def read_wfdb(files: Mapping[str, bytes], header_name: str) -> Recording:
    """Read the record whose header is ``files[header_name]``; other files are signal files or ignored."""
    text = _header_text(files[header_name], header_name)
    record = _precheck(text, header_name)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ecghub-wfdb-") as tmp:
        with open(os.path.join(tmp, record + ".hea"), "w", encoding="utf-8") as fh:
            fh.write(text)
        header = _rdheader(tmp, record, header_name)
        fs = check_fs(header.fs)
        uploaded, n = _check_signal_files(header, files, header_name)
        for ref, found in uploaded.items():
            if ref != found:
                warnings.append(f"the header refers to {ref}; the uploaded {found} was used")
            with open(os.path.join(tmp, ref), "wb") as fh:
                fh.write(files[found])
        multi_frame = any(int(s or 1) > 1 for s in header.samps_per_frame)
        rec = _decode(tmp, header, n, header_name)
    if multi_frame:
        warnings.append("some signals have several samples per frame; they were averaged to the frame rate")
    leads = normalise_leads(list(rec.sig_name or [f"ch{j + 1}" for j in range(rec.n_sig)]))
    signals, leads, unit_warnings = _to_mv(rec, leads)
    return make_recording(
        signals, fs, leads, "wfdb", start_time=_start_time(header),
        demographics=from_wfdb_comments(list(header.comments or [])), warnings=warnings + unit_warnings)
