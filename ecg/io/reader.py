"""``read_recording``: one entry point for every accepted source and format.

Sources: a path (WFDB ``.hea``, WFDB record name without extension, zip,
EDF, CSV, DICOM, SCP-ECG, HL7 aECG / GE MUSE / Philips XML), raw ``bytes``
of one file, or a ``Mapping[str, bytes]`` upload of several files. The
format is always detected from content. Any failure is an
``UnreadableRecording`` with a technician-readable message; no other
exception escapes.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar, Union

from ecg.io import limits
from ecg.io.archive import ZipListing, list_zip, unzip
from ecg.io.csv_reader import read_csv
from ecg.io.detect import content_lines, detect_format, extension_warning, is_edf
from ecg.io.dicom_reader import inspect_dicom, read_dicom
from ecg.io.edf import Fetch, inspect_edf, inspect_edf_range, read_edf, read_edf_window
from ecg.io.ge_muse import read_ge_muse
from ecg.io.hl7_aecg import read_hl7_aecg
from ecg.io.info import RecordingInfo
from ecg.io.names import safe_name
from ecg.io.philips import read_philips
from ecg.io.scp_ecg import read_scp
from ecg.io.wfdb_reader import inspect_wfdb, inspect_wfdb_sizes, read_wfdb, read_wfdb_window
from ecg.types import Recording, UnreadableRecording

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Mapping[str, bytes]]
Result = TypeVar("Result", bound=Recording | RecordingInfo)



def _with_extension_check(rec: Result, kind: str, name: str | None) -> Result:
    """Prepend a warning when ``name``'s extension does not fit the detected ``kind``."""
    warning = extension_warning(kind, name)
    return dataclasses.replace(rec, warnings=(warning,) + rec.warnings) if warning else rec


def _kind(data: bytes, name: str) -> str | None:
    """Detected kind of ``data``, or None when it is not a recording file (e.g. an annotation file)."""
    try:
        return detect_format(data, name)
    except UnreadableRecording:
        return None


#: Single-file readers by detected kind (WFDB and zip are handled by ``_read_mapping``).
_SINGLE_READERS = {
    "edf": read_edf,
    "dicom": read_dicom,
    "scp_ecg": read_scp,
    "hl7_aecg": read_hl7_aecg,
    "ge_muse": read_ge_muse,
    "philips": read_philips,
}

#: Header-only inspection by detected kind: tags / header and byte sizes, no sample decoded.
_HEADER_INSPECTORS = {"dicom": inspect_dicom, "edf": inspect_edf}


def _read_single(data: bytes, name: str | None, fs: float | None, kind: str, inspect: bool) -> Recording | RecordingInfo:
    """Read (or with ``inspect``, describe) one single-file recording (EDF, CSV, DICOM, SCP-ECG, XML ECG).

    DICOM and EDF have a header-only inspection; the other formats are read in full to be described
    (bounded by the limits; not the formats of the busy upload path).
    """
    if inspect and kind in _HEADER_INSPECTORS:
        return _with_extension_check(_HEADER_INSPECTORS[kind](data, name), kind, name)
    rec = read_csv(data, name, fs=fs) if kind == "csv" else _SINGLE_READERS[kind](data, name)
    return _with_extension_check(RecordingInfo.of(rec) if inspect else rec, kind, name)


def _check_upload(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Validate an upload mapping: safe names, bytes content, file count and total size."""
    if not files:
        raise UnreadableRecording("no files were uploaded")
    if len(files) > limits.MAX_FILES:
        raise UnreadableRecording(f"{len(files)} files uploaded; at most {limits.MAX_FILES} are accepted")
    out: dict[str, bytes] = {}
    for name, content in files.items():
        safe_name(name)
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise UnreadableRecording(f"{name}: the upload content is not bytes")
        out[name] = bytes(content)
    total = sum(len(c) for c in out.values())
    if total > limits.MAX_UPLOAD_BYTES:
        raise UnreadableRecording(
            f"the upload is {total / 2**20:.0f} MiB; at most {limits.MAX_UPLOAD_BYTES / 2**20:.0f} MiB are accepted")
    return out


def _read_mapping(files: Mapping[str, bytes], fs: float | None, *, from_zip: bool = False,
                  inspect: bool = False) -> Recording | RecordingInfo:
    """Read a multi-file upload: a WFDB header wins; else one zip (unpacked), EDF or CSV."""
    files = _check_upload(files)
    kinds = {name: _kind(data, name) for name, data in files.items()}
    headers = [n for n, k in kinds.items() if k == "wfdb"]
    if len(headers) > 1:
        raise UnreadableRecording(
            f"several WFDB headers were uploaded ({', '.join(sorted(headers))}); upload one record at a time")
    if headers:
        rec = (inspect_wfdb if inspect else read_wfdb)(files, headers[0])
        return _with_extension_check(rec, "wfdb", headers[0])
    zips = [n for n, k in kinds.items() if k == "zip"]
    if zips and not from_zip and len(files) == 1:
        listing = list_zip(files[zips[0]]) if inspect else None
        header = _zip_wfdb_header(listing) if listing else None
        if listing and header:  # a zipped WFDB record is described from its directory: nothing inflated
            described = _with_extension_check(inspect_wfdb_sizes(listing.small[header], header, listing.sizes),
                                              "wfdb", header)
            return _with_extension_check(described, "zip", zips[0])
        if listing and (edf := _zip_edf(listing)):  # a zipped EDF is described from its header: nothing decoded
            member, fetch = edf
            info = _with_extension_check(inspect_edf_range(fetch, listing.sizes[member]), "edf", member)
            return _with_extension_check(info, "zip", zips[0])
        inner = _read_mapping(unzip(files[zips[0]]), fs, from_zip=True, inspect=inspect)
        return _with_extension_check(inner, "zip", zips[0])
    if zips:
        raise UnreadableRecording("upload either one zip archive or the individual files, not both")
    singles = [n for n, k in kinds.items() if k == "csv" or k in _SINGLE_READERS]
    if len(singles) > 1:
        raise UnreadableRecording(
            f"several recordings were uploaded ({', '.join(sorted(singles))}); upload one recording at a time")
    if singles:
        return _read_single(files[singles[0]], singles[0], fs, kinds[singles[0]], inspect)  # type: ignore[arg-type]  # singles: kind not None
    return _explain_nothing(files)


def _zip_wfdb_header(listing: ZipListing) -> str | None:
    """The one WFDB header among a zip's small members (None: none, or several)."""
    headers = [n for n, data in listing.small.items() if _kind(data, n) == "wfdb"]
    return headers[0] if len(headers) == 1 else None


def _zip_edf(listing: ZipListing) -> tuple[str, Fetch] | None:
    """The zip's only member and a reader of its byte ranges when it is an EDF file; else None."""
    if len(listing.sizes) != 1:
        return None
    member = next(iter(listing.sizes))
    fetch: Fetch = functools.partial(listing.read_range, member)
    return (member, fetch) if is_edf(fetch(0, 256)) else None


Window = tuple[Recording, RecordingInfo]


def _window(files: Mapping[str, bytes], start_s: float, duration_s: float) -> Window:
    """``read_window`` inside the error boundary."""
    files = _check_upload(files)
    name, data = next(iter(files.items()))
    if len(files) == 1 and _kind(data, name) == "zip":
        window = _zip_window(name, list_zip(data), start_s, duration_s)
    else:
        window = _files_window(files, start_s, duration_s)
    return window or _cut_whole_read(files, start_s, duration_s)


def _zip_window(zip_name: str, listing: ZipListing, start_s: float, duration_s: float) -> Window | None:
    """The window of a zipped WFDB record or EDF file, inflated up to the window only; None: other content."""
    if header := _zip_wfdb_header(listing):
        return read_wfdb_window(listing.small[header], header, listing.sizes, listing.read_range, start_s, duration_s)
    if edf := _zip_edf(listing):
        member, fetch = edf
        return _edf_window(fetch, listing.sizes[member], start_s, duration_s, [("edf", member), ("zip", zip_name)])
    return None


def _files_window(files: dict[str, bytes], start_s: float, duration_s: float) -> Window | None:
    """The window of an uploaded WFDB record or single EDF file, from byte ranges; None: other formats."""
    kinds = {n: _kind(data, n) for n, data in files.items()}
    headers = [n for n, k in kinds.items() if k == "wfdb"]
    if len(headers) == 1:
        return read_wfdb_window(files[headers[0]], headers[0], {n: len(d) for n, d in files.items()},
                                lambda n, at, size: files[n][at: at + size], start_s, duration_s)
    if list(kinds.values()) == ["edf"]:
        name, data = next(iter(files.items()))
        return _edf_window(lambda at, size: data[at: at + size], len(data), start_s, duration_s, [("edf", name)])
    return None


def _edf_window(fetch: Fetch, size: int, start_s: float, duration_s: float,
                names: list[tuple[str, str]]) -> Window:
    """An EDF window (only its data records decoded), with the extension checks of ``names`` (kind, name)."""
    rec, info = read_edf_window(fetch, size, start_s, duration_s)
    for kind, name in names:
        rec, info = _with_extension_check(rec, kind, name), _with_extension_check(info, kind, name)
    return rec, info


def _cut_whole_read(files: dict[str, bytes], start_s: float, duration_s: float) -> Window:
    """The other formats: read whole (bounded by their readers' limits), then cut to the window."""
    rec = _read_mapping(files, None)
    assert isinstance(rec, Recording)  # not inspecting: the samples were decoded
    a = min(rec.n_samples - 1, max(0, int(start_s * rec.fs)))
    b = max(a + 1, min(rec.n_samples, a + int(round(duration_s * rec.fs))))
    return dataclasses.replace(rec, signals=rec.signals[a:b].copy()), RecordingInfo.of(rec)


def _explain_nothing(files: dict[str, bytes]) -> Recording:
    """No readable recording among ``files``: raise the most useful reason."""
    if all(len(d) == 0 for d in files.values()):
        raise UnreadableRecording("empty file")
    broken_header = next((n for n, d in files.items() if n.lower().endswith(".hea") and d), None)
    if len(files) == 1:
        name, data = next(iter(files.items()))
        try:
            detect_format(data, name)
        except UnreadableRecording as exc:
            if broken_header is None or "not a recognised" not in str(exc):
                raise
    if broken_header is not None:
        raise UnreadableRecording(
            f"{broken_header} is not a valid WFDB header: its first line must read 'record nsig fs nsamp', "
            "followed by one line per signal")
    if any(n.lower().endswith(".dat") for n in files):
        raise UnreadableRecording("no WFDB header (.hea) among the uploaded files; upload the .hea with its .dat")
    raise UnreadableRecording("not a recognised ECG format (looked for WFDB, EDF, CSV, DICOM, SCP-ECG, "
                              "HL7 aECG, GE MUSE and Philips XML) in any uploaded file")


def _read_bytes(data: bytes, name: str | None, fs: float | None, inspect: bool = False) -> Recording | RecordingInfo:
    """Read one file given as bytes (``name`` only words warnings and errors)."""
    if len(data) > limits.MAX_UPLOAD_BYTES:
        raise UnreadableRecording(
            f"the file is {len(data) / 2**20:.0f} MiB; at most {limits.MAX_UPLOAD_BYTES / 2**20:.0f} MiB are accepted")
    kind = detect_format(data, name)
    if kind == "zip":
        return _read_mapping(unzip(data), fs, from_zip=True, inspect=inspect)
    if kind == "wfdb":
        return _read_mapping({safe_name(name) if name else "upload.hea": data}, fs, inspect=inspect)
    return _read_single(data, name, fs, kind, inspect)


def _read_file(path: Path) -> bytes:
    """Bytes of ``path`` after checking its size."""
    size = path.stat().st_size
    if size > limits.MAX_UPLOAD_BYTES:
        raise UnreadableRecording(
            f"{path.name} is {size / 2**20:.0f} MiB; at most {limits.MAX_UPLOAD_BYTES / 2**20:.0f} MiB are accepted")
    return path.read_bytes()


def _signal_file_names(header: bytes) -> list[str]:
    """File names on a WFDB header's signal lines (first token of each line after the record line)."""
    lines = content_lines(header.decode("utf-8", errors="replace"))
    return sorted({ln.split()[0] for ln in lines[1:]})


def _read_path(source: str | os.PathLike[str], fs: float | None, inspect: bool = False) -> Recording | RecordingInfo:
    """Read a path: a WFDB header (or record name, or .dat) with its sibling signal files, or one file."""
    path = Path(source)
    if not path.is_file() and path.with_name(path.name + ".hea").is_file():
        path = path.with_name(path.name + ".hea")  # a WFDB record name without extension
    if not path.is_file():
        raise UnreadableRecording(f"file not found: {path.name}")
    data = _read_file(path)
    kind = _kind(data, path.name)
    sibling_header = path.with_suffix(".hea")
    if kind is None and path.suffix.lower() != ".hea" and sibling_header.is_file():
        path, data = sibling_header, _read_file(sibling_header)  # e.g. "100.dat" given: read its record
        kind = _kind(data, path.name)
    if kind != "wfdb":
        return _read_bytes(data, path.name, fs, inspect)
    files = {path.name: data}
    for fname in _signal_file_names(data):
        sibling = path.parent / safe_name(fname)
        if sibling.is_file():
            files[fname] = _read_file(sibling)
    return _read_mapping(files, fs, inspect=inspect)


def read_recording(source: Source, *, fs: float | None = None) -> Recording:
    """Read an ECG recording from a path, raw bytes or a ``{file name: bytes}`` upload.

    ``fs`` (Hz) is only used for CSV files that do not state their rate.
    Raises ``UnreadableRecording`` (and nothing else) when the input cannot be read.
    """
    return _dispatch(source, fs, inspect=False)  # type: ignore[return-value]  # not inspecting: a Recording


def inspect_recording(source: Source, *, fs: float | None = None) -> RecordingInfo:
    """Check a recording and describe it (format, rate, leads, length) without decoding its samples
    where the format allows (WFDB: header + file sizes; DICOM: tags + sizes; EDF: header + file size). Refuses exactly what
    ``read_recording`` refuses on format, header and sizes; ``UnreadableRecording`` only."""
    return _dispatch(source, fs, inspect=True)  # type: ignore[return-value]  # inspecting: a RecordingInfo


def read_window(files: Mapping[str, bytes], start_s: float, duration_s: float) -> tuple[Recording, RecordingInfo]:
    """The samples in [start_s, start_s + duration_s) s of an upload, and the whole recording's description.

    A WFDB record (files or one zip) is decoded over the window only, from byte ranges of its
    signal files (a zip member is inflated up to the window, never held whole): a viewer's
    10 s of a 4 h 12-lead record costs kilobytes, not the 691 MB of the whole as float64.
    An EDF file is likewise decoded over the data records holding the window only.
    Other formats are read whole and cut (their readers' own limits bound them). The window
    is clamped to the recording; ``UnreadableRecording`` only.
    """
    try:
        return _window(files, start_s, duration_s)
    except UnreadableRecording:
        raise
    except Exception as exc:  # the boundary: nothing untyped may reach the API
        raise UnreadableRecording(f"the recording could not be read ({type(exc).__name__}: {exc})") from exc


def _dispatch(source: Source, fs: float | None, *, inspect: bool) -> Recording | RecordingInfo:
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return _read_bytes(bytes(source), None, fs, inspect)
        if isinstance(source, Mapping):
            return _read_mapping(source, fs, inspect=inspect)
        if isinstance(source, (str, os.PathLike)):
            return _read_path(source, fs, inspect)
        raise UnreadableRecording(f"cannot read a recording from a {type(source).__name__}")
    except UnreadableRecording:
        raise
    except Exception as exc:  # the boundary: nothing untyped may reach the API
        raise UnreadableRecording(f"the recording could not be read ({type(exc).__name__}: {exc})") from exc
