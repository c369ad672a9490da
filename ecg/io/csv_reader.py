"""Read ECG samples from delimited text (CSV, TSV, semicolon or space separated).

Layout: optional ``#`` comment lines (``# fs=500``, ``# sampling rate: 500 Hz``,
``# units=uV``), a header row of lead names (a unit may follow a name:
``II (uV)``, ``V1 [mV]``), then one row per sample. A ``time`` column (s;
``time_ms`` in ms) gives fs from its spacing and is removed from the leads;
a ``sample``/``index`` column is dropped. Values are mV unless a unit says
otherwise. Empty or ``nan`` cells are missing samples (see
``ecg.io.signals``).

Parsing streams: the row count is bounded by counting newlines, the sample cap
is checked on that bound, ONE array is preallocated, and lines are handed to
numpy's parser a chunk at a time. No per-line object list is ever built, so a
file of millions of lines costs its array, not gigabytes of Python objects. The sampling rate comes from the file (comment or time
column) or else the caller's ``fs``; a file with neither is refused.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import warnings

import numpy as np
import numpy.typing as npt

from ecg.io import limits
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording, unit_to_mv
from ecg.types import Recording, UnreadableRecording

_FS_COMMENT = re.compile(
    r"\b(?:fs|sampling[ _-]?(?:rate|frequency)|sample[ _-]?rate|frequency)\s*[:=]?\s*([0-9.]+(?:e[+-]?\d+)?)\s*(k?hz)?",
    re.IGNORECASE)
_UNITS_COMMENT = re.compile(r"\bunits?\s*[:=]\s*([a-zµμ]+)", re.IGNORECASE)
_UNIT_SUFFIX = re.compile(r"^(.*?)\s*[\[(]\s*([a-zA-Zµμ]+)\s*[\])]\s*$")
_TIME_NAMES = {"time": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
               "time_ms": 1e-3, "ms": 1e-3, "timestamp": 1.0}
_INDEX_NAMES = {"sample", "samples", "index", "idx", "n", "sample_number"}
_MAX_TIME_JITTER = 0.01


def _encoding(data: bytes) -> str:
    """UTF-8 (BOM allowed) when the bytes are valid UTF-8, else Latin-1; checked without a decoded copy."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for at in range(0, len(data), 1 << 20):
            decoder.decode(data[at:at + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig"


def _line_breaks(data: bytes) -> int:
    """Line breaks under universal newlines (\\n, \\r\\n, \\r), counted on the bytes."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _delimiter(line: str) -> str | None:
    """The most frequent of , ; tab in ``line``; None means whitespace."""
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def _cells(line: str, delim: str | None) -> list[str]:
    """Split one line into stripped, unquoted cells."""
    if delim is None:
        return line.split()
    return [c.strip().strip('"').strip("'") for c in next(csv.reader([line], delimiter=delim))]


def _is_number(cell: str) -> bool:
    """True for a number or an empty cell (a missing sample)."""
    try:
        float(cell)
    except ValueError:
        return cell == ""
    return True


def _fs_from_comments(comments: list[str]) -> float | None:
    """Sampling rate (Hz) from a comment such as ``fs=500`` or ``sampling rate: 0.5 kHz``."""
    for c in comments:
        if m := _FS_COMMENT.search(c):
            value = float(m.group(1))
            return value * 1000 if (m.group(2) or "").lower() == "khz" else value
    return None


def _unit_factor(unit: str, where: str) -> float:
    """Factor to mV for a unit found in the file; refuses non-voltage units."""
    factor = unit_to_mv(unit)
    if factor is None:
        raise UnreadableRecording(f"CSV: unit {unit!r} ({where}) is not a voltage unit (uV, mV, V)")
    return factor


#: Lines handed to numpy's parser at a time: bounds the per-line objects alive at once.
_CHUNK_LINES = 8192

#: Comment lines kept (for ``fs=`` and ``units=``); a file of millions of comments is not a reason to grow.
_MAX_COMMENTS = 1000


def _head(fh: io.TextIOWrapper) -> tuple[list[str], tuple[int, str] | None, int]:
    """Comments before the first row, that row (line number, stripped text), and the stream position before it."""
    comments: list[str] = []
    number, pos = 0, fh.tell()
    while line := fh.readline():
        number += 1
        stripped = line.strip()
        if stripped.startswith("#"):
            if len(comments) < _MAX_COMMENTS:
                comments.append(stripped.lstrip("#").strip())
        elif stripped:
            return comments, (number, stripped), pos
        pos = fh.tell()
    return comments, None, pos


def _later_comments(data: bytes, encoding: str, already: int) -> list[str]:
    """Comment lines after the first row (e.g. a trailing ``# fs=500``), at most ``_MAX_COMMENTS`` in all."""
    out: list[str] = []
    for m in re.finditer(rb"^[ \t]*#([^\r\n]*)", data, re.MULTILINE):
        if already + len(out) >= _MAX_COMMENTS:
            break
        out.append(m.group(1).decode(encoding, errors="replace").strip())
    return out[already:]


def _slow_parse(rows: list[tuple[int, str]], delim: str | None, names: list[str]) -> np.ndarray:
    """Cell-by-cell parse with a precise error; empty and ``nan`` cells become NaN."""
    out = np.empty((len(rows), len(names)))
    for i, (number, line) in enumerate(rows):
        cells = _cells(line, delim)
        if len(cells) != len(names):
            raise UnreadableRecording(f"CSV line {number} has {len(cells)} values; the header has {len(names)} columns")
        for j, cell in enumerate(cells):
            try:
                out[i, j] = float(cell) if cell else np.nan
            except ValueError:
                raise UnreadableRecording(
                    f"CSV line {number}, column {names[j]!r}: {cell[:20]!r} is not a number") from None
    return out


def _parse_chunk(lines: list[str], first_number: int, delim: str | None, names: list[str]) -> np.ndarray:
    """One chunk of raw lines as float64 (rows, columns): numpy's C parser, exact messages on failure."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" for a chunk of blank lines
            values = np.loadtxt(lines, delimiter=delim, ndmin=2, dtype=np.float64, quotechar='"', comments="#")
        if values.shape[1] == len(names) or values.size == 0:
            return values
    except ValueError:
        pass
    rows = [(first_number + k, ln.strip()) for k, ln in enumerate(lines)
            if ln.strip() and not ln.lstrip().startswith("#")]
    return _slow_parse(rows, delim, names)


def _values(fh: io.TextIOWrapper, first_number: int, max_rows: int, delim: str | None, names: list[str]) -> np.ndarray:
    """Every data row from ``fh`` into ONE array preallocated for ``max_rows`` rows (an upper bound).

    The sample cap is checked on that bound before anything is allocated, and lines are parsed
    ``_CHUNK_LINES`` at a time, so a file of millions of lines never becomes millions of objects.
    """
    if max_rows * len(names) > limits.MAX_SAMPLE_VALUES:
        raise UnreadableRecording(
            f"the CSV holds up to {max_rows} rows x {len(names)} columns; at most "
            f"{limits.MAX_SAMPLE_VALUES} sample values are accepted")
    out = np.empty((max_rows, len(names)))
    filled, number = 0, first_number
    while lines := list(itertools.islice(fh, _CHUNK_LINES)):
        chunk = _parse_chunk(lines, number, delim, names)
        if chunk.size:
            out[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        number += len(lines)
    return out[:filled]


def _header(first: tuple[int, str], delim: str | None) -> tuple[list[str], bool, list[str]]:
    """Column names (from a header row, or ``1..n``), whether ``first`` is data, and warnings."""
    cells = _cells(first[1], delim)
    if all(_is_number(c) for c in cells):
        return [str(j + 1) for j in range(len(cells))], True, ["the CSV has no header row; leads are named by column number"]
    return [c or f"column {j + 1}" for j, c in enumerate(cells)], False, []


def _time_fs(time_col: np.ndarray, scale: float) -> float:
    """fs (Hz) from a regularly spaced time column (s after ``scale``)."""
    steps = np.diff(time_col * scale)
    if len(steps) == 0 or not np.all(np.isfinite(steps)):
        raise UnreadableRecording("CSV: the time column is too short or has missing values")
    step = float(np.median(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > _MAX_TIME_JITTER * step + 1e-9:
        raise UnreadableRecording("CSV: the time column is not evenly spaced; resample to a fixed rate")
    fs = 1.0 / step
    return float(round(fs)) if abs(fs - round(fs)) <= 1e-4 * fs else fs


def _split_columns(names: list[str], values: npt.NDArray[np.float64], comments: list[str]
                   ) -> tuple[list[str], npt.NDArray[np.float64], float | None, npt.NDArray[np.float64]]:

    """Separate time/index columns from leads; return (lead names, lead values, fs from time or None, factors)."""
    default_unit = None
    for c in comments:
        if m := _UNITS_COMMENT.search(c):
            default_unit = m.group(1)
    fs_time, leads, cols, factors = None, [], [], []
    for j, raw in enumerate(names):
        key = raw.strip().lower().replace(" ", "_")
        if key in _TIME_NAMES or key in ("time_(s)", "time_[s]", "time_(ms)", "time_[ms]"):
            fs_time = _time_fs(values[:, j], 1e-3 if "ms" in key else _TIME_NAMES.get(key, 1.0))
            continue
        if key in _INDEX_NAMES:
            continue
        name, unit = raw, default_unit
        if m := _UNIT_SUFFIX.match(raw):
            name, unit = m.group(1), m.group(2)
        factors.append(_unit_factor(unit, f"column {raw!r}") if unit else 1.0)
        leads.append(name)
        cols.append(j)
    if not cols:
        raise UnreadableRecording("the CSV holds no signal column")
    signals = values if cols == list(range(values.shape[1])) else values[:, cols]  # no copy in the usual case
    return leads, signals, fs_time, np.asarray(factors)


def _choose_fs(from_file: float | None, given: float | None, warnings: list[str]) -> float:
    """The file's own rate wins over the caller's (with a warning when they differ)."""
    if from_file is not None:
        if given is not None and abs(given - from_file) > 1e-6 * from_file:
            warnings.append(f"the CSV states {from_file:g} Hz; the {given:g} Hz given with the upload was ignored")
        return check_fs(from_file)
    if given is None:
        raise UnreadableRecording(
            "the CSV does not state its sampling rate: add a '# fs=500' line or a 'time' column (s), "
            "or give the sampling rate with the upload")
    return check_fs(given)


def read_csv(data: bytes, name: str | None = None, *, fs: float | None = None) -> Recording:
    """Read a delimited-text ECG; ``fs`` (Hz) is used only when the file does not state its rate."""
    encoding = _encoding(data)
    # Decoded a block at a time as lines are read: no second copy of the whole text.
    fh = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=None)
    comments, first, before_first = _head(fh)
    if first is None:
        raise UnreadableRecording("the CSV holds no samples (zero-length signal)")
    delim = _delimiter(first[1])
    names, first_is_data, warnings_ = _header(first, delim)
    if len(names) > limits.MAX_LEADS + 2:
        raise UnreadableRecording(f"the CSV has {len(names)} columns; at most {limits.MAX_LEADS} leads are accepted")
    if first_is_data:
        fh.seek(before_first)
    # Upper bound on data rows from the line breaks: no per-line object is built to know it.
    max_rows = _line_breaks(data) + 1 - (first[0] - 1 if first_is_data else first[0])
    values = _values(fh, first[0] if first_is_data else first[0] + 1, max_rows, delim, names)
    if len(values) == 0:
        raise UnreadableRecording("the CSV has a header row but no samples (zero-length signal)")
    comments += _later_comments(data, encoding, len(comments))
    leads, signals, fs_time, factors = _split_columns(names, values, comments)
    fs_value = _choose_fs(fs_time if fs_time is not None else _fs_from_comments(comments), fs, warnings_)
    check_declared_shape(signals.shape[0], signals.shape[1], fs_value)
    if np.any(factors != 1.0):
        signals *= factors  # in place: the array is ours
    return make_recording(signals, fs_value, normalise_leads(leads), "csv", warnings=warnings_)
