"""``load_recording``: THE way to get a stored study's signal back from its original files.

Every reader of a stored recording (analysis job, report tracing, the reader's viewer)
goes through here, so the original bytes are always fetched from the blob store
verified against their sha256 and decoded by the same ``ecg.io`` path the upload was
checked with.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecg.io import read_recording
from ecg.types import Recording as Signal
from storage.blobs import BlobStore
from storage.models import Recording


def load_recording(blobs: BlobStore, source: Recording | Iterable[tuple[str, str]]) -> Signal:
    """The decoded signal of a stored recording (or of ``(file name, blob key)`` pairs).

    Raises ``storage.blobs.BlobError`` when a file is missing or corrupted and
    ``ecg.types.UnreadableRecording`` when the files cannot be decoded.
    """
    pairs = [(f.name, f.blob_key) for f in source.files] if isinstance(source, Recording) else list(source)
    return read_recording({name: blobs.get(key) for name, key in pairs})
