"""Safe file names for uploads: a name is a bare file name, never a path."""

from __future__ import annotations

import re

from ecg.types import UnreadableRecording

_SAFE = re.compile(r"^[\w\-. ()+~#@,]+$")


def safe_name(name: str) -> str:
    """Return ``name`` if it is a plain file name; refuse paths, traversal and control characters."""
    if not isinstance(name, str) or not name:
        raise UnreadableRecording("an uploaded file has no name")
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or ":" in name:
        raise UnreadableRecording(f"unsafe file name {name!r}: file names must not contain paths or '..'")
    if len(name) > 255 or not _SAFE.match(name):
        raise UnreadableRecording(f"unsafe file name {name!r}: use letters, digits, '-', '_' and '.' only")
    return name
