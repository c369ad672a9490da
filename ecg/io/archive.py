"""Unpack an uploaded zip into ``{file name: bytes}``, refusing bombs and path tricks.

Checked from the central directory BEFORE extracting: member count, total
declared uncompressed size, its ratio to the compressed size, encryption, absolute paths and ``..``. Reading
is then bounded by each member's declared size (a member that inflates
beyond it is refused). Folders inside the zip are flattened (``rec/100.hea``
-> ``100.hea``); macOS ``__MACOSX/`` and dot-files are skipped; nested zips
are refused.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from ecg.io import limits
from ecg.io.detect import is_zip
from ecg.io.names import safe_name
from ecg.types import UnreadableRecording

_CHUNK = 1 << 20


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The bare file name of a member, None for entries to skip; refuses traversal and absolute paths."""
    raw = info.filename
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise UnreadableRecording(f"the zip contains an absolute path ({raw!r}); refused")
    parts = raw.replace("\\", "/").split("/")
    if any(p == ".." for p in parts):
        raise UnreadableRecording(f"the zip contains a path leaving its folder ({raw!r}); refused")
    base = parts[-1]
    if info.is_dir() or not base or parts[0] == "__MACOSX" or base.startswith("."):
        return None
    return safe_name(base)


def _open(data: bytes) -> zipfile.ZipFile:
    """Open the zip in memory; a damaged archive is an UnreadableRecording."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise UnreadableRecording(f"the zip archive is damaged or incomplete ({exc})") from exc


def _check_directory(infos: list[zipfile.ZipInfo]) -> None:
    """Member count, total declared size and encryption, from the central directory."""
    if len(infos) > limits.MAX_FILES:
        raise UnreadableRecording(
            f"the zip holds {len(infos)} entries; at most {limits.MAX_FILES} are accepted")
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_UPLOAD_BYTES:
        raise UnreadableRecording(
            f"the zip would unpack to {total / 2**20:.0f} MiB; at most "
            f"{limits.MAX_UPLOAD_BYTES / 2**20:.0f} MiB are accepted")
    packed = sum(i.compress_size for i in infos)
    if total > limits.ZIP_EXPANSION_FLOOR_BYTES and total > limits.MAX_ZIP_EXPANSION * max(packed, 1):
        raise UnreadableRecording(
            f"the zip would expand {total / max(packed, 1):.0f} times ({packed / 2**10:.0f} KiB to "
            f"{total / 2**20:.0f} MiB); at most {limits.MAX_ZIP_EXPANSION} times is accepted for an ECG: "
            "upload the files uncompressed")
    if any(i.flag_bits & 0x1 for i in infos):
        raise UnreadableRecording("the zip is password-protected; upload it without a password")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Extract one member, refusing it if it inflates beyond its declared size."""
    out = bytearray()
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            out += chunk
            if len(out) > info.file_size:
                raise UnreadableRecording(f"zip member {info.filename!r} inflates beyond its declared size")
    return bytes(out)


def _members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """``{bare file name: member}`` after the directory checks (count, sizes, ratio, names)."""
    infos = zf.infolist()
    _check_directory(infos)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = _member_name(info)
        if name is None:
            continue
        if name in members:
            raise UnreadableRecording(f"the zip holds two files named {name}; upload one record at a time")
        members[name] = info
    if not members:
        raise UnreadableRecording("the zip archive is empty")
    return members


def _extract(zf: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> bytes:
    """One member's content, refusing nested zips; extraction errors are UnreadableRecording."""
    try:
        content = _read_member(zf, info)
    except UnreadableRecording:
        raise
    except Exception as exc:  # CRC errors, unsupported compression, truncated data
        raise UnreadableRecording(f"zip member {info.filename!r} cannot be extracted ({exc})") from exc
    if is_zip(content):
        raise UnreadableRecording(f"the zip contains another zip ({name}); nested archives are not accepted")
    return content


def unzip(data: bytes) -> dict[str, bytes]:
    """Members of the zip ``data`` as ``{bare file name: content}``."""
    with _open(data) as zf:
        return {name: _extract(zf, name, info) for name, info in _members(zf).items()}


@dataclass(frozen=True)
class ZipListing:
    """A zip known from its directory: every member's size, the small members' content (headers),
    and byte ranges of the large ones on demand, so a 173 MB signal file is never held whole."""

    data: bytes
    sizes: dict[str, int]   # bare file name -> uncompressed bytes (declared, checked when read)
    small: dict[str, bytes]  # members of at most ``small_bytes``, extracted

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        """``length`` bytes of member ``name`` from ``offset``: inflated up to there, the rest discarded."""
        with _open(self.data) as zf:
            info = _members(zf)[name]
            try:
                with zf.open(info) as fh:
                    while offset > 0:  # inflate and drop, 1 MiB at a time (``seek`` reads 16 MiB chunks)
                        skipped = len(fh.read(min(offset, _CHUNK)))
                        if skipped == 0:
                            break
                        offset -= skipped
                    return fh.read(length)
            except Exception as exc:  # damaged deflate stream, truncated data
                raise UnreadableRecording(f"zip member {info.filename!r} cannot be extracted ({exc})") from exc


def list_zip(data: bytes, small_bytes: int = limits.MAX_HEADER_BYTES) -> ZipListing:
    """The zip ``data`` checked from its directory, with members up to ``small_bytes`` extracted."""
    with _open(data) as zf:
        members = _members(zf)
        small = {name: _extract(zf, name, info) for name, info in members.items() if info.file_size <= small_bytes}
    return ZipListing(data, {name: info.file_size for name, info in members.items()}, small)
