"""Device formats on real exported files: DICOM, HL7 aECG, SCP-ECG, GE MUSE, Philips XML.

The files are in ../shared/data/formats (credits and licences in its README): a Mortara DICOM
(pydicom's test file), one Mortara ELI 250 recording exported as DICOM, HL7 aECG and SCP-ECG
(ECG Toolkit), a Welch Allyn SCP-ECG (SCP-Tools), two GE MUSE XML (EGM, BRAVEHEART) and two
Philips XML (sierra-ecg-tools). Hostile variants are made from them in memory.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from ecg.beats import detect_r_peaks
from ecg.io import READABLE_FORMATS, detect_format, read_recording
from ecg.io.scp_ecg import crc_ccitt
from ecg.types import UnreadableRecording

STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def fmt(data: Path) -> Path:
    return data / "formats"


def _refused(source, *fragments: str) -> str:
    with pytest.raises(UnreadableRecording) as err:
        read_recording(source)
    message = str(err.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def _rate_bpm(rec) -> float:
    peaks = detect_r_peaks(rec.signals, rec.fs)
    return 60.0 * rec.fs / float(np.median(np.diff(peaks)))


def _qrs_ptp(rec) -> dict[str, float]:
    """Median over beats of each lead's peak-to-peak within +-60 ms of the R peak (mV)."""
    peaks = detect_r_peaks(rec.signals, rec.fs)
    w = int(0.06 * rec.fs)
    peaks = peaks[(peaks > w) & (peaks < rec.n_samples - w)]
    assert len(peaks) >= 5
    return {lead: float(np.median([np.ptp(rec.signals[p - w:p + w, j]) for p in peaks]))
            for j, lead in enumerate(rec.leads)}


# --- every real file: format, leads, rate, duration ----------------------------------------------

CASES = [
    ("dicom/waveform_ecg.dcm", "dicom", 1000.0, 10.0),
    ("dicom/ECGToolkit_Example.dcm", "dicom", 500.0, 10.0),
    ("hl7_aecg/ECGToolkit_Example.xml", "hl7_aecg", 500.0, 10.0),
    ("scp_ecg/ECGToolkit_Example.scp", "scp_ecg", 500.0, 10.0),
    ("scp_ecg/WelchAllyn_CP_2007.SCP", "scp_ecg", 1e6 / 1667, 10.0),
    ("ge_muse/EGM_muse-sinus.xml", "ge_muse", 500.0, 10.0),
    ("ge_muse/BRAVEHEART_example1.xml", "ge_muse", 500.0, 10.0),
    ("philips/129DYPRG.XML", "philips", 500.0, 11.0),
    ("philips/3191723_ZZDEMOPTONLY_1-04_orig.xml", "philips", 500.0, 11.0),
]


@pytest.mark.parametrize("path, kind, fs, duration", CASES)
def test_real_device_file(fmt: Path, path: str, kind: str, fs: float, duration: float) -> None:
    raw = (fmt / path).read_bytes()
    assert detect_format(raw) == kind
    rec = read_recording(fmt / path)
    assert rec.format == kind and kind in READABLE_FORMATS
    assert rec.fs == pytest.approx(fs)
    assert rec.duration_s == pytest.approx(duration, abs=0.01)
    assert sorted(rec.leads) == sorted(STANDARD_12)
    assert rec.signals.dtype == np.float64 and np.isfinite(rec.signals).all()
    ptp = _qrs_ptp(rec)
    assert sum(0.3 <= v <= 5.0 for v in ptp.values()) >= 9, ptp
    assert 35 <= _rate_bpm(rec) <= 150


def test_mortara_dicom_12_leads_1000hz_plausible_mv(fmt: Path) -> None:
    rec = read_recording(fmt / "dicom/waveform_ecg.dcm")
    assert rec.leads == STANDARD_12 and rec.fs == 1000.0 and rec.n_samples == 10_000
    ptp = _qrs_ptp(rec)
    assert sum(0.3 <= v <= 5.0 for v in ptp.values()) >= 10, ptp
    assert any("median-beat" in w for w in rec.warnings)  # the 1.2 s median group is not the rhythm
    # Einthoven holds on the stored leads (the device computed them): III = II - I within quantisation
    assert np.abs(rec.lead("III") - (rec.lead("II") - rec.lead("I"))).max() < 0.01
    assert rec.start_time == dt.datetime(2013, 1, 25, 10, 59, 19)
    assert rec.demographics.patient_id == "642341" and rec.demographics.sex == "F"
    assert rec.demographics.birth_date == dt.date(1971, 1, 23)


def test_ecg_toolkit_trio_identical_across_dicom_hl7_scp(fmt: Path) -> None:
    dcm = read_recording(fmt / "dicom/ECGToolkit_Example.dcm")
    xml = read_recording(fmt / "hl7_aecg/ECGToolkit_Example.xml")
    scp = read_recording(fmt / "scp_ecg/ECGToolkit_Example.scp")
    lsb = 0.0025  # 2.5 uV in all three files
    for other in (xml, scp):
        assert other.n_samples == dcm.n_samples and other.fs == dcm.fs
        for lead in STANDARD_12:
            assert np.abs(other.lead(lead) - dcm.lead(lead)).max() <= lsb / 2, lead
    for rec in (dcm, xml, scp):
        assert rec.start_time == dt.datetime(2002, 11, 22, 9, 10, 0)
        assert rec.demographics.patient_id == "SBJ-123" and rec.demographics.sex == "M"
        assert rec.demographics.birth_date == dt.date(1953, 5, 8)
        assert rec.demographics.age_days == (dt.date(2002, 11, 22) - dt.date(1953, 5, 8)).days


def test_welch_allyn_scp_8_leads_become_12(fmt: Path) -> None:
    rec = read_recording(fmt / "scp_ecg/WelchAllyn_CP_2007.SCP")
    assert rec.leads == STANDARD_12 and rec.n_samples == 6000
    assert any("derived from I and II" in w for w in rec.warnings)
    i, ii = rec.lead("I"), rec.lead("II")
    np.testing.assert_allclose(rec.lead("III"), ii - i)
    np.testing.assert_allclose(rec.lead("aVR"), -(i + ii) / 2)
    np.testing.assert_allclose(rec.lead("aVL"), i - ii / 2)
    np.testing.assert_allclose(rec.lead("aVF"), ii - i / 2)
    # first-difference decoding did not drift: the baseline stays near 0 from start to end
    assert np.abs(np.median(rec.signals[-600:], axis=0)).max() < 0.5
    assert rec.demographics.patient_id == "191010101010" and rec.demographics.sex == "M"
    assert rec.demographics.birth_date == dt.date(1968, 2, 27)
    assert rec.start_time == dt.datetime(2007, 3, 21, 11, 5, 42)


@pytest.mark.parametrize("path, device_rate", [("ge_muse/EGM_muse-sinus.xml", 90),
                                               ("ge_muse/BRAVEHEART_example1.xml", 48)])
def test_muse_rate_matches_the_device_measurement(fmt: Path, path: str, device_rate: int) -> None:
    raw = (fmt / path).read_bytes()
    assert int(re.search(rb"<VentricularRate>(\d+)<", raw).group(1)) == device_rate
    rec = read_recording(raw)
    assert abs(_rate_bpm(rec) - device_rate) <= 3
    assert any("derived from I and II" in w for w in rec.warnings)
    assert any("median waveform was not used" in w for w in rec.warnings)
    np.testing.assert_allclose(rec.lead("III"), rec.lead("II") - rec.lead("I"))


def test_muse_demographics(fmt: Path) -> None:
    rec = read_recording(fmt / "ge_muse/EGM_muse-sinus.xml")
    assert rec.demographics.patient_id == "081486213" and rec.demographics.sex == "M"
    assert rec.demographics.birth_date == dt.date(1979, 7, 8)
    assert rec.start_time == dt.datetime(2023, 4, 29, 22, 41, 16)


@pytest.mark.parametrize("path, device_rate", [("philips/129DYPRG.XML", 41),
                                               ("philips/3191723_ZZDEMOPTONLY_1-04_orig.xml", 84)])
def test_philips_xli(fmt: Path, path: str, device_rate: int) -> None:
    rec = read_recording(fmt / path)
    assert rec.leads == STANDARD_12 and rec.n_samples == 5500
    assert abs(60.0 * len(detect_r_peaks(rec.signals, rec.fs)) / 10.0 - device_rate) <= 10 or \
        abs(_rate_bpm(rec) - device_rate) <= 10
    # XLI stores III/aVR/aVL/aVF as residuals; reconstructed they obey Einthoven/Goldberger within
    # two 5 uV steps (device rounding; the last 0.6 s hold the device's 1 mV calibration pulse on every lead)
    body = slice(0, 5000)
    i, ii = rec.lead("I")[body], rec.lead("II")[body]
    assert np.abs(rec.lead("III")[body] - (ii - i)).max() <= 0.0101
    assert np.abs(rec.lead("aVF")[body] - (ii - i / 2)).max() <= 0.0101
    assert np.abs(rec.lead("aVR")[body] + (i + ii) / 2).max() <= 0.0101


def test_philips_104_is_utf16_with_demographics(fmt: Path) -> None:
    raw = (fmt / "philips/3191723_ZZDEMOPTONLY_1-04_orig.xml").read_bytes()
    assert raw[:2] == b"\xff\xfe"
    rec = read_recording(raw)
    assert rec.demographics.patient_id == "9999" and rec.demographics.sex == "M"
    assert rec.demographics.birth_date == dt.date(1950, 1, 1)
    old = read_recording(fmt / "philips/129DYPRG.XML")
    assert old.demographics.age_days == round(50 * 365.25)
    assert old.start_time == dt.datetime(2011, 12, 1, 7, 27, 34)


# --- detection by content, never by name -----------------------------------------------------------

@pytest.mark.parametrize("path, kind", [(c[0], c[1]) for c in CASES])
def test_content_wins_over_extension(fmt: Path, path: str, kind: str) -> None:
    raw = (fmt / path).read_bytes()
    rec = read_recording({"recording.csv": raw})
    assert rec.format == kind
    assert "does not match the content" in rec.warnings[0]
    same = read_recording({"recording" + Path(path).suffix.lower(): raw})
    assert not any("does not match" in w for w in same.warnings)


def test_other_xml_is_named() -> None:
    _refused(b"<?xml version='1.0'?><html><body>hello</body></html>", "XML", "<html>")


# --- independent writer: pydicom builds a waveform with mV units, baseline and correction ------------

def _pydicom_ecg(unit: str = "mV", sensitivity: float = 0.005, correction: float = 2.0, baseline: float = 0.1,
                 n: int = 2500, channels: int = 2, declared: int | None = None) -> bytes:
    import io

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientSex, ds.PatientBirthDate = "KID-7", "F", "20190304"
    ds.AcquisitionDateTime = "20261125093000"
    t = np.arange(n) / 500.0
    raw = np.stack([np.round(100 * np.sin(2 * np.pi * 1.2 * t) * (k + 1)) for k in range(channels)], axis=1)
    group = Dataset()
    group.MultiplexGroupLabel, group.WaveformOriginality = "RHYTHM", "ORIGINAL"
    group.NumberOfWaveformChannels = channels
    group.NumberOfWaveformSamples = declared or n
    group.SamplingFrequency = 500
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    chans = []
    for k in range(channels):
        ch = Dataset()
        src = Dataset()
        src.CodeValue, src.CodingSchemeDesignator = f"5.6.3-9-{k + 1}", "SCPECG"
        src.CodeMeaning = ["Lead I (Einthoven)", "Lead II"][k % 2]
        ch.ChannelSourceSequence = Sequence([src])
        ch.ChannelSensitivity = sensitivity
        units = Dataset()
        units.CodeValue, units.CodingSchemeDesignator, units.CodeMeaning = unit, "UCUM", unit
        ch.ChannelSensitivityUnitsSequence = Sequence([units])
        ch.ChannelSensitivityCorrectionFactor = correction
        ch.ChannelBaseline = baseline
        ch.WaveformBitsStored = 16
        chans.append(ch)
    group.ChannelDefinitionSequence = Sequence(chans)
    group.WaveformData = raw.astype("<i2").tobytes()
    ds.WaveformSequence = Sequence([group])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_pydicom_written_waveform_honours_units_baseline_correction() -> None:
    rec = read_recording(_pydicom_ecg())
    t = np.arange(2500) / 500.0
    expected = np.round(100 * np.sin(2 * np.pi * 1.2 * t)) * 0.005 * 2.0 + 0.1  # mV
    np.testing.assert_allclose(rec.lead("I"), expected)
    assert rec.format == "dicom" and rec.fs == 500.0
    assert rec.demographics.age_days == (dt.date(2026, 11, 25) - dt.date(2019, 3, 4)).days
    micro = read_recording(_pydicom_ecg(unit="uV", sensitivity=5.0, correction=1.0, baseline=0.0))
    np.testing.assert_allclose(micro.lead("I"), np.round(100 * np.sin(2 * np.pi * 1.2 * t)) * 0.005)


def test_dicom_hostile_variants(fmt: Path) -> None:
    _refused(_pydicom_ecg(unit="mmHg"), "not a voltage unit")
    _refused(_pydicom_ecg(declared=5000), "truncated or its header is wrong")
    _refused(_pydicom_ecg(declared=2_000_000_000), "at most")
    raw = (fmt / "dicom/waveform_ecg.dcm").read_bytes()
    _refused(raw[:40_000], "DICOM")
    _refused(raw[:200], "DICOM")


# --- hostile SCP-ECG, XML ----------------------------------------------------------------------------

def _scp_patch(raw: bytes, section: int, offset: int, value: bytes) -> bytes:
    """Patch bytes at ``offset`` into a section's body and fix the section and file CRCs."""
    b = bytearray(raw)
    for p in range(6 + 16, 6 + 136 - 9, 10):
        sid, length, index = struct.unpack_from("<HII", b, p)
        if sid == section:
            start = index - 1
            b[start + 16 + offset:start + 16 + offset + len(value)] = value
            struct.pack_into("<H", b, start, crc_ccitt(bytes(b[start + 2:start + length])))
    struct.pack_into("<H", b, 0, crc_ccitt(bytes(b[2:])))
    return bytes(b)


def test_scp_hostile_variants(fmt: Path) -> None:
    raw = (fmt / "scp_ecg/WelchAllyn_CP_2007.SCP").read_bytes()
    _refused(raw[:20_000], "truncated")
    _refused(_scp_patch(raw, 3, 1, bytes([raw[349 + 16 + 1 - 1] | 1])), "reference-beat subtraction")
    _refused(_scp_patch(raw, 6, 2, struct.pack("<H", 1)), "sampling rate")  # 1 us interval: 1 MHz
    _refused(_scp_patch(raw, 3, 2 + 4, struct.pack("<I", 4_000_000_000)), "at most")  # huge last sample
    _refused(_scp_patch(raw, 6, 5, b"\x01"), "bimodal")
    damaged = bytearray(raw)
    damaged[3000] ^= 0xFF  # inside lead data, CRC left wrong
    try:
        rec = read_recording(bytes(damaged))
        assert any("CRC" in w for w in rec.warnings)
    except UnreadableRecording as exc:
        assert "SCP-ECG" in str(exc)


BOMB = (b'<?xml version="1.0"?><!DOCTYPE AnnotatedECG [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<AnnotatedECG xmlns="urn:hl7-org:v3">&c;</AnnotatedECG>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<RestingECG><PatientDemographics><PatientID>&x;</PatientID></PatientDemographics></RestingECG>')


def test_xml_entities_refused() -> None:
    _refused(BOMB, "entities")
    _refused(EXTERNAL, "entities or external references")


def test_xml_hostile_variants(fmt: Path) -> None:
    muse = (fmt / "ge_muse/EGM_muse-sinus.xml").read_bytes()
    _refused(muse.replace(b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>900000000<"), "at most")
    _refused(muse.replace(b"<LeadSampleCountTotal>5000<", b"<LeadSampleCountTotal>9000<"), "truncated")
    _refused(muse.replace(b"<SampleBase>500<", b"<SampleBase>5000000<"), "sampling rate")
    _refused(muse[: len(muse) // 2], "damaged or truncated")
    philips = (fmt / "philips/129DYPRG.XML").read_bytes()
    _refused(philips.replace(b'durationperchannel="11000"', b'durationperchannel="99999999999"'), "at most")
    _refused(philips.replace(b'durationperchannel="11000"', b'durationperchannel="60000"'), "declared")
    _refused(philips.replace(b"<samplingrate>500<", b"<samplingrate>nan<"), "sampling rate")
    aecg = (fmt / "hl7_aecg/ECGToolkit_Example.xml").read_bytes()
    _refused(aecg.replace(b'<increment value="0.002"', b'<increment value="0.0000001"'), "sampling rate")
    _refused(aecg.replace(b"<digits> -2 -2", b"<digits> -2 zz"), "not a number")
    with_nan = read_recording(aecg.replace(b"<digits> -2 -2 -2", b"<digits> -2 nan inf", 1))
    assert np.isfinite(with_nan.signals).all()
    assert any("missing samples" in w for w in with_nan.warnings)


# --- SCP-ECG Huffman decoding against the specification (custom tables, table layout) -------------

def _encode_default(values: list[int]) -> bytes:
    """Encode with the EN 1064 default table (the independent, spec-level counterpart of the decoder)."""
    bits = ""
    for v in values:
        if v == 0:
            bits += "0"
        elif abs(v) <= 8:
            bits += "1" * abs(v) + "0" + ("0" if v > 0 else "1")
        elif -128 <= v <= 127:
            bits += "1111111110" + format(v & 0xFF, "08b")
        else:
            bits += "1111111111" + format(v & 0xFFFF, "016b")
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def test_scp_huffman_default_and_custom_table() -> None:
    from ecg.io.scp_ecg import DEFAULT_TABLE, _tables, huffman_decode

    rng = np.random.default_rng(3)
    values = [int(v) for v in np.concatenate([rng.integers(-9, 10, 400), rng.integers(-30000, 30000, 50)])]
    raw = _encode_default(values)
    assert huffman_decode(raw, len(values), [DEFAULT_TABLE], "I").tolist() == values
    # the same table written out as a section 2 body: base codes are stored least significant bit first
    body = struct.pack("<HH", 1, len(DEFAULT_TABLE))
    for c in DEFAULT_TABLE:
        rev = int(format(c.code, f"0{c.prefix_bits}b")[::-1], 2)
        body += struct.pack("<BBBhI", c.prefix_bits, c.total_bits, c.mode, c.base, rev)
    assert huffman_decode(raw, len(values), _tables(body), "I").tolist() == values
    with pytest.raises(UnreadableRecording, match="truncated"):
        huffman_decode(raw[: len(raw) // 2], len(values), [DEFAULT_TABLE], "I")
    with pytest.raises(UnreadableRecording, match="cannot hold"):
        huffman_decode(raw, 10_000_000, [DEFAULT_TABLE], "I")


def test_device_file_inside_zip(fmt: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.SCP", (fmt / "scp_ecg/WelchAllyn_CP_2007.SCP").read_bytes())
    assert read_recording(buf.getvalue()).format == "scp_ecg"


def test_caps_before_work(fmt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecg.io import limits
    from ecg.io.scp_ecg import _tables

    monkeypatch.setattr(limits, "MAX_XML_BYTES", 100_000)
    _refused((fmt / "hl7_aecg/ECGToolkit_Example.xml").read_bytes(), "MiB of XML are accepted")
    with pytest.raises(UnreadableRecording, match="Huffman tables"):
        _tables(struct.pack("<H", 9000) + bytes(100))


def test_median_beats_alone_are_not_a_rhythm(fmt: Path) -> None:
    muse = (fmt / "ge_muse/EGM_muse-sinus.xml").read_bytes()
    _refused(muse.replace(b"<WaveformType>Rhythm<", b"<WaveformType>Median<"), "only median")
    import io

    import pydicom

    ds = pydicom.dcmread(fmt / "dicom/waveform_ecg.dcm")
    del ds.WaveformSequence[0]
    buf = io.BytesIO()
    ds.save_as(buf)
    _refused(buf.getvalue(), "only median")
