"""Reading-queue priority from the findings: "stat", "urgent" or "routine".

The critical-value list (危急值) is data, with its citations and its
adaptation for children: ``ecg/data/critical_values.json``. Rules, in order:

1. stat: the clinic marked the request "stat"; or a finding whose code is on
   the critical-value list (``stat_codes``) AND that its stage made
   "critical" (the stage applies the numeric limit: rate by age, pause > 3 s,
   QTc > 500 ms, a STEMI pattern, complete or high-grade AV block, AF /
   flutter / SVT at a dangerous rate for the age). A "critical" finding whose
   code is not on the list is read as urgent: only the list makes a study stat.
2. urgent: the clinic marked it "urgent"; or any abnormal finding in an infant
   (``infant_days``); or an abnormal finding whose code is in ``urgent_codes``.
3. routine: everything else, including a normal ECG and unreadable recordings
   (``POOR_QUALITY`` is a technical finding: the clinic is told at upload to
   re-record; it does not raise the priority by itself).

Unknown age never makes a recording urgent by the infant rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ecg import criteria as C
from ecg.types import Finding, Priority

TECHNICAL_CODES = frozenset({"POOR_QUALITY"})
CLINIC_URGENCIES = ("stat", "urgent", "routine")


@lru_cache(maxsize=1)
def critical_values() -> dict[str, Any]:
    """The critical-value table (``ecg/data/critical_values.json``)."""
    return C.load_table("critical_values")


def stat_codes() -> frozenset[str]:
    """Codes that may make a study stat (when their stage called them critical)."""
    return frozenset(critical_values()["stat_codes"])


def urgent_codes() -> frozenset[str]:
    """Codes whose abnormal finding makes a study urgent at any age."""
    return frozenset(critical_values()["urgent_codes"])


def is_critical_value(f: Finding) -> bool:
    """A finding that is a critical value (危急值): listed code, called critical by its stage."""
    return f.severity == "critical" and f.code in stat_codes()


def triage(findings: Iterable[Finding], *, clinic_urgency: str | None = None,
           age_days: int | None = None) -> Priority:
    """Priority of a recording for the cardiologists' reading queue (see module doc)."""
    if clinic_urgency is not None and clinic_urgency not in CLINIC_URGENCIES:
        raise ValueError(f"clinic_urgency must be one of {CLINIC_URGENCIES}, got {clinic_urgency!r}")
    clinical = [f for f in findings if f.code not in TECHNICAL_CODES]
    if clinic_urgency == "stat" or any(is_critical_value(f) for f in clinical):
        return "stat"
    abnormal = [f for f in clinical if f.severity != "normal"]
    if clinic_urgency == "urgent":
        return "urgent"
    if abnormal and age_days is not None and age_days < critical_values()["infant_days"]:
        return "urgent"
    if any(f.code in urgent_codes() or f.severity == "critical" for f in abnormal):
        return "urgent"
    return "routine"
