"""Orchestrator: quality -> beats -> filtering -> measurement -> interpretation -> triage.

Filtering is its own stage: the diagnostic-band signal (``measurement_filter``:
0.5 Hz high-pass, mains fitted outside the QRS and subtracted, 150 Hz
low-pass) is made once, after beat detection (the mains fit needs the QRS
positions), and measurement, rhythm and morphology all read that one array
(``MeasureDetail.signals``).

``analyze_recording(recording)`` is the one call the service and the CLI use.
Leads judged unreadable by ``assess_quality`` are left out of beat detection
and measurement (their absence shows in ``missing`` when, e.g., the axes need
them). An unreadable recording still gives an Analysis: no beats, every
measurement missing with the quality reasons, one technical finding
``POOR_QUALITY`` and priority "routine" (the clinic is asked at upload to
re-record; see ``ecg.triage``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ecg.beats import detect_r_peaks
from ecg.criteria import DEFAULT_RATE_TABLE
from ecg.interpret import interpret
from ecg.measure import MeasureDetail, measure_detail, measurement_filter, no_measurements
from ecg.quality import assess_quality
from ecg.triage import triage
from ecg.lexicon import finding
from ecg.types import Analysis, Quality, QualityIssue, Recording
from ecg.wording import quality_text
from ecg.version import PIPELINE_VERSION


@dataclass(frozen=True, eq=False)
class AnalysisDetail:
    """The Analysis plus the measurement detail (median beats, fiducials) for viewers/benchmarks."""

    analysis: Analysis
    detail: MeasureDetail | None
    leads_used: tuple[str, ...]


MAX_ANALYSED_VALUES = 12 * 500 * 600  # samples x leads: 10 min of a 12-lead ECG at 500 Hz (29 MB as float64)


def analysed_samples(fs: float, n_leads: int) -> int:
    """How many samples from the start are interpreted: ``MAX_ANALYSED_VALUES`` over the leads
    (10 min of 12 leads at 500 Hz; 83 min of a 2-lead 360 Hz Holter-style record)."""
    return int(MAX_ANALYSED_VALUES // max(n_leads, 1))


def _note_long(quality: Quality, analysed_s: float, duration_s: float) -> Quality:
    """The quality verdict with a whole-record note that only the first ``analysed_s`` were interpreted.

    The analysis' memory and time grow with samples x leads (a 2 h 12-lead file took
    3.3 GiB and 24 s), so they are bounded by ``MAX_ANALYSED_VALUES``; the cardiologist
    still sees the whole recording.
    """
    text = (f"only the first {analysed_s:.0f} s of this {duration_s:.0f} s recording were interpreted "
            f"automatically; the cardiologist reads the whole recording")
    issue = QualityIssue("long_recording", None, {"analysed_s": round(analysed_s, 1),
                                                  "duration_s": round(duration_s, 1)}, text)
    return replace(quality, reasons=quality.reasons + (text,), issues=quality.issues + (issue,))


def _unreadable(recording: Recording, quality: Quality) -> AnalysisDetail:
    why = quality_text(quality.issues, quality.reasons)
    m = no_measurements(f"recording unreadable: {why.en}")
    findings = (finding("POOR_QUALITY", why),)
    a = Analysis(PIPELINE_VERSION, float(recording.fs), quality, np.zeros(0, dtype=np.int64), m,
                 findings, triage(findings))
    return AnalysisDetail(a, None, ())


def analyze_detail(recording: Recording, *, age_days: int | None = None, sex: str | None = None,
                   mains_hz: float = 50.0, rate_table: str = DEFAULT_RATE_TABLE,
                   clinic_urgency: str | None = None, full_duration_s: float | None = None) -> AnalysisDetail:
    """``analyze_recording`` that also returns the measurement detail."""
    demo = recording.demographics
    age_days = demo.age_days if age_days is None else age_days
    sex = demo.sex if sex is None else sex
    fs = float(recording.fs)
    raw = np.asarray(recording.signals)
    n = analysed_samples(fs, 1 if raw.ndim == 1 else raw.shape[1])
    signals = np.nan_to_num(np.asarray(raw[:n], dtype=np.float64))  # slice before the float64 copy
    if signals.ndim == 1:
        signals = signals[:, None]
    quality = assess_quality(signals, fs, recording.leads)
    whole_s = max(len(raw) / fs, full_duration_s or 0.0)
    if whole_s > len(signals) / fs:
        quality = _note_long(quality, len(signals) / fs, whole_s)
    usable = [i for i, lq in enumerate(quality.leads) if lq.verdict != "unreadable"]
    if quality.verdict == "unreadable" or not usable:
        return _unreadable(recording, quality)
    x = signals[:, usable]
    leads = tuple(recording.leads[i] for i in usable)
    r = detect_r_peaks(x, fs)
    filtered = measurement_filter(x, fs, r, mains_hz)  # the one diagnostic-band signal every later stage reads
    detail = measure_detail(filtered, fs, leads, r, prefiltered=True)
    findings = interpret(detail, age_days=age_days, sex=sex, rate_table=rate_table, raw=x)
    priority = triage(findings, clinic_urgency=clinic_urgency, age_days=age_days)
    a = Analysis(PIPELINE_VERSION, fs, quality, np.asarray(r, dtype=np.int64), detail.measurements,
                 findings, priority)
    return AnalysisDetail(a, detail, leads)


def analyze_recording(recording: Recording, *, age_days: int | None = None, sex: str | None = None,
                      mains_hz: float = 50.0, rate_table: str = DEFAULT_RATE_TABLE,
                      clinic_urgency: str | None = None, full_duration_s: float | None = None) -> Analysis:
    """Full analysis of one recording. Age/sex default to the file's demographics.

    ``rate_table``: sinus brady/tachycardia criteria by age (``ecg.criteria``;
    default the Chinese pediatric table; "adult", "aha_pals" or a JSON path).
    ``clinic_urgency`` (stat/urgent/routine, as the clinic asked) takes part in the
    priority (``ecg.triage``), which is decided here once. ``full_duration_s``: when ``recording``
    is only the start of a longer one (``ecg.io.read_window`` of ``analysed_samples``), the whole
    recording's duration (s), so the verdict still says that only the start was interpreted.
    """
    return analyze_detail(recording, age_days=age_days, sex=sex, mains_hz=mains_hz, rate_table=rate_table,
                          clinic_urgency=clinic_urgency, full_duration_s=full_duration_s).analysis
