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
from ecg.io import read_recording
from ecg.beats import detect_r_peaks
from ecg.analyze import analyze_recording

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
