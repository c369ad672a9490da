"""ecghub's ECG signal library: read, assess quality, filter, detect beats, measure, interpret.

A pure library: numpy arrays and sampling rates (Hz) in, frozen dataclasses
out. It imports nothing from ``app`` or ``storage``.

The public API (other parts and the benchmarks use these names):
``read_recording(source) -> Recording``, ``detect_r_peaks(signal, fs) -> int array``,
``analyze_recording(recording, *, age_days=None, sex=None) -> Analysis``.
"""

from ecg.types import (
    Analysis,
    Demographics,
    Finding,
    LeadQuality,
    Measurements,
    Quality,
    QualityIssue,
    Recording,
    UnreadableRecording,
)
from ecg.version import PIPELINE_VERSION
from ecg.io import read_recording  # noqa: E402 - after the types it returns
from ecg.beats import detect_r_peaks  # noqa: E402
from ecg.analyze import analyze_recording  # noqa: E402

__all__ = [
    "PIPELINE_VERSION",
    "Analysis",
    "Demographics",
    "Finding",
    "LeadQuality",
    "Measurements",
    "Quality",
    "QualityIssue",
    "Recording",
    "UnreadableRecording",
    "analyze_recording",
    "detect_r_peaks",
    "read_recording",
]
