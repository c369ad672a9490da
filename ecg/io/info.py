"""``RecordingInfo``: what a recording is (format, rate, leads, length), known without its samples.

The upload API needs this much to accept or refuse a file and to describe the study; the
samples are decoded once, later, by the analysis worker. ``inspect_recording`` (in
``ecg.io.reader``) produces it from headers for WFDB, DICOM and EDF (sizes checked, nothing
decoded), and from a full read for the other formats.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecg.types import Demographics, Recording


@dataclass(frozen=True)
class RecordingInfo:
    """A recording's description; the same fields as ``Recording`` without ``signals``."""

    format: str
    fs: float                 # Hz
    leads: tuple[str, ...]
    n_samples: int            # samples per lead
    start_time: dt.datetime | None = None
    demographics: Demographics = field(default_factory=Demographics)
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    @classmethod
    def of(cls, rec: Recording) -> RecordingInfo:
        """The description of a recording already read."""
        return cls(format=rec.format, fs=rec.fs, leads=rec.leads, n_samples=rec.n_samples,
                   start_time=rec.start_time, demographics=rec.demographics, warnings=rec.warnings)
