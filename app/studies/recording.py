"""``load_recording``: THE way to get a stored study's signal back from its original files.

Every reader of a stored recording (analysis job, report tracing, the reader's viewer)
goes through here, so the original bytes are always fetched from the blob store
verified against their sha256 and decoded by the same ``ecg.io`` path the upload was
checked with.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecg.io import RecordingInfo, read_recording, read_window
from ecg.types import Recording as Signal
from storage.blobs import BlobStore
from storage.models import Recording


def load_recording(blobs: BlobStore, source: Recording | Iterable[tuple[str, str]]) -> Signal:
    """The decoded signal of a stored recording (or of ``(file name, blob key)`` pairs).

    Raises ``storage.blobs.BlobError`` when a file is missing or corrupted and
    ``ecg.types.UnreadableRecording`` when the files cannot be decoded.
    """
    return read_recording(_fetch(blobs, source))


def load_window(blobs: BlobStore, source: Recording | Iterable[tuple[str, str]], start_s: float,
                duration_s: float) -> tuple[Signal, RecordingInfo]:
    """[start_s, start_s + duration_s) s of a stored recording, and the whole recording's description.

    A WFDB record or EDF file decodes only the window (``ecg.io.read_window``): what the viewer and the
    analysis of long recordings read. Same errors as ``load_recording``.
    """
    return read_window(_fetch(blobs, source), start_s, duration_s)


def _fetch(blobs: BlobStore, source: Recording | Iterable[tuple[str, str]]) -> dict[str, bytes]:
    pairs = [(f.name, f.blob_key) for f in source.files] if isinstance(source, Recording) else list(source)
    return {name: blobs.get(key) for name, key in pairs}
