"""Blob storage for original uploaded files, keyed by the sha256 of their bytes.

Content addressing makes writes idempotent (a retried upload writes the same
key) and lets every read be verified. A write returns only after the bytes are
on disk (file and directory fsynced), so an acknowledged upload survives a
power cut.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """The blob store could not store or return a blob."""


class BlobNotFound(BlobError):
    """No blob under this key."""


class BlobCorrupted(BlobError):
    """The stored bytes do not hash to their key."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    """What the service needs from a blob backend (local folder now, S3 later)."""

    def put(self, data: bytes) -> str: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def check(self) -> None: ...


class LocalBlobStore:
    """Blobs as files under ``root/ab/cd/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise BlobNotFound(f"invalid blob key {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its key (sha256 hex)."""
        key = sha256_hex(data)
        path = self._path(key)
        if path.exists() and path.stat().st_size == len(data):
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return key

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``, verified against the key."""
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        if sha256_hex(data) != key:
            raise BlobCorrupted(f"blob {key} does not match its checksum")
        return data

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def check(self) -> None:
        """Raise ``BlobError`` unless the store is writable (readiness probe)."""
        if not os.access(self.root, os.W_OK):
            raise BlobError(f"blob folder {self.root} is not writable")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
