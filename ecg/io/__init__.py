"""Readers: turn uploaded files into a normalised ``ecg.types.Recording``.

``read_recording(source, *, fs=None)`` accepts a path, raw bytes or a
``{file name: bytes}`` upload; the format (WFDB, EDF/EDF+, CSV, DICOM ECG,
SCP-ECG, HL7 aECG, GE MUSE XML, Philips Sierra XML; optionally inside a zip)
is detected from content by ``detect_format``. Signals come out
as float64 mV, shape (samples, leads), lead names standardised
(see ``ecg.io.leads``). Every failure raises ``ecg.types.UnreadableRecording``.

``inspect_recording(source, *, fs=None)`` checks the same things and returns a
``RecordingInfo`` (format, fs, leads, n_samples, ...) without decoding samples where the
format has a header (WFDB, DICOM): the upload API's cheap, bounded check.

``read_window(files, start_s, duration_s)`` decodes only a time window of a WFDB record (plain
or zipped; other formats are read whole and cut), with the whole recording's description:
what the viewer and the analysis of long recordings read.
"""

from ecg.io.detect import READABLE_FORMATS, SUPPORTED_FORMATS, detect_format
from ecg.io.info import RecordingInfo
from ecg.io.reader import inspect_recording, read_recording, read_window

__all__ = ["READABLE_FORMATS", "SUPPORTED_FORMATS", "RecordingInfo", "detect_format", "inspect_recording",
           "read_recording", "read_window"]
