"""Readers: real PhysioNet records in every source form, and hostile/broken input.

Every failure must be an ``UnreadableRecording`` whose message names the problem.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ecg.io import SUPPORTED_FORMATS, detect_format, read_recording
from ecg.types import UnreadableRecording

STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _files(data: Path, record: str) -> dict[str, bytes]:
    """All files of a record (header, signals, annotations) as an upload mapping."""
    folder, name = (data / record).parent, (data / record).name
    return {p.name: p.read_bytes() for p in folder.glob(name + ".*")}


def _zip(files: dict[str, bytes], prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(prefix + name, content)
    return buf.getvalue()


def _refused(source, *fragments: str, **kwargs) -> str:
    with pytest.raises(UnreadableRecording) as err:
        read_recording(source, **kwargs)
    message = str(err.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


@pytest.fixture(scope="module")
def mit100(data: Path):
    return read_recording(data / "mitdb" / "100.hea")


@pytest.fixture(scope="module")
def mit100_files(data: Path) -> dict[str, bytes]:
    return _files(data, "mitdb/100")


# --- WFDB: the same record from every source form -------------------------------------------


def test_mitdb_100_from_header_path(mit100) -> None:
    assert mit100.format == "wfdb"
    assert mit100.fs == 360.0
    assert mit100.leads == ("MLII", "V5")
    assert mit100.signals.shape == (650000, 2)
    assert mit100.signals.dtype == np.float64
    assert mit100.warnings == ()


def test_mitdb_100_same_samples_from_every_source(data: Path, mit100, mit100_files) -> None:
    by_name = read_recording(str(data / "mitdb" / "100"))
    by_mapping = read_recording(mit100_files)  # includes 100.atr, which must be ignored
    by_zip = read_recording(_zip(mit100_files, prefix="100/"))
    for other in (by_name, by_mapping, by_zip):
        assert other.leads == mit100.leads and other.fs == mit100.fs
        np.testing.assert_array_equal(other.signals, mit100.signals)


def test_mitdb_units_are_millivolts(mit100) -> None:
    # MLII QRS complexes of record 100 are about 1-2 mV peak to peak.
    ten_s = mit100.lead("MLII")[: 3600]
    assert 0.8 < np.ptp(ten_s) < 3.0
    assert abs(np.median(ten_s)) < 1.0


def test_mitdb_demographics(mit100) -> None:
    # "# 69 M 1085 1629 x1" (after a stray comment line)
    assert mit100.demographics.sex == "M"
    assert mit100.demographics.age_days == round(69 * 365.25)


def test_ludb_twelve_standard_leads_and_demographics(data: Path) -> None:
    rec = read_recording(_files(data, "ludb/1"))  # with the 12 per-lead annotation files
    assert rec.leads == STANDARD_12
    assert rec.fs == 500.0 and rec.signals.shape == (5000, 12)
    assert rec.demographics.sex == "F" and rec.demographics.age_days == round(51 * 365.25)
    assert np.ptp(rec.lead("II")) < 5.0


def test_ptb_demographics_and_frank_leads(data: Path) -> None:
    rec = read_recording(data / "ptbdb" / "s0010_re.hea")
    assert rec.leads[:12] == STANDARD_12 and rec.leads[12:] == ("X", "Y", "Z")
    assert rec.fs == 1000.0
    assert rec.demographics.sex == "F" and rec.demographics.age_days == round(81 * 365.25)


def test_unknown_lead_names_kept(data: Path) -> None:
    rec = read_recording(data / "misc" / "test01_00s")
    assert rec.leads == ("ECG 1", "ECG 2", "ECG 3", "ECG 4")
    assert rec.demographics.sex == "M" and rec.demographics.age_days == round(25 * 365.25)


def test_microvolt_header_is_scaled_to_mv(mit100_files, mit100) -> None:
    hea = mit100_files["100.hea"].replace(b"200 11 1024", b"0.2/uV 11 1024")
    rec = read_recording({"100.hea": hea, "100.dat": mit100_files["100.dat"]})
    np.testing.assert_allclose(rec.signals, mit100.signals)


def test_header_date_gives_start_time(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"100 2 360 650000", b"100 2 360 650000 10:11:12 25/12/2020")
    rec = read_recording({"100.hea": hea, "100.dat": mit100_files["100.dat"]})
    assert rec.start_time is not None and rec.start_time.isoformat() == "2020-12-25T10:11:12"


def test_header_without_length_reads_the_whole_file(data: Path) -> None:
    hea = (data / "misc/test01_00s.hea").read_bytes().replace(b"test01_00s 4 500 4000", b"test01_00s 4 500")
    rec = read_recording({"test01_00s.hea": hea, "test01_00s.dat": (data / "misc/test01_00s.dat").read_bytes()})
    assert rec.signals.shape == (4000, 4)


def test_extension_mismatch_is_a_warning(mit100_files) -> None:
    rec = read_recording({"100.txt": mit100_files["100.hea"], "100.dat": mit100_files["100.dat"]})
    assert rec.format == "wfdb"
    assert any(".txt" in w for w in rec.warnings)


def test_dat_path_reads_its_record(data: Path, mit100) -> None:
    rec = read_recording(data / "mitdb" / "100.dat")
    np.testing.assert_array_equal(rec.signals, mit100.signals)


def test_renamed_header_and_case_mismatch(mit100_files, mit100) -> None:
    rec = read_recording({"upload.hea": mit100_files["100.hea"], "100.DAT": mit100_files["100.dat"]})
    np.testing.assert_array_equal(rec.signals, mit100.signals)
    assert any("100.DAT was used" in w for w in rec.warnings)


def test_non_voltage_channel_is_left_out(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"1011 20052 0 V5", b"1011 20052 0 BP").replace(
        b"100.dat 212 200 11 1024 1011", b"100.dat 212 200/mmHg 11 1024 1011")
    rec = read_recording({"100.hea": hea, "100.dat": mit100_files["100.dat"]})
    assert rec.leads == ("MLII",)
    assert any("mmHg" in w for w in rec.warnings)


# --- WFDB: broken and hostile uploads ---------------------------------------------------


def _mit(files: dict[str, bytes], **changes: bytes) -> dict[str, bytes]:
    out = {"100.hea": files["100.hea"], "100.dat": files["100.dat"]}
    out.update(changes)
    return out


def test_truncated_dat(mit100_files) -> None:
    short = mit100_files["100.dat"][: 360 * 3 * 10]  # 10 s of 2 x 12-bit samples
    _refused(_mit(mit100_files, **{"100.dat": short}), "truncated", "10 s", "650000")


def test_header_declares_more_samples_than_the_file(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"650000", b"700000")
    _refused(_mit(mit100_files, **{"100.hea": hea}), "truncated", "700000")


@pytest.mark.parametrize("nsig", [b"1", b"3"])
def test_header_with_wrong_signal_count(mit100_files, nsig: bytes) -> None:
    hea = mit100_files["100.hea"].replace(b"100 2 360", b"100 " + nsig + b" 360")
    _refused(_mit(mit100_files, **{"100.hea": hea}), f"declares {nsig.decode()} signals but describes 2")


@pytest.mark.parametrize("fs", [b"0", b"5", b"1e9", b"-360"])
def test_implausible_sampling_rate(mit100_files, fs: bytes) -> None:
    hea = mit100_files["100.hea"].replace(b"100 2 360", b"100 2 " + fs)
    _refused(_mit(mit100_files, **{"100.hea": hea}), "sampling rate")


def test_huge_declared_length_refused_before_reading(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"650000", b"9000000000")
    _refused(_mit(mit100_files, **{"100.hea": hea}), "at most 4 h")


def test_multi_segment_and_too_many_signals(mit100_files) -> None:
    _refused({"100.hea": b"100/3 2 360 650000\n100_1 325000\n100_2 325000\n"}, "multi-segment")
    hea = b"100 1000 360 650000\n" + b"100.dat 212 200 11 1024 995 0 0 x\n" * 1000
    _refused({"100.hea": hea, "100.dat": mit100_files["100.dat"]}, "at most 64")


def test_dat_without_header(mit100_files) -> None:
    _refused({"100.dat": mit100_files["100.dat"], "100.atr": mit100_files["100.atr"]}, "no WFDB header (.hea)")


def test_header_without_dat(mit100_files) -> None:
    _refused({"100.hea": mit100_files["100.hea"]}, "refers to 100.dat, which was not uploaded")
    _refused(mit100_files["100.hea"], "100.dat", "not uploaded")


def test_unsupported_storage_format(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"100.dat 212", b"100.dat 516")
    _refused(_mit(mit100_files, **{"100.hea": hea}), "format 516")


def test_several_headers_refused(data: Path, mit100_files) -> None:
    files = _mit(mit100_files) | _files(data, "misc/test01_00s")
    _refused(files, "several WFDB headers")


@pytest.mark.parametrize("name", ["../100.dat", "..\\100.dat", "/etc/100.dat", "sub/100.dat", ".."])
def test_path_traversal_in_mapping(mit100_files, name: str) -> None:
    _refused({"100.hea": mit100_files["100.hea"], name: mit100_files["100.dat"]}, "unsafe file name")


def test_path_traversal_in_header_reference(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"100.dat", b"../../100.dat")
    _refused(_mit(mit100_files, **{"100.hea": hea}), "100.hea")


def test_gaps_are_filled_and_reported(mit100_files) -> None:
    # Format 212 sentinel -2048 (0x800) marks a missing sample; wfdb returns NaN for it.
    dat = bytearray(mit100_files["100.dat"])
    dat[3000:3003] = bytes([0x00, 0x88, 0x80])  # both signals of one frame missing
    rec = read_recording(_mit(mit100_files, **{"100.dat": bytes(dat)}))
    assert np.isfinite(rec.signals).all()
    assert any("MLII" in w and "interpolation" in w for w in rec.warnings)


# --- zip archives ---------------------------------------------------------------------------


def _raw_zip(members: dict[str, bytes]) -> bytes:
    """A zip whose member names are written verbatim (zipfile would not sanitise on write)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name), content)
    return buf.getvalue()


@pytest.mark.parametrize("member, fragment", [
    ("../100.dat", "leaving its folder"),
    ("rec/../../100.dat", "leaving its folder"),
    ("/etc/100.dat", "absolute path"),
    ("C:/100.dat", "absolute path"),
])
def test_zip_path_traversal(mit100_files, member: str, fragment: str) -> None:
    _refused(_raw_zip({"100.hea": mit100_files["100.hea"], member: mit100_files["100.dat"]}), fragment)


def test_zip_bomb_refused_from_the_central_directory() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("100.dat", "w", force_zip64=True) as fh:
            chunk = bytes(1 << 24)
            for _ in range(33):  # 528 MiB of zeros -> ~2 MB compressed
                fh.write(chunk)
    assert len(buf.getvalue()) < 5_000_000
    _refused(buf.getvalue(), "would unpack to", "MiB")


def test_zip_with_too_many_members(mit100_files) -> None:
    members = {f"n{i}.txt": b"x" for i in range(70)} | {"100.hea": mit100_files["100.hea"]}
    _refused(_raw_zip(members), "entries")


def test_nested_zip_refused(mit100_files) -> None:
    inner = _zip(_mit(mit100_files))
    _refused(_zip({"inner.zip": inner}), "nested")


def test_zip_member_larger_than_declared_is_refused(data: Path) -> None:
    # Patch the declared size down in both headers: extraction must stop, not trust the stream.
    files = {"test01_00s.hea": (data / "misc/test01_00s.hea").read_bytes(),
             "test01_00s.dat": (data / "misc/test01_00s.dat").read_bytes()}
    raw = bytearray(_zip(files))
    size = len(files["test01_00s.dat"]).to_bytes(4, "little")
    for at in [i for i in range(len(raw) - 4) if raw[i:i + 4] == size]:
        raw[at:at + 4] = (100).to_bytes(4, "little")
    _refused(bytes(raw), "zip")


def test_damaged_and_empty_zip() -> None:
    _refused(b"PK\x03\x04" + bytes(40), "zip", "damaged")
    _refused(b"PK\x05\x06" + bytes(18), "zip")


def test_zip_of_a_folder_with_macos_junk(mit100_files) -> None:
    members = {"rec/100.hea": mit100_files["100.hea"], "rec/100.dat": mit100_files["100.dat"],
               "__MACOSX/rec/._100.hea": b"\x00\x05\x16\x07junk", "rec/.DS_Store": b"\x00\x00"}
    rec = read_recording(_raw_zip(members))
    assert rec.leads == ("MLII", "V5")


# --- EDF --------------------------------------------------------------------------------------


def _write_edf(tmp_path: Path, rec, unit: str = "uV", scale: float = 1000.0, plus: bool = True,
               bdf: bool = False) -> bytes:
    import datetime as dt

    import pyedflib

    path = tmp_path / ("out.bdf" if bdf else "out.edf")
    kind = {(True, False): pyedflib.FILETYPE_EDFPLUS, (False, False): pyedflib.FILETYPE_EDF,
            (True, True): pyedflib.FILETYPE_BDFPLUS, (False, True): pyedflib.FILETYPE_BDF}[(plus, bdf)]
    digital = (1 << 23) if bdf else (1 << 15)
    writer = pyedflib.EdfWriter(str(path), len(rec.leads), file_type=kind)
    try:
        writer.setSignalHeaders([
            {"label": lead, "dimension": unit, "sample_frequency": rec.fs, "physical_min": -10 * scale,
             "physical_max": 10 * scale, "digital_min": -digital, "digital_max": digital - 1} for lead in rec.leads])
        writer.setPatientCode("P0042")
        writer.setSex(0)
        writer.setBirthdate(dt.date(2019, 6, 1))
        writer.setStartdatetime(dt.datetime(2026, 3, 4, 8, 15, 0))
        writer.writeSamples([np.ascontiguousarray(rec.signals[:, j] * scale) for j in range(len(rec.leads))])
    finally:
        writer.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def ludb1(data: Path):
    return read_recording(data / "ludb" / "1")


@pytest.fixture(scope="module")
def ludb1_edf(ludb1, tmp_path_factory) -> bytes:
    return _write_edf(tmp_path_factory.mktemp("edf"), ludb1)


def test_edf_round_trip(ludb1, ludb1_edf: bytes) -> None:
    rec = read_recording(ludb1_edf)
    assert rec.format == "edf" and rec.fs == 500.0 and rec.leads == STANDARD_12
    quantum_mv = 20.0 / 65535  # physical range 20 mV over 16 bits
    np.testing.assert_allclose(rec.signals, ludb1.signals, atol=quantum_mv)
    assert rec.start_time is not None and rec.start_time.isoformat() == "2026-03-04T08:15:00"
    assert rec.demographics.sex == "F" and rec.demographics.patient_id == "P0042"
    assert rec.demographics.age_days == (rec.start_time.date() - __import__("datetime").date(2019, 6, 1)).days


def test_edf_in_millivolts_and_plain_edf(ludb1, tmp_path: Path) -> None:
    rec = read_recording(_write_edf(tmp_path, ludb1, unit="mV", scale=1.0, plus=False))
    np.testing.assert_allclose(rec.signals, ludb1.signals, atol=20.0 / 65535)


def test_edf_from_path_mapping_and_misnamed(ludb1_edf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "ecg.csv"
    path.write_bytes(ludb1_edf)
    rec = read_recording(path)
    assert rec.format == "edf" and any("extension .csv" in w for w in rec.warnings)
    assert read_recording({"upload.edf": ludb1_edf}).warnings == ()


def test_bdf_round_trip(ludb1, tmp_path: Path) -> None:
    rec = read_recording(_write_edf(tmp_path, ludb1, bdf=True))
    assert rec.format == "edf"
    np.testing.assert_allclose(rec.signals, ludb1.signals, atol=20.0 / 2**24)


@pytest.mark.parametrize("bdf", [False, True])
def test_non_compliant_edf_is_decoded_directly(ludb1, tmp_path: Path, bdf: bool) -> None:
    blob = bytearray(_write_edf(tmp_path, ludb1, bdf=bdf))
    ns = 13  # 12 leads + the EDF+ annotation channel
    transducer_at = 256 + 16 * ns
    blob[transducer_at: transducer_at + 5] = "Électrode".encode("latin-1")[:5]  # not ASCII: edflib refuses
    rec = read_recording(bytes(blob))
    assert any("not fully standard-compliant" in w for w in rec.warnings)
    np.testing.assert_allclose(rec.signals, ludb1.signals, atol=20.0 / (2**24 if bdf else 2**16))


def test_edf_truncated(ludb1_edf: bytes) -> None:
    _refused(ludb1_edf[: len(ludb1_edf) // 2], "truncated")
    _refused(ludb1_edf[:700], "EDF")


def test_edf_header_damage(ludb1_edf: bytes) -> None:
    bad_ns = ludb1_edf[:252] + b"99  " + ludb1_edf[256:]
    _refused(bad_ns, "EDF")
    bad_duration = ludb1_edf[:244] + b"0       " + ludb1_edf[252:]
    _refused(bad_duration, "duration")
    huge = ludb1_edf[:236] + b"99999999" + ludb1_edf[244:]
    _refused(huge, "truncated")


# --- CSV --------------------------------------------------------------------------------------


def _csv(rec, header: str | None = None, delimiter: str = ",", time_col: bool = False) -> bytes:
    lines = [] if header is None else [header]
    names = ([("time")] if time_col else []) + list(rec.leads)
    lines.append(delimiter.join(names))
    for i, row in enumerate(rec.signals):
        cells = ([f"{i / rec.fs:.4f}"] if time_col else []) + [f"{v:.5f}" for v in row]
        lines.append(delimiter.join(cells))
    return ("\n".join(lines) + "\n").encode()


def test_csv_round_trip_with_fs_comment(ludb1) -> None:
    rec = read_recording(_csv(ludb1, "# fs=500"))
    assert rec.format == "csv" and rec.fs == 500.0 and rec.leads == STANDARD_12
    np.testing.assert_allclose(rec.signals, ludb1.signals, atol=6e-6)


def test_csv_time_column_and_semicolons(ludb1) -> None:
    rec = read_recording(_csv(ludb1, delimiter=";", time_col=True))
    assert rec.fs == 500.0 and rec.leads == STANDARD_12


def test_csv_fs_parameter_and_units(ludb1) -> None:
    text = "I (uV),II (uV)\n" + "\n".join(f"{a * 1000:.2f},{b * 1000:.2f}" for a, b in ludb1.signals[:, :2])
    rec = read_recording({"export.txt": text.encode()}, fs=500)
    np.testing.assert_allclose(rec.signals, ludb1.signals[:, :2], atol=1e-5)


def test_csv_without_fs(ludb1) -> None:
    _refused(_csv(ludb1), "sampling rate", "fs=500")


def test_csv_non_numeric(ludb1) -> None:
    text = _csv(ludb1, "# fs=500").decode().splitlines()
    text[40] = text[40].replace(text[40].split(",")[2], "abc", 1)
    _refused("\n".join(text).encode(), "line 41", "'III'", "not a number")
    _refused(b"# fs=500\nI,II\nfoo,bar\nbaz,qux\n", "not a number")


def test_csv_ragged_and_empty(ludb1) -> None:
    _refused(b"# fs=500\nI,II\n1,2\n3\n", "line 4", "1 values")
    _refused(b"# fs=500\nI,II\n", "no samples")
    _refused(b"# fs=20\nI\n1\n2\n", "sampling rate 20 Hz is not plausible")


def test_csv_nan_handling(ludb1) -> None:
    text = _csv(ludb1, "# fs=500").decode().splitlines()
    for i in range(100, 110):
        cells = text[i].split(",")
        cells[1] = "nan" if i % 2 else ""
        text[i] = ",".join(cells)
    rec = read_recording("\n".join(text).encode())
    assert np.isfinite(rec.signals).all()
    assert any(w.startswith("II: 10 missing samples") for w in rec.warnings)
    _refused(b"# fs=500\nI,II\n" + b"nan,1\n" * 600, "lead I holds no valid samples")


# --- detection and junk -----------------------------------------------------------------------


def test_detect_format(mit100_files, ludb1_edf: bytes) -> None:
    assert SUPPORTED_FORMATS == ("wfdb", "edf", "csv")
    assert detect_format(mit100_files["100.hea"]) == "wfdb"
    assert detect_format(ludb1_edf, "x.hea") == "edf"
    assert detect_format(_zip(mit100_files)) == "zip"
    assert detect_format(b"# fs=250\nI,II\n0.1,0.2\n") == "csv"
    with pytest.raises(UnreadableRecording, match="empty"):
        detect_format(b"")


@pytest.mark.parametrize("blob, fragment", [
    (b"", "empty file"),
    (bytes(range(256)) * 40, "not a recognised ECG format"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image"),
    (b"%PDF-1.7\n" + bytes(200), "PDF"),
    (b"<?xml version='1.0'?><AnnotatedECG/>", "XML"),
    (b"hello world, this is a letter\n", "not a recognised"),
])
def test_junk_bytes(blob: bytes, fragment: str) -> None:
    _refused(blob, fragment)
    _refused({"upload.bin": blob}, fragment)


def test_broken_header_is_named(mit100_files) -> None:
    hea = mit100_files["100.hea"].replace(b"100 2 360 650000", b"this is not a header")
    _refused({"100.hea": hea, "100.dat": mit100_files["100.dat"]}, "100.hea is not a valid WFDB header")


def test_random_bytes_never_escape_untyped() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 7, 255, 256, 4096, 70000):
        with pytest.raises(UnreadableRecording):
            read_recording(rng.integers(0, 256, size, dtype=np.uint8).tobytes())


def test_bad_sources(tmp_path: Path) -> None:
    _refused(tmp_path / "missing.hea", "not found")
    _refused(tmp_path, "not found")
    _refused({}, "no files")
    _refused({"a.hea": "text, not bytes"}, "not bytes")  # type: ignore[dict-item]
    _refused(12345, "cannot read")  # type: ignore[arg-type]


# --- fuzzing: mutated real files may only ever raise UnreadableRecording ----------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NASTY_TOKENS = [b"0", b"-1", b"1e9", b"99999999999", b"nan", b"", b"2147483648", b"1.5", b"x", b"../x", b"/"]


@st.composite
def _mutations(draw, size: int):
    """A list of (kind, position, payload) edits to apply to a byte string of ``size`` bytes."""
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "token"]))
        pos = draw(st.integers(0, max(0, size - 1)))
        payload = draw(st.sampled_from(_NASTY_TOKENS)) if kind == "token" else draw(st.binary(min_size=1, max_size=8))
        edits.append((kind, pos, payload))
    return edits


def _apply(blob: bytes, edits) -> bytes:
    out = bytearray(blob)
    for kind, pos, payload in edits:
        pos = min(pos, len(out))
        if kind == "flip" and pos < len(out):
            out[pos] ^= payload[0] or 0xFF
        elif kind == "truncate":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = payload
        elif kind == "delete":
            del out[pos: pos + len(payload) * 8]
        elif kind == "token":
            end = pos
            while end < len(out) and out[end:end + 1] not in (b" ", b"\n"):
                end += 1
            out[pos:end] = payload
    return bytes(out)


def _only_typed_errors(source) -> None:
    try:
        rec = read_recording(source)
    except UnreadableRecording as err:
        assert str(err)
        return
    assert rec.signals.ndim == 2 and rec.signals.shape[0] > 0
    assert np.isfinite(rec.signals).all()


_FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def small_wfdb(data: Path) -> tuple[bytes, bytes]:
    return (data / "misc/test01_00s.hea").read_bytes(), (data / "misc/test01_00s.dat").read_bytes()


@_FUZZ
@given(data=st.data())
def test_fuzz_wfdb_pair(small_wfdb, data) -> None:
    hea, dat = small_wfdb
    target = data.draw(st.sampled_from(["hea", "dat", "both"]))
    if target in ("hea", "both"):
        hea = _apply(hea, data.draw(_mutations(len(hea))))
    if target in ("dat", "both"):
        dat = _apply(dat, data.draw(_mutations(len(dat))))
    _only_typed_errors({"test01_00s.hea": hea, "test01_00s.dat": dat})


@_FUZZ
@given(data=st.data())
def test_fuzz_edf(ludb1_edf: bytes, data) -> None:
    header_len = 256 * 14
    in_header = data.draw(st.booleans())
    edits = data.draw(_mutations(header_len if in_header else len(ludb1_edf)))
    _only_typed_errors(_apply(ludb1_edf, edits))


# --- memory: sizes are checked before anything large is allocated (issue 17 item 4) ------------


def _csv_zip_bomb(lines: int = 8_000_000) -> bytes:
    """A ~15 kB zip of an ``lines``-line one-column CSV (the attack of issue 17)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("ecg.csv", b"# fs=500\nI\n" + b"0\n" * lines)
    return buf.getvalue()


def _peak_bytes(fn) -> int:
    """Peak traced allocation (bytes) while ``fn`` runs; numpy reports its arrays to tracemalloc."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_zip_bomb_refused_before_inflating() -> None:
    bomb = _csv_zip_bomb()
    assert len(bomb) < 40_000

    def read() -> None:
        _refused(bomb, "zip would expand", "times")

    peak = _peak_bytes(read)
    assert peak < 4 << 20, f"refusing a {len(bomb)} B zip bomb peaked at {peak / 2**20:.1f} MiB"


def test_csv_is_parsed_into_one_preallocated_array() -> None:
    rows = 1_000_000
    data = b"# fs=500\nI,II\n" + b"0.125,-0.250\n" * rows
    out = []
    peak = _peak_bytes(lambda: out.append(read_recording(data)))
    assert out[0].signals.shape == (rows, 2)
    # The bytes as text, the (rows, 2) float64 array, and chunks; a list of per-line objects
    # (what the reader built before) would cost ~150 MB here.
    budget = len(data) + 2 * rows * 2 * 8 + (16 << 20)
    assert peak < budget, f"peak {peak / 2**20:.0f} MiB > budget {budget / 2**20:.0f} MiB"


def test_csv_sample_cap_checked_on_the_line_count() -> None:
    """66 columns x 1.6 M line breaks exceeds the 100 M sample-value cap: refused from the count of
    line breaks alone (1.6 MB of newlines), before any row is parsed or the array allocated."""
    from ecg.io import limits

    names = ",".join(f"c{j}" for j in range(limits.MAX_LEADS + 2))
    breaks = limits.MAX_SAMPLE_VALUES // (limits.MAX_LEADS + 2) + 10
    row = ",".join("0" for _ in range(limits.MAX_LEADS + 2))
    data = f"# fs=500\n{names}\n{row}\n{row}\n".encode() + b"\n" * breaks
    peak = _peak_bytes(lambda: _refused(data, "rows x 66 columns", f"{limits.MAX_SAMPLE_VALUES} sample values"))
    assert peak < 8 << 20, f"refusing took {peak / 2**20:.0f} MiB"


# --- WFDB storage formats: our numpy decode against wfdb-python's, sample for sample -----------


def _encode(fmt: str, d: np.ndarray) -> bytes:
    """Samples (frames, signals) in storage format ``fmt``, encoded from the signal(5) specification."""
    flat = d.reshape(-1).astype(np.int64)
    if fmt == "61":
        return flat.astype(">i2").tobytes()
    if fmt == "160":
        return (flat + 32768).astype("<u2").tobytes()
    if fmt == "8":
        return np.diff(flat.reshape(d.shape), axis=0, prepend=0).reshape(-1).astype("i1").tobytes()
    s = flat.reshape(-1, 3) & 0x3FF
    if fmt == "311":
        return (s[:, 0] | (s[:, 1] << 10) | (s[:, 2] << 20)).astype("<u4").tobytes()
    w0 = (s[:, 0] << 1) | ((s[:, 2] & 0x1F) << 11)
    w1 = (s[:, 1] << 1) | (((s[:, 2] >> 5) & 0x1F) << 11)
    return np.stack([w0, w1], axis=1).astype("<u2").tobytes()


@pytest.mark.parametrize("fmt", ["16", "212", "80", "24", "32", "61", "160", "310", "311", "8"])
def test_every_storage_format_matches_wfdb(tmp_path: Path, fmt: str) -> None:
    import wfdb

    rng = np.random.default_rng(int(fmt))
    bits = {"80": 8, "8": 8, "212": 12, "310": 10, "311": 10, "24": 24, "32": 32}.get(fmt, 16)
    n = 999
    if fmt == "8":
        d = np.cumsum(rng.integers(-40, 40, (n, 3)), axis=0)
        d[0] = 0  # format 8 starts from the initial value (0 here)
    else:
        d = rng.integers(-(2 ** (bits - 1)) + 2, 2 ** (bits - 1) - 1, (n, 3))
        d[5, 1] = -(2 ** (bits - 1))  # the format's "missing sample" value
    own = fmt in ("61", "160", "310", "311", "8")
    write_fmt = "16" if own else fmt
    wfdb.wrsamp("r", fs=500, units=["mV", "uV", "mV"], sig_name=["I", "II", "V1"], d_signal=d, fmt=[write_fmt] * 3,
                adc_gain=[200.0, 1.5, 100.0], baseline=[3, -2, 0], write_dir=str(tmp_path))
    if own:  # wfdb cannot write these: encode them here from the specification, let wfdb decode them
        (tmp_path / "r.dat").write_bytes(_encode(fmt, d))
        hea = (tmp_path / "r.hea").read_text().replace(" 16 ", f" {fmt} ")
        (tmp_path / "r.hea").write_text(hea)
    ref = wfdb.rdrecord(str(tmp_path / "r")).p_signal
    ref[:, 1] /= 1000.0  # uV -> mV
    rec = read_recording(tmp_path / "r.hea")
    assert rec.signals.shape == ref.shape and rec.leads == ("I", "II", "V1")
    ok = np.isfinite(ref).all(axis=1)
    np.testing.assert_allclose(rec.signals[ok], ref[ok], rtol=1e-12, atol=1e-12)
    if fmt != "8":
        assert any(w.startswith("II: 1 missing samples") for w in rec.warnings), rec.warnings


def test_samples_per_frame_are_averaged_like_wfdb(tmp_path: Path) -> None:
    import wfdb

    d = np.random.default_rng(7).integers(-3000, 3000, (400, 3))  # frame: I twice, then II
    (tmp_path / "s.dat").write_bytes(d.astype("<i2").tobytes())
    (tmp_path / "s.hea").write_text("s 2 250 400\ns.dat 16x2 200 16 0 0 0 0 I\ns.dat 16 200 16 0 0 0 0 II\n")
    ref = wfdb.rdrecord(str(tmp_path / "s"), smooth_frames=True).p_signal
    rec = read_recording(tmp_path / "s.hea")
    # wfdb averages in ADC units and keeps an integer; we average in mV: within one ADC unit (1/200 mV).
    np.testing.assert_allclose(rec.signals, ref, rtol=0, atol=1 / 200 + 1e-12)
    assert np.abs(rec.signals[:, 0] - (d[:, 0] + d[:, 1]) / 2 / 200).max() < 1e-12
    assert any("samples per frame" in w for w in rec.warnings)


# --- inspect_recording: the API's check, from headers and sizes -------------------------------


def _inspect_sources(data: Path, mit100_files: dict[str, bytes]) -> dict[str, object]:
    ludb = _files(data, "ludb/1")
    return {"mitdb 100": mit100_files, "ludb 1": {k: v for k, v in ludb.items() if k.endswith((".hea", ".dat"))},
            "ludb 1 zip": _zip({k: v for k, v in ludb.items() if k.endswith((".hea", ".dat"))}),
            "dicom": {"ecg.dcm": (data / "formats" / "dicom" / "waveform_ecg.dcm").read_bytes()},
            "csv": b"# fs=250\nI,II\n" + b"0.1,0.2\n0.3,0.1\n" * 300}


def test_inspect_describes_what_read_returns_without_decoding(data: Path, mit100_files) -> None:
    from ecg.io import inspect_recording

    for label, source in _inspect_sources(data, mit100_files).items():
        info, rec = inspect_recording(source), read_recording(source)
        assert (info.format, info.fs, info.leads, info.n_samples) == (rec.format, rec.fs, rec.leads, rec.n_samples), label
        assert (info.start_time, info.demographics) == (rec.start_time, rec.demographics), label
        assert set(info.warnings) <= set(rec.warnings), label  # decoding may add missing-sample notes


def test_inspect_refuses_header_and_size_problems(mit100_files) -> None:
    from ecg.io import inspect_recording

    truncated = _mit(mit100_files, **{"100.dat": mit100_files["100.dat"][:1000]})
    for source, fragment in ((truncated, "truncated"), ({"100.hea": mit100_files["100.hea"]}, "not uploaded"),
                             (_csv_zip_bomb(), "zip would expand")):
        with pytest.raises(UnreadableRecording, match=fragment):
            inspect_recording(source)


@pytest.mark.parametrize("name", ["waveform_ecg.dcm", "ECGToolkit_Example.dcm"])
def test_dicom_tags_walker_reads_what_pydicom_reads(data: Path, name: str) -> None:
    """The byte walker (not pydicom) reads these files, and gets pydicom's waveform to the bit."""
    import pydicom

    from ecg.io.dicom_tags import read_tags
    from ecg.io.signals import unit_to_mv

    raw = (data / "formats" / "dicom" / name).read_bytes()
    assert read_tags(raw) is not None
    ds = pydicom.dcmread(io.BytesIO(raw))
    rec = read_recording(raw)
    index = next(i for i, g in enumerate(ds.WaveformSequence) if g.MultiplexGroupLabel.upper() == "RHYTHM")
    group = ds.WaveformSequence[index]
    units = [unit_to_mv(ch.ChannelSensitivityUnitsSequence[0].CodeValue) for ch in group.ChannelDefinitionSequence]
    expected = ds.waveform_array(index) * np.asarray(units)
    assert rec.signals.shape == expected.shape == (group.NumberOfWaveformSamples, 12)
    np.testing.assert_allclose(rec.signals, expected, rtol=1e-12, atol=1e-12)


# --- read_window: a time window of a long record, decoding only the bytes that hold it ----------


def _zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["16", "212", "24", "310", "311", "8"])
def test_a_window_is_the_same_samples_as_the_whole_read(tmp_path: Path, fmt: str) -> None:
    """Every storage format, 3 signals (212 and 310/311 then pack frames across byte groups), windows
    starting on odd frames, at the end and past it; plain files and a zip."""
    import wfdb

    from ecg.io import read_window

    rng = np.random.default_rng(3)
    bits = {"8": 8, "212": 12, "310": 10, "311": 10, "24": 24}.get(fmt, 16)
    n = 1001
    d = (np.cumsum(rng.integers(-40, 40, (n, 3)), axis=0) if fmt == "8"
         else rng.integers(-(2 ** (bits - 1)) + 2, 2 ** (bits - 1) - 1, (n, 3)))
    if fmt == "8":
        d[0] = 0
    own = fmt in ("310", "311", "8")
    wfdb.wrsamp("r", fs=500, units=["mV"] * 3, sig_name=["I", "II", "V1"], d_signal=d,
                fmt=["16" if own else fmt] * 3, adc_gain=[200.0] * 3, baseline=[0] * 3, write_dir=str(tmp_path))
    if own:
        (tmp_path / "r.dat").write_bytes(_encode(fmt, d))
        (tmp_path / "r.hea").write_text((tmp_path / "r.hea").read_text().replace(" 16 ", f" {fmt} "))
    files = {p.name: p.read_bytes() for p in (tmp_path / "r.hea", tmp_path / "r.dat")}
    whole = read_recording(files).signals
    for source in (files, {"r.zip": _zipped(files)}):
        for start_s, duration_s in ((0.0, 0.5), (0.002, 0.31), (0.77, 1.0), (1.99, 5.0)):
            window, info = read_window(source, start_s, duration_s)
            a = int(start_s * 500)
            assert info.n_samples == n and info.leads == ("I", "II", "V1")
            assert window.n_samples == min(n - a, round(duration_s * 500))
            np.testing.assert_array_equal(window.signals, whole[a: a + window.n_samples])


def test_a_window_of_a_long_zipped_record_never_holds_the_record() -> None:
    """20 min of 12 leads (14 MB of samples, 58 MB as float64) in a zip: a 10 s window near the end
    and the upload's inspection each stay under 4 MiB of allocations (the zip itself aside)."""
    from ecg.io import inspect_recording, read_window

    n = 500 * 1200
    d = np.random.default_rng(5).integers(-60, 60, (n, 12)).astype("<i2")
    header = f"long 12 500 {n}\n" + "".join(f"long.dat 16 200/mV 16 0 0 0 0 {lead}\n" for lead in (
        "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"))
    upload = {"long.zip": _zipped({"long.hea": header.encode(), "long.dat": d.tobytes()})}
    got: dict[str, object] = {}
    peak = _peak_bytes(lambda: got.update(w=read_window(upload, 1180.0, 10.0)))
    assert peak < 4 << 20, f"a 10 s window took {peak / 2**20:.1f} MiB"
    window, info = got["w"]
    assert info.duration_s == 1200.0 and window.n_samples == 5000
    np.testing.assert_allclose(window.signals, d[590_000:595_000] / 200.0, rtol=0, atol=1e-12)
    peak = _peak_bytes(lambda: got.update(i=inspect_recording(upload)))
    assert peak < 4 << 20, f"inspecting the zip took {peak / 2**20:.1f} MiB"
    assert got["i"].n_samples == n
