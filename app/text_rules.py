"""Text people type into the record (names, indications, report text): what may go in.

Refused, with the field and the character named: control characters (tab and
line breaks only where the field is multi-line), Unicode direction controls
(U+202A-U+202E, U+2066-U+2069: they reorder what is displayed and printed, so a
name could read differently from what is stored) and invisible characters
(zero-width space/joiners, word joiner, BOM: two names that look the same would
differ). Accepted text is NFC-normalised, so one name has one stored form.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_SINGLE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}{_BIDI}]")
_MULTI_LINE = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_INVISIBLE}{_BIDI}]")


def checked_text(value: str, *, multiline: bool = False) -> str:
    """``value`` in NFC; ValueError naming the first forbidden character (pydantic shows it per field)."""
    m = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if m:
        ch = m.group(0)
        kind = ("a direction-control" if ch in _BIDI else "an invisible" if ch in _INVISIBLE
                else "a control")
        raise ValueError(f"contains {kind} character (U+{ord(ch):04X}); type the text again without it")
    return unicodedata.normalize("NFC", value)
