"""Lead names: map the spellings found in files to the standard names.

Standard names are I, II, III, aVR, aVL, aVF, V1..V6 (and V7..V9, V3R..V6R,
Frank X, Y, Z). Matching ignores case, spaces, dashes and a leading
"lead"/"ECG" prefix, so ``ii``, ``Lead II``, ``ECG-II``, ``AVR``, ``v1`` all
map. MIT-BIH's modified limb leads (``MLII``, ``MLI``, ``MLIII``) are kept as
they are: they come from chest-placed electrodes (Holter) and are NOT
interchangeable with the standard limb leads for axis or amplitude criteria.
Unknown names are kept unchanged (stripped); duplicates get a ``#2`` suffix.
"""

from __future__ import annotations

import re

_STANDARD = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_EXTRA = ("V7", "V8", "V9", "V3R", "V4R", "V5R", "V6R", "MLI", "MLII", "MLIII", "X", "Y", "Z")
_BY_KEY = {name.upper(): name for name in _STANDARD + _EXTRA}
_BY_KEY.update({"VX": "X", "VY": "Y", "VZ": "Z", "D1": "I", "D2": "II", "D3": "III"})
_PREFIX = re.compile(r"^(LEAD|ECG|EKG)(?=.)")


def _key(name: str) -> str:
    """Comparison key: upper case, no separators, no ``LEAD``/``ECG`` prefix."""
    key = re.sub(r"[\s_\-.:]+", "", name).upper()
    return _PREFIX.sub("", key)


def normalise_lead(name: str) -> str:
    """Standard spelling of one lead name; unknown names are returned stripped."""
    key = _key(name)
    if key in _BY_KEY:
        return _BY_KEY[key]
    stripped = name.strip()
    return stripped if stripped else "?"


def normalise_leads(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Normalise all names; make duplicates unique (``V1``, ``V1#2``) so lookups stay unambiguous."""
    out: list[str] = []
    for raw in names:
        name = normalise_lead(str(raw))
        candidate, n = name, 2
        while candidate in out:
            candidate, n = f"{name}#{n}", n + 1
        out.append(candidate)
    return tuple(out)


def is_known_lead(name: str) -> bool:
    """True when ``name`` is a recognised spelling of a standard lead."""
    return _key(name) in _BY_KEY
