"""Reading-queue priority from the findings: "stat", "urgent" or "routine".

Rules (in order; documented for the service and the cardiologists):

1. stat: any finding of severity "critical" (critical rate, pause > 3 s,
   QTc > 500 ms, suspected ST-elevation injury), or the clinic marked the
   request "stat".
2. urgent: the clinic marked it "urgent"; or any abnormal finding in an infant
   (age < 365 days: limited reserve, congenital disease often first shows
   here); or an abnormal finding whose code is in ``URGENT_CODES`` at any age
   (atrial fibrillation/flutter, prolonged QTc, pauses, ventricular ectopy,
   undetermined rhythm: arrhythmias a child's cardiologist wants to see the
   same day; ST elevation in a child without reciprocal depression, reported
   as abnormal rather than critical: usually early repolarisation, but
   pericarditis or myocarditis must be seen the same day).
3. routine: everything else, including unreadable recordings (``POOR_QUALITY``
   is a technical finding: the clinic is told at upload to re-record; it does
   not raise the priority by itself).

Unknown age never makes a recording urgent by the infant rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecg.criteria import INFANT_DAYS
from ecg.types import Finding, Priority

URGENT_CODES = frozenset({"AFIB", "AFLT", "LQTC", "PAUSE", "PVC", "RHYTHM_UNDET", "STE"})
TECHNICAL_CODES = frozenset({"POOR_QUALITY"})
CLINIC_URGENCIES = ("stat", "urgent", "routine")


def triage(findings: Iterable[Finding], *, clinic_urgency: str | None = None,
           age_days: int | None = None) -> Priority:
    """Priority of a recording for the cardiologists' reading queue (see module doc)."""
    if clinic_urgency is not None and clinic_urgency not in CLINIC_URGENCIES:
        raise ValueError(f"clinic_urgency must be one of {CLINIC_URGENCIES}, got {clinic_urgency!r}")
    clinical = [f for f in findings if f.code not in TECHNICAL_CODES]
    if clinic_urgency == "stat" or any(f.severity == "critical" for f in clinical):
        return "stat"
    abnormal = [f for f in clinical if f.severity == "abnormal"]
    if clinic_urgency == "urgent":
        return "urgent"
    if abnormal and age_days is not None and age_days < INFANT_DAYS:
        return "urgent"
    if any(f.code in URGENT_CODES for f in abnormal):
        return "urgent"
    return "routine"
