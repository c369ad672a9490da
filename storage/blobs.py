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

    def __hash__(self) -> int: ...  # hashable: per-process caches key on the store

    def put(self, data: bytes) -> str: ...

    def put_many(self, items: list[bytes]) -> list[str]: ...

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
        return self.put_many([data])[0]

    def put_many(self, items: list[bytes]) -> list[str]:
        """Store all of ``items`` durably, fsynced together; returns their keys in order.

        Every file is written first, then all are fsynced and renamed into place, then each
        folder touched is fsynced once: the flushes of one upload's files follow each other
        without a write in between, and the call returns only when all of them are durable.
        """
        keys, written, folders = [], [], set()
        try:
            for data in items:
                key = sha256_hex(data)
                keys.append(key)
                path = self._path(key)
                if path.exists() and path.stat().st_size == len(data):
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                written.append((tmp, path))
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                folders.add(path.parent)
            for tmp, _path in written:
                _fsync(tmp)
            for tmp, path in written:
                os.replace(tmp, path)
        except BaseException:
            for tmp, _path in written:
                Path(tmp).unlink(missing_ok=True)
            raise
        for folder in folders:
            _fsync(folder)
        return keys

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


class S3BlobStore:
    """Blobs as objects ``<prefix><sha256>`` in an S3-compatible bucket (MinIO, cloud S3).

    A write is acknowledged only when the store confirms it and the checksum it
    computed (SHA-256, sent with the request and verified by the server) matches.
    """

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, prefix: str = "blobs/",
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def _key(self, key: str) -> str:
        if not _KEY_RE.match(key):
            raise BlobNotFound(f"invalid blob key {key!r}")
        return self.prefix + key

    def put(self, data: bytes) -> str:
        import base64

        from botocore.exceptions import BotoCoreError, ClientError

        key = sha256_hex(data)
        checksum = base64.b64encode(bytes.fromhex(key)).decode()
        try:
            resp = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                          ChecksumSHA256=checksum)
        except (BotoCoreError, ClientError) as exc:
            raise BlobError(f"object store refused the write: {exc}") from exc
        if resp.get("ChecksumSHA256") not in (None, checksum):
            raise BlobCorrupted(f"object store checksum mismatch for {key}")
        return key

    def put_many(self, items: list[bytes]) -> list[str]:
        """Store all of ``items``; each write is confirmed by the store (checksummed) before returning."""
        return [self.put(data) for data in items]

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobNotFound(key) from exc
            raise BlobError(f"object store read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobError(f"object store read failed: {exc}") from exc
        if sha256_hex(data) != key:
            raise BlobCorrupted(f"blob {key} does not match its checksum")
        return data

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise BlobError(f"object store bucket {self.bucket} not reachable: {exc}") from exc


def _fsync(path: str | Path) -> None:
    """Flush a file's data, or a folder's entries (a new file's name), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
