"""Parse a WFDB header (``.hea``) by hand: record line, signal lines, comments.

Format: the WFDB header specification (PhysioNet, "header(5)": https://physionet.org/physiotools/wag/header-5.htm).
Defaults follow it and wfdb-python 4.x (which the tests compare against): fs 250 Hz,
ADC gain 200/mV when absent or 0, baseline = ADC zero when absent, units mV, initial value
= ADC zero. wfdb-python's own parser spends ~3 ms of pandas look-ups on a 12-lead header;
this one is plain string work, and nothing here allocates more than the header's text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ecg.io import limits
from ecg.io.detect import RECORD_LINE
from ecg.io.names import safe_name
from ecg.io.signals import check_declared_shape, check_fs
from ecg.types import UnreadableRecording

_FS_TOKEN = re.compile(r"^([-+0-9.eE]+)(?:/[-+0-9.eE]+(?:\([-+0-9.eE]+\))?)?$")
_FORMAT_TOKEN = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN_TOKEN = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\((-?\d+)\))?(?:/(\S*))?$")
_INT = re.compile(r"^-?\d+$")

DEFAULT_FS_HZ = 250.0
DEFAULT_GAIN_PER_MV = 200.0


@dataclass(frozen=True)
class SignalSpec:
    """One signal line: where its samples are and how to turn them into physical units."""

    file_name: str
    fmt: str
    samples_per_frame: int
    skew: int            # samples
    byte_offset: int     # bytes
    gain: float          # ADC units per physical unit
    baseline: int        # ADC units
    units: str
    adc_zero: int
    init_value: int      # first sample (difference format 8)
    description: str | None


@dataclass(frozen=True)
class WfdbHeader:
    """A parsed single-segment header."""

    record: str
    fs: float                 # frame rate (Hz)
    sig_len: int | None       # frames declared (None: read the whole file)
    base_time: dt.time | None
    base_date: dt.date | None
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...]

    @property
    def start_time(self) -> dt.datetime | None:
        """Base date + time; None without a date (a time of day alone is not a start time)."""
        if self.base_date is None:
            return None
        return dt.datetime.combine(self.base_date, self.base_time or dt.time(0))


def header_text(data: bytes, name: str) -> str:
    """Header bytes as text (UTF-8, else Latin-1); refuses absurd sizes."""
    if len(data) > limits.MAX_HEADER_BYTES:
        raise UnreadableRecording(f"{name}: the WFDB header is {len(data)} bytes, far larger than any real header")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_header(text: str, name: str) -> WfdbHeader:
    """Parse and check a header's text; every refusal names what is wrong."""
    lines, comments = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line.strip(" \t#"))
        elif line:
            lines.append(line)
    record, nsig, fs, sig_len, base_time, base_date = _record_line(lines[0] if lines else "", name)
    if len(lines) - 1 != nsig:
        raise UnreadableRecording(
            f"{name}: the header declares {nsig} signals but describes {len(lines) - 1}; the header is damaged")
    signals = tuple(_signal_line(line, name) for line in lines[1:])
    return WfdbHeader(record, fs, sig_len, base_time, base_date, signals, tuple(comments))


def _record_line(line: str, name: str) -> tuple[str, int, float, int | None, dt.time | None, dt.date | None]:
    """``name[/nseg] nsig [fs[/counter[(base)]] [nsamp [time [date]]]]``."""
    m = RECORD_LINE.match(line)
    if not m:
        raise UnreadableRecording(f"{name}: the first line is not a WFDB record line (name nsig fs nsamp)")
    if m.group("nseg") is not None:
        raise UnreadableRecording(f"{name}: multi-segment WFDB records are not supported; upload a single-segment record")
    record = m.group("name")
    if ".." in record or record.startswith(".") or len(record) > 100:
        raise UnreadableRecording(f"{name}: unsafe record name {record!r} in the header")
    nsig = int(m.group("nsig"))
    check_declared_shape(1, nsig, 1.0)
    tokens = line.split()
    fs = _fs(tokens[2], name) if len(tokens) > 2 else DEFAULT_FS_HZ
    sig_len = None
    if len(tokens) > 3:
        if not tokens[3].isdigit():
            raise UnreadableRecording(f"{name}: the number of samples {tokens[3]!r} is not a whole number")
        sig_len = int(tokens[3])
        if sig_len == 0:
            raise UnreadableRecording(f"{name}: the header declares 0 samples (zero-length signal)")
    base_time = _time(tokens[4]) if len(tokens) > 4 else None
    base_date = _date(tokens[5]) if len(tokens) > 5 else None
    return record, nsig, fs, sig_len, base_time, base_date


def _fs(token: str, name: str) -> float:
    """``fs[/counter[(base)]]``: the frame rate must be a plausible number (Hz)."""
    m = _FS_TOKEN.match(token)
    if not m:
        raise UnreadableRecording(f"{name}: sampling rate {token!r} is not a number")
    try:
        value = float(m.group(1))
    except ValueError:
        raise UnreadableRecording(f"{name}: sampling rate {m.group(1)!r} is not a number") from None
    return check_fs(value)


def _time(token: str) -> dt.time | None:
    """``HH:MM:SS[.fff]`` (or ``MM:SS``, ``SS``); None when it does not parse (the time is optional)."""
    fmt = {0: "%S", 1: "%M:%S", 2: "%H:%M:%S"}.get(token.count(":"))
    if fmt is None:
        return None
    try:
        return dt.datetime.strptime(token, fmt + (".%f" if "." in token else "")).time()
    except ValueError:
        return None


def _date(token: str) -> dt.date | None:
    """``DD/MM/YYYY``; None when it does not parse."""
    try:
        return dt.datetime.strptime(token, "%d/%m/%Y").date()
    except ValueError:
        return None


def _signal_line(line: str, name: str) -> SignalSpec:
    """``file format[xspf][:skew][+offset] [gain[(baseline)][/units] [res [zero [init [checksum [block [desc]]]]]]]``."""
    parts = line.split(None, 8)
    file_name = parts[0]
    if file_name == "~" or file_name.startswith("~"):
        raise UnreadableRecording(f"{name}: a signal without a file ('~') is not supported")
    try:
        safe_name(file_name)
    except UnreadableRecording as exc:
        raise UnreadableRecording(f"{name}: the header refers to a signal file with an {exc}") from None
    fm = _FORMAT_TOKEN.match(parts[1]) if len(parts) > 1 else None
    if not fm:
        raise UnreadableRecording(f"{name}: the storage format {parts[1] if len(parts) > 1 else ''!r} is not valid")
    spf = int(fm.group(2) or 1)
    if spf < 1:
        raise UnreadableRecording(f"{name}: {spf} samples per frame is not valid; the header is damaged")
    ints = [_int(parts[i], name) if len(parts) > i else None for i in (3, 4, 5)]  # res, zero, init
    adc_zero = ints[1] if ints[1] is not None else 0
    gain, baseline, units = DEFAULT_GAIN_PER_MV, adc_zero, "mV"
    if len(parts) > 2:
        gm = _GAIN_TOKEN.match(parts[2])
        if not gm:
            raise UnreadableRecording(f"{name}: the ADC gain {parts[2]!r} is not valid")
        gain = float(gm.group(1)) or DEFAULT_GAIN_PER_MV  # 0 means uncalibrated: the default gain
        baseline = int(gm.group(2)) if gm.group(2) is not None else adc_zero
        units = gm.group(3) or "mV"
    return SignalSpec(
        file_name=file_name, fmt=fm.group(1), samples_per_frame=spf, skew=int(fm.group(3) or 0),
        byte_offset=int(fm.group(4) or 0), gain=gain, baseline=baseline, units=units, adc_zero=adc_zero,
        init_value=ints[2] if ints[2] is not None else adc_zero,
        description=parts[8].strip() if len(parts) > 8 else None)


def _int(token: str, name: str) -> int:
    if not _INT.match(token):
        raise UnreadableRecording(f"{name}: {token!r} on a signal line is not a whole number")
    return int(token)
