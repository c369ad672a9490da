"""The public names issue #9 promises, importable from ``ecg`` itself, and the library's purity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import ecg


def test_public_api_reads_detects_and_analyses(data: Path) -> None:
    by_name = ecg.read_recording(str(data / "mitdb" / "100"))  # a record name without extension
    by_header = ecg.read_recording(data / "mitdb" / "100.hea")
    assert by_name.fs == by_header.fs == 360.0 and by_name.leads == by_header.leads
    np.testing.assert_array_equal(by_name.signals[:1000], by_header.signals[:1000])
    dicom = ecg.read_recording((data / "formats" / "dicom" / "waveform_ecg.dcm").read_bytes())  # bytes
    assert dicom.fs == 1000.0 and len(dicom.leads) == 12
    ten_s = by_name.signals[: 10 * 360]
    one_lead, fused = ecg.detect_r_peaks(ten_s[:, 0], 360.0), ecg.detect_r_peaks(ten_s, 360.0)
    assert one_lead.dtype == np.int64 and 10 <= len(one_lead) <= 16 and abs(len(fused) - len(one_lead)) <= 1
    short = ecg.Recording(signals=ten_s, fs=360.0, leads=by_name.leads, format="wfdb")
    analysis = ecg.analyze_recording(short, age_days=3650, sex="M")
    assert isinstance(analysis, ecg.Analysis) and 60 <= analysis.measurements.heart_rate_bpm <= 90
    assert all(isinstance(i, ecg.QualityIssue) for i in analysis.quality.issues)


def test_unreadable_is_typed() -> None:
    try:
        ecg.read_recording(b"not an ECG at all")
    except ecg.UnreadableRecording as exc:
        assert str(exc)
    else:
        raise AssertionError("garbage was read as a recording")


def test_ecg_imports_nothing_from_the_service() -> None:
    code = "import sys, ecg; print(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'storage')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
