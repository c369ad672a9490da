"""The local blob store: an upload's files written, fsynced together and renamed into place."""

from __future__ import annotations

import hashlib
from pathlib import Path

from storage.blobs import LocalBlobStore


def test_put_many_stores_every_file_under_its_sha256(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    items = [b"header\n", bytes(range(256)) * 100, b"header\n"]  # a duplicate in one call is fine
    keys = store.put_many(items)
    assert keys == [hashlib.sha256(x).hexdigest() for x in items]
    for key, data in zip(keys, items):
        assert store.get(key) == data
    leftovers = [p for p in (tmp_path / "blobs").rglob(".tmp-*")]
    assert leftovers == [], leftovers
    # A retried upload writes nothing again: content addressing makes the write idempotent.
    stamp = {k: (tmp_path / "blobs" / k[:2] / k[2:4] / k).stat().st_mtime_ns for k in keys}
    assert store.put_many(items) == keys
    assert {k: (tmp_path / "blobs" / k[:2] / k[2:4] / k).stat().st_mtime_ns for k in keys} == stamp
    assert store.put(items[1]) == keys[1]
