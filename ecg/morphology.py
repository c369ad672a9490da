"""QRS morphology statements: bundle-branch and fascicular blocks, intraventricular delay,
pre-excitation, chamber hypertrophy, pathological Q waves and low voltage.

``morphology_findings(detail, age_days, sex)`` is the one entry point
``ecg.interpret`` calls. Not built yet: it makes no statement, and
``ecg.interpret`` still reports a wide QRS (WQRS) by duration alone.
"""

from __future__ import annotations

from ecg.measure import MeasureDetail
from ecg.types import Finding


def morphology_findings(d: MeasureDetail, age_days: int | None, sex: str | None) -> list[Finding]:
    """Every QRS-morphology statement for one recording (none yet; see module doc)."""
    return []
