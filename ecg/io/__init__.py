"""Readers: turn uploaded files into a normalised ``ecg.types.Recording``.

``read_recording(source, *, fs=None)`` accepts a path, raw bytes or a
``{file name: bytes}`` upload; the format (WFDB, EDF/EDF+, CSV, DICOM ECG,
SCP-ECG, HL7 aECG, GE MUSE XML, Philips Sierra XML; optionally inside a zip)
is detected from content by ``detect_format``. Signals come out
as float64 mV, shape (samples, leads), lead names standardised
(see ``ecg.io.leads``). Every failure raises ``ecg.types.UnreadableRecording``.
"""

from ecg.io.detect import READABLE_FORMATS, SUPPORTED_FORMATS, detect_format
from ecg.io.reader import read_recording

__all__ = ["READABLE_FORMATS", "SUPPORTED_FORMATS", "detect_format", "read_recording"]
