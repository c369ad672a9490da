"""EDF read in bounded memory: described from its header and size, windows decoded from their data records.

``inspect_recording`` must say exactly what ``RecordingInfo.of(read_recording(...))`` says, and
``read_window`` must return the full read's samples cut to the window, for EDF+ (annotation channel),
plain EDF, BDF, a non-standard file, and a hand-written one with channels the reader leaves out.
The shared data holds no EDF file, so the EDFs are written from the real PhysioNet records.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ecg.io import inspect_recording, read_recording, read_window
from ecg.io.info import RecordingInfo
from ecg.types import UnreadableRecording


def _write_pyedflib(path: Path, signals: np.ndarray, fs: float, leads: tuple[str, ...], *, plus: bool = True,
                    bdf: bool = False) -> bytes:
    """An EDF(+)/BDF(+) of ``signals`` (mV, written in uV) via pyedflib."""
    import pyedflib

    kind = {(True, False): pyedflib.FILETYPE_EDFPLUS, (False, False): pyedflib.FILETYPE_EDF,
            (True, True): pyedflib.FILETYPE_BDFPLUS, (False, True): pyedflib.FILETYPE_BDF}[(plus, bdf)]
    digital = (1 << 23) if bdf else (1 << 15)
    writer = pyedflib.EdfWriter(str(path), len(leads), file_type=kind)
    try:
        writer.setSignalHeaders([{"label": lead, "dimension": "uV", "sample_frequency": fs, "physical_min": -10_000,
                                  "physical_max": 10_000, "digital_min": -digital, "digital_max": digital - 1}
                                 for lead in leads])
        writer.setPatientCode("P0042")
        writer.setStartdatetime(dt.datetime(2026, 3, 4, 8, 15, 0))
        writer.writeSamples([np.ascontiguousarray(signals[:, j] * 1000.0) for j in range(len(leads))])
    finally:
        writer.close()
    return path.read_bytes()


def _field(values: list[str], width: int) -> bytes:
    return b"".join(v.encode("ascii").ljust(width)[:width] for v in values)


def _write_by_hand(channels: list[tuple[str, str, int]], records: np.ndarray, record_s: float,
                   calibration: tuple[str, str, str, str] = ("-5000", "5000", "-32768", "32767")) -> bytes:
    """A plain EDF from ``(label, unit, samples per record)`` channels and int16 ``records``
    of shape (n_records, total samples per record)."""
    ns = len(channels)
    fixed = (b"0".ljust(8) + _field(["X X X X"], 80) + _field(["Startdate X X X X"], 80) + b"04.03.2608.15.00"
             + _field([str(256 * (ns + 1))], 8) + b" " * 44 + _field([str(records.shape[0])], 8)
             + _field([f"{record_s:g}"], 8) + _field([str(ns)], 4))
    per = [
        _field([c[0] for c in channels], 16), _field(["AgAgCl"] * ns, 80), _field([c[1] for c in channels], 8),
        *(_field([v] * ns, 8) for v in calibration), _field([""] * ns, 80),
        _field([str(c[2]) for c in channels], 8), _field([""] * ns, 32)]
    return fixed + b"".join(per) + records.astype("<i2").tobytes()


@pytest.fixture(scope="module")
def edf_sources(data: Path, tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("edfw")
    ludb = read_recording(data / "ludb" / "1")
    mit = read_recording(data / "mitdb" / "100")
    rng = np.random.default_rng(7)
    mixed = [("ECG I", "uV", 250), ("ECG II", "mV", 250), ("Resp", "Ohm", 25), ("V1", "uV", 125),
             ("EDF Annotations", "", 30)]
    out = {
        "ludb 1 EDF+": _write_pyedflib(tmp / "a.edf", ludb.signals, ludb.fs, ludb.leads),
        "ludb 1 BDF+": _write_pyedflib(tmp / "b.bdf", ludb.signals, ludb.fs, ludb.leads, bdf=True),
        "mitdb 100 EDF, 5 min": _write_pyedflib(tmp / "c.edf", mit.signals[:108_000], mit.fs, mit.leads, plus=False),
        "hand-written, 0.5 s records": _write_by_hand(mixed, rng.integers(-3000, 3000, (41, 680)), 0.5),
    }
    blob = bytearray(out["ludb 1 EDF+"])
    blob[256 + 16 * 13: 256 + 16 * 13 + 5] = b"\xc9lect"  # a non-ASCII transducer: edflib refuses the file
    out["non-compliant"] = bytes(blob)
    return out


def _zipped(name: str, blob: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(name, blob)
    return buf.getvalue()


def _uploads(blob: bytes) -> dict[str, dict[str, bytes]]:
    """The ways one EDF file arrives: as itself, misnamed (an extension warning), and zipped."""
    return {"file": {"upload.edf": blob}, "misnamed": {"upload.csv": blob},
            "zip": {"upload.zip": _zipped("rec/upload.rec", blob)}}


def test_inspect_is_the_description_of_the_full_read(edf_sources: dict[str, bytes]) -> None:
    for label, blob in edf_sources.items():
        for how, upload in _uploads(blob).items():
            info, rec = inspect_recording(upload), read_recording(upload)
            expected = RecordingInfo.of(rec)
            if label == "non-compliant":  # only decoding finds out that edflib refuses it
                expected = RecordingInfo(**{**vars(expected), "warnings": tuple(
                    w for w in expected.warnings if "not fully standard-compliant" not in w)})
            assert info == expected, (label, how)
    mixed = inspect_recording(edf_sources["hand-written, 0.5 s records"])
    assert (mixed.leads, mixed.fs, mixed.n_samples) == (("I", "II"), 500.0, 41 * 250)
    assert any("Resp" in w and "not a voltage" in w for w in mixed.warnings)
    assert any("V1" in w and "different rate" in w for w in mixed.warnings)


@pytest.mark.parametrize("start_s, duration_s", [(0.0, 10.0), (0.0, 0.001), (3.3337, 2.5), (7.0, 10.0),
                                                 (20.49, 1.0), (500.0, 10.0)])
def test_a_window_is_the_full_read_cut(edf_sources: dict[str, bytes], start_s: float, duration_s: float) -> None:
    """Windows at the start, inside a data record, across records, at the end and past the end."""
    for label, blob in edf_sources.items():
        whole = read_recording(blob)
        a = min(whole.n_samples - 1, int(start_s * whole.fs))
        n = max(1, min(whole.n_samples - a, round(duration_s * whole.fs)))
        for how, upload in _uploads(blob).items():
            window, info = read_window(upload, start_s, duration_s)
            assert window.n_samples == n and (window.leads, window.fs) == (whole.leads, whole.fs), (label, how)
            assert info == inspect_recording(upload) and window.warnings == info.warnings, (label, how)
            np.testing.assert_array_equal(window.signals, whole.signals[a: a + n], err_msg=label)  # to the bit


def test_inspect_and_window_refuse_a_truncated_edf(edf_sources: dict[str, bytes]) -> None:
    blob = edf_sources["mitdb 100 EDF, 5 min"]
    for cut in (blob[: len(blob) // 2], blob[:600]):
        with pytest.raises(UnreadableRecording, match="truncated|EDF"):
            inspect_recording(cut)
        with pytest.raises(UnreadableRecording, match="truncated|EDF"):
            read_window({"x.edf": cut}, 0.0, 10.0)
    with pytest.raises(UnreadableRecording, match="truncated"):
        inspect_recording(blob[: len(blob) // 2])
    lying = blob[:236] + b"99999   " + blob[244:]  # declares far more data records than it holds
    with pytest.raises(UnreadableRecording, match="truncated"):
        read_window({"x.edf": lying}, 0.0, 10.0)


def _peak_bytes(fn) -> int:
    """Peak traced allocation (bytes) while ``fn`` runs; numpy reports its arrays to tracemalloc."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_two_hour_12_lead_edf_is_never_decoded_whole() -> None:
    """2 h of 12 leads at 500 Hz: an 86 MB file, 346 MB as float64. Inspecting it and reading a 10 s
    window near its end each stay under 4 MiB of allocations (the upload's bytes aside)."""
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    n_records = 7200
    records = np.random.default_rng(11).integers(-60, 60, (n_records, 500 * 12), dtype="<i2")  # noise: a real zip ratio
    blob = _write_by_hand([(lead, "uV", 500) for lead in leads], records, 1.0)
    assert len(blob) > 86_000_000
    got: dict[str, object] = {}
    peak = _peak_bytes(lambda: got.update(i=inspect_recording({"long.edf": blob})))
    assert peak < 4 << 20, f"inspecting took {peak / 2**20:.1f} MiB"
    assert got["i"].n_samples == 3_600_000 and got["i"].leads == tuple(leads)
    peak = _peak_bytes(lambda: got.update(w=read_window({"long.edf": blob}, 7180.0, 10.0)))
    assert peak < 4 << 20, f"a 10 s window took {peak / 2**20:.1f} MiB"
    window, info = got["w"]
    assert info.duration_s == 7200.0 and window.n_samples == 5000
    gain = 10_000 / 65_535
    expected = records[7180:7190].reshape(10, 12, 500).transpose(0, 2, 1).reshape(5000, 12) * gain
    np.testing.assert_allclose(window.signals, (expected + (-5000 + gain * 32768)) / 1000.0, rtol=0, atol=1e-9)
    zipped = {"long.zip": _zipped("long.edf", blob)}
    peak = _peak_bytes(lambda: got.update(z=read_window(zipped, 7180.0, 10.0), zi=inspect_recording(zipped)))
    assert peak < 6 << 20, f"a 10 s window of the zipped file took {peak / 2**20:.1f} MiB"  # + 1 MiB inflate chunks
    np.testing.assert_array_equal(got["z"][0].signals, window.signals)
    assert got["zi"] == got["z"][1] == info
