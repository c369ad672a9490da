"""Typed results of the ECG pipeline.

Every stage returns frozen dataclasses so that callers (the service, the CLI,
benchmarks) never depend on dict-of-strings conventions. Units are part of the
field names: ``_ms`` milliseconds, ``_mv`` millivolts, ``_bpm`` beats per
minute, ``_deg`` degrees, ``fs`` in Hz, sample indices at the recording's fs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Verdict = Literal["good", "acceptable", "unreadable"]
Severity = Literal["normal", "abnormal", "critical"]
Priority = Literal["stat", "urgent", "routine"]
Sex = Literal["M", "F", "U"]


class UnreadableRecording(ValueError):
    """The input cannot be read as an ECG recording.

    The message is written for a clinic technician ("the .dat file is shorter
    than its header says"), never a stack trace.
    """


@dataclass(frozen=True)
class Demographics:
    """Patient data found inside the file; offered to the upload, never trusted over it."""

    patient_id: str | None = None
    age_days: int | None = None
    sex: Sex | None = None
    birth_date: dt.date | None = None


@dataclass(frozen=True, eq=False)
class Recording:
    """A normalised recording: ``signals`` in mV, shape (samples, leads), float64."""

    signals: npt.NDArray[np.float64]
    fs: float
    leads: tuple[str, ...]
    format: str
    start_time: dt.datetime | None = None
    demographics: Demographics = field(default_factory=Demographics)
    warnings: tuple[str, ...] = ()

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead(self, name: str) -> npt.NDArray[np.float64]:
        """One lead's samples (mV) by its standard name."""
        return self.signals[:, self.leads.index(name)]


QualityCode = Literal["lead_off", "clipping", "mains", "muscle", "baseline_wander", "artefact",
                      "implausible_amplitude", "too_short", "no_usable_lead", "too_many_leads_unreadable",
                      "long_recording"]


@dataclass(frozen=True)
class QualityIssue:
    """One quality problem: a stable machine ``code`` (for translation), its values, and the English text.

    ``lead`` is None for whole-record issues. ``params`` holds plain JSON values
    the text was built from, by code (absent keys: not applicable):

    * ``extent_pct`` (int, % of the record; absent when the problem is nearly
      everywhere): ``artefact``, ``mains``, ``muscle``, ``baseline_wander``;
    * ``spans`` (list of {``start_s``, ``end_s``}, s from the record start, at
      most three) and ``more_spans`` (int): ``lead_off`` when partial;
    * ``hz`` (Hz) and ``mv`` (mV, line amplitude): ``mains``; ``mv`` (mV, median
      1 s peak-to-peak): ``implausible_amplitude``;
    * ``duration_s`` and ``min_s`` (s): ``too_short`` (whole record);
    * ``n_bad``, ``n_leads`` and ``leads`` (names): ``too_many_leads_unreadable``;
    * ``analysed_s`` and ``duration_s`` (s): ``long_recording`` (only the start was interpreted).

    ``text`` is the technician-facing sentence, identical to the matching entry
    of ``reasons``.
    """

    code: QualityCode
    lead: str | None
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class LeadQuality:
    """Quality of one lead; ``reasons`` are short technician-facing sentences, ``issues`` the same as codes."""

    lead: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    issues: tuple[QualityIssue, ...] = ()


@dataclass(frozen=True)
class Quality:
    """Overall verdict plus per-lead detail; ``issues[i]`` is ``reasons[i]`` as a code (when set)."""

    verdict: Verdict
    leads: tuple[LeadQuality, ...]
    reasons: tuple[str, ...] = ()
    issues: tuple[QualityIssue, ...] = ()


@dataclass(frozen=True)
class Measurements:
    """Global measurements over all leads (IEC 60601-2-25 style).

    A value is ``None`` when it could not be measured; ``missing`` then maps the
    field name to the reason (never a guess).
    """

    heart_rate_bpm: float | None = None
    rr_ms: float | None = None
    p_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_bazett_ms: float | None = None
    qtc_fridericia_ms: float | None = None
    p_axis_deg: float | None = None
    qrs_axis_deg: float | None = None
    t_axis_deg: float | None = None
    missing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A machine statement: lexicon code, human text, severity and the evidence for it.

    ``text``/``evidence`` are English; ``text_zh``/``evidence_zh`` the same in Chinese
    (``ecg.lexicon.finding`` fills both; empty in analyses stored before they existed).
    """

    code: str
    text: str
    severity: Severity
    evidence: str = ""
    text_zh: str = ""
    evidence_zh: str = ""


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything the pipeline says about one recording."""

    pipeline_version: str
    fs: float
    quality: Quality
    r_peaks: np.ndarray
    measurements: Measurements
    findings: tuple[Finding, ...]
    priority: Priority
