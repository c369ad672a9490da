"""ecghub's ECG signal library: read, assess quality, filter, detect beats, measure, interpret.

A pure library: numpy arrays and sampling rates (Hz) in, frozen dataclasses
out. It imports nothing from ``app`` or ``storage``.
"""

from ecg.types import (
    Analysis,
    Demographics,
    Finding,
    LeadQuality,
    Measurements,
    Quality,
    Recording,
    UnreadableRecording,
)
from ecg.version import PIPELINE_VERSION

__all__ = [
    "PIPELINE_VERSION",
    "Analysis",
    "Demographics",
    "Finding",
    "LeadQuality",
    "Measurements",
    "Quality",
    "Recording",
    "UnreadableRecording",
]
