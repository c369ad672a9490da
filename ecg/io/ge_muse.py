"""Read GE MUSE RestingECG XML exports.

Each ``Waveform`` element (``WaveformType`` Rhythm or Median) holds one
``LeadData`` per lead: base64 of little-endian int16 samples,
``LeadAmplitudeUnitsPerBit`` in ``LeadAmplitudeUnits`` (MICROVOLTS), the
sampling rate in ``SampleBase`` x 10^``SampleExponent``. The Rhythm waveform
is read; the median beats are left out with a note. MUSE stores the 8
independent leads (I, II, V1-V6): III, aVR, aVL, aVF are derived.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np

from ecg.io.derived import add_derived_limb_leads
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording, unit_to_mv
from ecg.io.xmlutil import number, parse, text
from ecg.io.demographics import sex_code
from ecg.types import Demographics, Recording, UnreadableRecording


_UNITS = {"MICROVOLTS": "uV", "MILLIVOLTS": "mV", "VOLTS": "V", "UV": "uV", "MV": "mV"}


def _choose(root: ET.Element) -> tuple[ET.Element, list[str]]:
    waves = root.findall("Waveform")
    if not waves:
        raise UnreadableRecording("this GE MUSE XML file holds no waveforms")
    rhythm = [w for w in waves if (text(w, "WaveformType") or "").lower() == "rhythm"]
    if not rhythm:
        raise UnreadableRecording("this GE MUSE XML file holds only median (averaged) beats, no rhythm waveform")
    chosen = rhythm[0]
    notes = [f"GE MUSE: the {(text(w, 'WaveformType') or 'other').lower()} waveform was not used; "
             "the rhythm waveform was read" for w in waves if w is not chosen]
    return chosen, notes


def _lead(ld: ET.Element, k: int) -> tuple[str, np.ndarray]:
    lead_id = text(ld, "LeadID") or f"lead {k + 1}"
    count = number(text(ld, "LeadSampleCountTotal"), f"GE MUSE: sample count of lead {lead_id}", int)
    size = int(number(text(ld, "LeadSampleSize", "2"), f"GE MUSE: sample size of lead {lead_id}", int))
    if size != 2:
        raise UnreadableRecording(f"GE MUSE: lead {lead_id} uses {size}-byte samples; only 2-byte samples are supported")
    per_bit = number(text(ld, "LeadAmplitudeUnitsPerBit", "1"), f"GE MUSE: amplitude of lead {lead_id}")
    unit = text(ld, "LeadAmplitudeUnits", "MICROVOLTS") or ""
    factor = unit_to_mv(_UNITS.get(unit.upper(), unit))
    if factor is None or not np.isfinite(per_bit) or per_bit <= 0:
        raise UnreadableRecording(f"GE MUSE: lead {lead_id} has an unusable amplitude scale ({per_bit} {unit})")
    payload = text(ld, "WaveFormData") or ""
    if count <= 0 or count > len(payload):  # base64 needs > 2 characters per int16 sample
        raise UnreadableRecording(
            f"GE MUSE: lead {lead_id} declares {count} samples but holds {len(payload)} characters of data "
            "(the file is truncated or its header is wrong)")
    try:
        raw = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableRecording(f"GE MUSE: the waveform data of lead {lead_id} is not valid base64") from None
    if len(raw) < 2 * count:
        raise UnreadableRecording(
            f"GE MUSE: lead {lead_id} declares {count} samples but its data holds only {len(raw) // 2} "
            "(the file is truncated or its header is wrong)")
    x = np.frombuffer(raw[: 2 * count], dtype="<i2").astype(np.float64)
    return lead_id, x * per_bit * factor


def _date(value: str | None, fmt: str = "%m-%d-%Y") -> dt.date | None:
    try:
        return dt.datetime.strptime(value or "", fmt).date()
    except ValueError:
        return None


def _start(root: ET.Element) -> dt.datetime | None:
    d = text(root, "TestDemographics/AcquisitionDate")
    t = text(root, "TestDemographics/AcquisitionTime")
    try:
        return dt.datetime.strptime(f"{d} {t}", "%m-%d-%Y %H:%M:%S") if d and t else None
    except ValueError:
        return None


def _demographics(root: ET.Element, start: dt.datetime | None) -> Demographics:
    p = root.find("PatientDemographics")
    birth = _date(text(p, "DateofBirth"))
    sex = {"MALE": "M", "FEMALE": "F"}.get((text(p, "Gender") or "").upper())
    age = None
    if birth is not None and start is not None and 0 <= (start.date() - birth).days <= 130 * 366:
        age = (start.date() - birth).days
    elif text(p, "PatientAge"):
        per = {"YEARS": 365.25, "MONTHS": 30.4375, "WEEKS": 7, "DAYS": 1}.get((text(p, "AgeUnits") or "YEARS").upper())
        try:
            years = float(text(p, "PatientAge") or "")
            age = round(years * per) if per and 0 <= years * per <= 130 * 366 else None
        except ValueError:
            age = None
    return Demographics(patient_id=text(p, "PatientID"), age_days=age, sex=sex_code(sex), birth_date=birth)



def read_ge_muse(data: bytes, name: str | None = None) -> Recording:
    """Read a GE MUSE RestingECG XML document (bytes) into a Recording (mV)."""
    root = parse(data, "GE MUSE")
    wave, notes = _choose(root)
    base = number(text(wave, "SampleBase"), "GE MUSE: the sampling rate (SampleBase)")
    exponent = number(text(wave, "SampleExponent", "0"), "GE MUSE: the sampling rate exponent", int)
    if not -3 <= exponent <= 6:
        raise UnreadableRecording(f"GE MUSE: sampling rate exponent {exponent} is not plausible")
    fs = check_fs(base * 10.0 ** exponent)
    lead_data = wave.findall("LeadData")
    if not lead_data:
        raise UnreadableRecording("GE MUSE: the rhythm waveform holds no lead data")
    check_declared_shape(1, len(lead_data), fs)
    for k, ld in enumerate(lead_data):  # declared sizes first, before anything is decoded
        n = number(text(ld, "LeadSampleCountTotal"), f"GE MUSE: sample count of lead {k + 1}", int)
        check_declared_shape(n, len(lead_data), fs)
    pairs = [_lead(ld, k) for k, ld in enumerate(lead_data)]
    n = min(len(x) for _, x in pairs)
    if any(len(x) != n for _, x in pairs):
        notes.append(f"GE MUSE: the leads have different lengths; all were cut to the shortest ({n} samples)")
    signals = np.stack([x[:n] for _, x in pairs], axis=1)
    leads = normalise_leads([c for c, _ in pairs])
    signals, leads, derived = add_derived_limb_leads(signals, leads)
    start = _start(root)
    return make_recording(signals, fs, leads, "ge_muse", start_time=start, demographics=_demographics(root, start),
                          warnings=notes + derived)
