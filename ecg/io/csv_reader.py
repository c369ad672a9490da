"""Read ECG samples from delimited text (CSV, TSV, semicolon or space separated).

Layout: optional ``#`` comment lines (``# fs=500``, ``# sampling rate: 500 Hz``,
``# units=uV``), a header row of lead names (a unit may follow a name:
``II (uV)``, ``V1 [mV]``), then one row per sample. A ``time`` column (s;
``time_ms`` in ms) gives fs from its spacing and is removed from the leads;
a ``sample``/``index`` column is dropped. Values are mV unless a unit says
otherwise. Empty or ``nan`` cells are missing samples (see
``ecg.io.signals``). The sampling rate comes from the file (comment or time
column) or else the caller's ``fs``; a file with neither is refused.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

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


def _text(data: bytes) -> str:
    """Decode as UTF-8 (BOM allowed), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _delimiter(line: str) -> str | None:
    """The most frequent of , ; tab in ``line``; None means whitespace."""
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
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


def _split_rows(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    """Comment texts, and (line number, text) of the other non-empty lines."""
    comments, rows = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
        elif stripped:
            rows.append((number, stripped))
    return comments, rows


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


def _values(rows: list[tuple[int, str]], delim: str | None, names: list[str]) -> np.ndarray:
    """All cells as float64 (samples, columns): numpy fast path, exact error messages otherwise."""
    if len(rows) * len(names) > limits.MAX_SAMPLE_VALUES:
        raise UnreadableRecording(
            f"the CSV holds {len(rows)} rows x {len(names)} columns; at most "
            f"{limits.MAX_SAMPLE_VALUES} sample values are accepted")
    body = "\n".join(line for _, line in rows)
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=delim, ndmin=2, dtype=np.float64, quotechar='"')
        if values.shape[1] == len(names):
            return values
    except ValueError:
        pass
    return _slow_parse(rows, delim, names)


def _header(rows: list[tuple[int, str]], delim: str | None) -> tuple[list[str], list[tuple[int, str]], list[str]]:
    """Column names (from a header row, or ``1..n``), the data rows, and warnings."""
    first = _cells(rows[0][1], delim)
    if all(_is_number(c) for c in first):
        return [str(j + 1) for j in range(len(first))], rows, ["the CSV has no header row; leads are named by column number"]
    if len(rows) < 2:
        raise UnreadableRecording("the CSV has a header row but no samples (zero-length signal)")
    return [c or f"column {j + 1}" for j, c in enumerate(first)], rows[1:], []


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


def _split_columns(names: list[str], values: np.ndarray, comments: list[str]):
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
    return leads, values[:, cols], fs_time, np.asarray(factors)


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
    comments, rows = _split_rows(_text(data))
    if not rows:
        raise UnreadableRecording("the CSV holds no samples (zero-length signal)")
    delim = _delimiter(rows[0][1])
    names, rows, warnings = _header(rows, delim)
    if len(names) > limits.MAX_LEADS + 2:
        raise UnreadableRecording(f"the CSV has {len(names)} columns; at most {limits.MAX_LEADS} leads are accepted")
    values = _values(rows, delim, names)
    leads, signals, fs_time, factors = _split_columns(names, values, comments)
    fs_value = _choose_fs(fs_time if fs_time is not None else _fs_from_comments(comments), fs, warnings)
    check_declared_shape(signals.shape[0], signals.shape[1], fs_value)
    return make_recording(signals * factors, fs_value, normalise_leads(leads), "csv", warnings=warnings)
