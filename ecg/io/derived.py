"""Limb leads derived from I and II (Einthoven/Goldberger), for devices that store 8 leads.

Many electrocardiographs (GE MUSE exports, Welch Allyn, most SCP-ECG files)
store only the 8 independent leads I, II, V1-V6; III, aVR, aVL and aVF are
exact linear combinations: III = II - I, aVR = -(I + II)/2,
aVL = I - II/2, aVF = II - I/2. They are added (in standard order) with a
warning saying so, and only when none of the four is present.
"""

from __future__ import annotations

import numpy as np

DERIVED = ("III", "aVR", "aVL", "aVF")


def add_derived_limb_leads(signals: np.ndarray, leads: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """(signals, leads, warnings) with III, aVR, aVL, aVF computed from I and II when all four are missing."""
    if "I" not in leads or "II" not in leads or any(d in leads for d in DERIVED):
        return signals, leads, []
    i, ii = signals[:, leads.index("I")], signals[:, leads.index("II")]
    extra = np.stack([ii - i, -(i + ii) / 2.0, i - ii / 2.0, ii - i / 2.0], axis=1)
    at = leads.index("II") + 1 if leads.index("II") > leads.index("I") else len(leads)
    out = np.concatenate([signals[:, :at], extra, signals[:, at:]], axis=1)
    names = leads[:at] + DERIVED + leads[at:]
    note = ("leads III, aVR, aVL and aVF were derived from I and II "
            "(the device stored only the independent leads)")
    return out, names, [note]


_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def standard_order(signals: np.ndarray, leads: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Columns reordered so the standard 12 leads come first in their usual order, others after (file order)."""
    order = sorted(range(len(leads)), key=lambda j: (_ORDER.index(leads[j]) if leads[j] in _ORDER else len(_ORDER), j))
    if order == list(range(len(leads))):
        return signals, leads
    return signals[:, order], tuple(leads[j] for j in order)
