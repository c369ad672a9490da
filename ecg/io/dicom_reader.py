"""Read DICOM ECG waveforms (12-Lead ECG, General ECG, Ambulatory ECG Waveform Storage).

pydicom parses the file and decodes each multiplex group
(``Dataset.waveform_array``: raw x Channel Sensitivity x Correction Factor
+ Channel Baseline, in the Channel Sensitivity Units). Here the units are
converted to mV per channel, and the rhythm group is chosen: the group
labelled RHYTHM, else the longest ORIGINAL group, else the longest one. A
median-beat group (MEDIAN BEAT / DERIVED) is left out with a note. Declared
sizes are checked against the limits and the real byte count before pydicom
builds any array. ``inspect_dicom`` stops there: the API's check, no sample decoded.

The elements are read by ``ecg.io.dicom_tags`` (only the needed ones, from the bytes;
pydicom spends ~11 ms walking a cart's annotation sequences); pydicom reads the files
that walker leaves to it (other transfer syntaxes, anything odd).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias


import numpy as np
import numpy.typing as npt


from ecg.io.derived import add_derived_limb_leads
from ecg.io.dicom_tags import Node, read_tags
from ecg.io.info import RecordingInfo
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording, unit_to_mv
from ecg.io.demographics import sex_code
from ecg.types import Demographics, Recording, UnreadableRecording


if TYPE_CHECKING:
    from pydicom.dataset import Dataset

#: A parsed dataset or sequence item: pydicom's, or ``ecg.io.dicom_tags``' (read alike: ``get``, ``in``, attributes).
Item: TypeAlias = "Dataset | Node"

_ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "general ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "ambulatory ECG",
}
_BITS = {(16, "SS"), (16, "US"), (8, "SB"), (8, "UB"), (32, "SL"), (32, "UL")}


def _int(item: Item, key: str, what: str) -> int:
    try:
        value = int(item.get(key, ""))
    except (TypeError, ValueError):
        raise UnreadableRecording(f"DICOM waveform: {what} is missing or not a number") from None
    return value


def _group_info(ds: Item, i: int) -> tuple[str, str, int, int, float]:
    """(label, originality, n_samples, n_channels, fs) of waveform group ``i``; checked, nothing decoded."""
    g = ds.WaveformSequence[i]
    label = str(g.get("MultiplexGroupLabel", "") or "").upper()
    orig = str(g.get("WaveformOriginality", "") or "").upper()
    n = _int(g, "NumberOfWaveformSamples", "the number of samples")
    c = _int(g, "NumberOfWaveformChannels", "the number of channels")
    try:
        fs = float(g.get("SamplingFrequency"))
    except (TypeError, ValueError):
        raise UnreadableRecording("DICOM waveform: the sampling frequency is missing or not a number") from None
    return label, orig, n, c, fs


def _choose_group(ds: Item) -> tuple[int, list[str]]:
    """Index of the rhythm group, and notes about the groups left out."""
    groups = []
    for i in range(len(ds.WaveformSequence)):
        try:
            groups.append((i, *_group_info(ds, i)))
        except UnreadableRecording:
            continue
    if not groups:
        raise UnreadableRecording("DICOM waveform: no readable waveform group (sample/channel counts missing)")

    def rank(g: tuple[int, str, str, int, int, float]) -> tuple[bool, bool, float, int]:
        _, label, orig, n, c, fs = g
        duration = n / fs if fs > 0 else 0
        return ("RHYTHM" in label, orig == "ORIGINAL" and "MEDIAN" not in label, duration, c)

    chosen = max(groups, key=rank)
    if "MEDIAN" in chosen[1]:
        raise UnreadableRecording("this DICOM ECG holds only median (averaged) beats, no rhythm recording; "
                                  "export the full 10 s rhythm from the device")
    notes = []
    for g in groups:
        if g[0] != chosen[0]:
            kind = "median-beat" if "MEDIAN" in g[1] or g[2] == "DERIVED" else "additional"
            notes.append(f"DICOM: a {kind} waveform group ({g[1].title() or 'unlabelled'}, "
                         f"{g[3] / g[5] if g[5] > 0 else 0:.3g} s) was not used; the rhythm group was read")
    return chosen[0], notes


def _channel_names(g: Item) -> list[str]:
    names = []
    for k, ch in enumerate(g.get("ChannelDefinitionSequence", []) or []):
        src = (ch.get("ChannelSourceSequence") or [None])[0]
        meaning = str(src.get("CodeMeaning", "")) if src is not None else ""
        meaning = re.sub(r"\s*\(.*?\)\s*$", "", meaning).strip()  # "Lead I (Einthoven)" -> "Lead I"
        meaning = re.sub(r",\s*augmented voltage\b.*$", "", meaning)  # PS3.16: "aVR, augmented voltage, right"
        names.append(meaning or str(ch.get("ChannelLabel", "") or f"channel {k + 1}"))
    return names


def _channel_factors(g: Item, n_channels: int) -> list[float]:
    """Factor to mV per channel from the Channel Sensitivity Units; refuses non-voltage channels."""
    seq = list(g.get("ChannelDefinitionSequence", []) or [])
    if len(seq) != n_channels:
        raise UnreadableRecording(
            f"DICOM waveform: {n_channels} channels declared but {len(seq)} channel definitions present")
    factors = []
    for k, ch in enumerate(seq):
        units = (ch.get("ChannelSensitivityUnitsSequence") or [None])[0]
        unit = str(units.get("CodeValue", "")) if units is not None else ""
        factor = unit_to_mv(unit)
        if factor is None:
            raise UnreadableRecording(f"DICOM waveform: channel {k + 1} is in {unit!r}, not a voltage unit")
        for key in ("ChannelSensitivity", "ChannelSensitivityCorrectionFactor", "ChannelBaseline"):
            value = ch.get(key)
            try:
                ok = value is None or np.isfinite(float(value))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise UnreadableRecording(f"DICOM waveform: channel {k + 1} has an unusable {key} ({str(value)[:20]!r})")
        factors.append(factor)
    return factors


def _date(value: object) -> dt.date | None:
    s = str(value or "").strip()
    try:
        return dt.datetime.strptime(s[:8], "%Y%m%d").date() if len(s) >= 8 else None
    except ValueError:
        return None


def _start_time(ds: Item) -> dt.datetime | None:
    for stamp in (ds.get("AcquisitionDateTime"), f"{ds.get('ContentDate', '')}{ds.get('ContentTime', '')}"):
        s = re.sub(r"[^0-9]", "", str(stamp or "").split(".")[0].split("+")[0])[:14]
        if len(s) >= 12:
            try:
                return dt.datetime.strptime(s.ljust(14, "0"), "%Y%m%d%H%M%S")
            except ValueError:
                continue
    return None


def _age_days(age_string: object, birth: dt.date | None, start: dt.datetime | None) -> int | None:
    if birth is not None and start is not None and 0 <= (start.date() - birth).days <= 130 * 366:
        return (start.date() - birth).days
    m = re.fullmatch(r"(\d{3})([DWMY])", str(age_string or "").strip())
    if not m:
        return None
    per = {"D": 1, "W": 7, "M": 30.4375, "Y": 365.25}[m.group(2)]
    return round(int(m.group(1)) * per)


def _demographics(ds: Item, start: dt.datetime | None) -> Demographics:
    birth = _date(ds.get("PatientBirthDate"))
    sex = str(ds.get("PatientSex", "") or "").strip().upper()[:1]
    pid = str(ds.get("PatientID", "") or "").strip() or None
    return Demographics(patient_id=pid, age_days=_age_days(ds.get("PatientAge"), birth, start),
                        sex=sex_code(sex), birth_date=birth)


def read_dicom(data: bytes, name: str | None = None) -> Recording:
    """Read a DICOM ECG waveform object (bytes) into a Recording (mV).

    pydicom's warnings about non-conformant values are silenced: every value used here is checked.
    pydicom parses elements lazily, so a damaged element may only fail when it is first used: such
    failures are reported as a damaged file.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _read_dicom(data)
        except UnreadableRecording:
            raise
        except (MemoryError, RecursionError):
            raise UnreadableRecording("the DICOM file is damaged: it could not be parsed within limits") from None
        except Exception as exc:
            raise UnreadableRecording(
                f"the DICOM file is damaged ({type(exc).__name__}: {str(exc)[:120]})") from exc


#: The only top-level elements parsed. Devices add large sequences (Mortara: ~240 waveform
#: annotations) that cost pydicom ~20 ms to parse and that nothing here reads.
_TAGS_READ = ("SOPClassUID", "WaveformSequence", "PixelData", "PatientID", "PatientBirthDate", "PatientSex",
              "PatientAge", "AcquisitionDateTime", "ContentDate", "ContentTime")


@dataclass(frozen=True)
class _Checked:
    """A parsed DICOM ECG whose rhythm group passed every check; its samples are not decoded yet."""

    ds: Item
    index: int
    n: int                  # samples per channel
    fs: float               # Hz
    factors: list[float]    # per channel, to mV
    leads: tuple[str, ...]
    notes: list[str]


def _checked(data: bytes) -> _Checked:
    """Parse only the needed tags and check SOP class, group, sample format, sizes and units."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    ds: Item | None = read_tags(data)  # the needed elements only, from the bytes; None: let pydicom read it
    try:
        if ds is None:
            ds = pydicom.dcmread(io.BytesIO(data), force=False, specific_tags=list(_TAGS_READ))

            ds.get("WaveformSequence")  # force parsing of the deferred elements we need
    except InvalidDicomError as exc:
        raise UnreadableRecording(f"the DICOM file is not valid ({exc})") from None
    except Exception as exc:  # pydicom raises many types on damaged files
        raise UnreadableRecording(
            f"the DICOM file is damaged or truncated ({type(exc).__name__}: {str(exc)[:120]})") from exc
    sop = str(ds.get("SOPClassUID", "") or "")
    if "WaveformSequence" not in ds and not sop:
        raise UnreadableRecording("the DICOM file holds neither a waveform nor an object type: "
                                  "it is truncated or damaged")
    if "WaveformSequence" not in ds or not ds.WaveformSequence:
        what = "an image or other DICOM object" if "PixelData" in ds else "a DICOM object"
        raise UnreadableRecording(f"this DICOM file holds no ECG waveform (it is {what}, SOP class {sop or 'unknown'})")
    index, notes = _choose_group(ds)
    _label, _orig, n, c, fs = _group_info(ds, index)
    fs = check_fs(fs)
    check_declared_shape(n, c, fs)
    g = ds.WaveformSequence[index]
    bits = _int(g, "WaveformBitsAllocated", "the bits per sample")
    interp = str(g.get("WaveformSampleInterpretation", ""))
    if (bits, interp) not in _BITS:
        raise UnreadableRecording(f"DICOM waveform: sample format {bits} bits {interp!r} is not supported")
    raw = g.get("WaveformData")
    have = len(raw) if raw is not None else 0
    need = n * c * bits // 8
    if have < need:
        raise UnreadableRecording(
            f"DICOM waveform: the waveform data holds {have} bytes but {n} samples x {c} channels need {need} "
            "(the file is truncated or its header is wrong)")
    factors = _channel_factors(g, c)
    if sop and sop not in _ECG_SOP_CLASSES:
        notes.append(f"DICOM: SOP class {sop} is not an ECG waveform class; its waveform was read anyway")
    return _Checked(ds, index, n, fs, factors, normalise_leads(_channel_names(g)), notes)


def inspect_dicom(data: bytes, name: str | None = None) -> RecordingInfo:
    """What ``read_dicom`` would return, from the tags alone: no sample is decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            k = _checked(data)
            _, leads, derived = add_derived_limb_leads(np.empty((0, len(k.leads))), k.leads)
            start = _start_time(k.ds)
            return RecordingInfo(format="dicom", fs=k.fs, leads=leads, n_samples=k.n, start_time=start,
                                 demographics=_demographics(k.ds, start), warnings=tuple(k.notes + derived))
        except UnreadableRecording:
            raise
        except Exception as exc:
            raise UnreadableRecording(
                f"the DICOM file is damaged ({type(exc).__name__}: {str(exc)[:120]})") from exc


_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "<i2", (16, "US"): "<u2", (32, "SL"): "<i4", (32, "UL"): "<u4"}


def _waveform_mv(k: _Checked) -> npt.NDArray[np.float64]:
    """The rhythm group in mV, (samples, channels): raw x sensitivity x correction + baseline
    (PS3.3 C.10.9.1.4, as pydicom's ``waveform_array``), times each channel's unit factor."""
    if not isinstance(k.ds, Node):
        wave: npt.NDArray[np.float64] = k.ds.waveform_array(k.index)  # float64: the sensitivities applied
        return wave * np.asarray(k.factors, dtype=np.float64)[None, :]
    g = k.ds.WaveformSequence[k.index]
    c = len(k.factors)
    dtype = _DTYPES[(int(g.WaveformBitsAllocated), str(g.WaveformSampleInterpretation))]
    raw = np.frombuffer(g.WaveformData, dtype=dtype, count=k.n * c).reshape(k.n, c)
    gain, offset = np.empty(c), np.empty(c)
    for j, ch in enumerate(g.ChannelDefinitionSequence):
        scale = float(ch.get("ChannelSensitivity", 1.0)) * float(ch.get("ChannelSensitivityCorrectionFactor", 1.0))
        gain[j], offset[j] = scale * k.factors[j], float(ch.get("ChannelBaseline", 0.0)) * k.factors[j]
    mv: npt.NDArray[np.float64] = raw * gain + offset  # integer samples x float64 gains: float64
    return mv



def _read_dicom(data: bytes) -> Recording:
    k = _checked(data)
    signals = _waveform_mv(k)
    signals, leads, derived = add_derived_limb_leads(signals, k.leads)
    start = _start_time(k.ds)
    return make_recording(signals, k.fs, leads, "dicom", start_time=start, demographics=_demographics(k.ds, start),
                          warnings=k.notes + derived)
