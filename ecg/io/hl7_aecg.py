"""Read HL7 v3 annotated ECG (aECG, FDA XML) documents.

The rhythm series (``series/code = RHYTHM``, else the first series) holds a
sequence set: one time sequence (GLIST_TS/GLIST_PQ with ``head`` and
``increment``: the sampling interval) and one SLIST_PQ sequence per lead,
whose ``digits`` are scaled as ``origin + scale x digit`` in the given unit
(uV/mV). Lead codes ``MDC_ECG_LEAD_I``... map to standard names. Derived
series (representative beats) are not read. Parsing uses defusedxml.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import numpy as np

from ecg.io import limits
from ecg.io.derived import add_derived_limb_leads, standard_order
from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording, unit_to_mv
from ecg.io.xmlutil import number, parse
from ecg.io.demographics import sex_code
from ecg.types import Demographics, Recording, UnreadableRecording


_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _code(el: ET.Element) -> str:
    c = el.find("code")
    return (c.get("code") or "").strip() if c is not None else ""


def _ts(value: str | None) -> dt.datetime | None:
    """An HL7 TS (YYYYMMDDHHMMSS[.fff][+zone]) as a naive datetime, or None."""
    s = re.sub(r"[^0-9]", "", (value or "").split(".")[0].split("+")[0].split("-")[0])
    for fmt, n in (("%Y%m%d%H%M%S", 14), ("%Y%m%d%H%M", 12), ("%Y%m%d", 8)):
        if len(s) >= n:
            try:
                return dt.datetime.strptime(s[:n], fmt)
            except ValueError:
                return None
    return None


def _choose_series(root: ET.Element) -> ET.Element:
    series = [s for s in root.iter("series")]
    if not series:
        raise UnreadableRecording("this HL7 aECG XML file holds no waveform series")
    rhythm = [s for s in series if _code(s).upper() == "RHYTHM"]
    return (rhythm or series)[0]


def _interval_s(seq: ET.Element) -> float:
    inc = seq.find("value/increment")
    if inc is None:
        raise UnreadableRecording("HL7 aECG: the time sequence has no sampling increment")
    value = number(inc.get("value"), "HL7 aECG: the sampling increment")
    unit = (inc.get("unit") or "s").strip()
    if unit not in _TIME_UNITS:
        raise UnreadableRecording(f"HL7 aECG: the sampling increment unit {unit!r} is not a time unit")
    return value * _TIME_UNITS[unit]


def _lead(seq: ET.Element, code: str) -> tuple[str, np.ndarray]:
    value = seq.find("value")
    digits = seq.find("value/digits")
    if value is None or digits is None or not (digits.text or "").strip():
        raise UnreadableRecording(f"HL7 aECG: lead {code} has no digits")
    origin = value.find("origin")
    scale = value.find("scale")
    o = number(origin.get("value"), f"HL7 aECG: origin of {code}") if origin is not None else 0.0
    s = number(scale.get("value"), f"HL7 aECG: scale of {code}") if scale is not None else 1.0
    unit = (scale.get("unit") if scale is not None else None) or (origin.get("unit") if origin is not None else None)
    factor = unit_to_mv(unit)
    if factor is None:
        raise UnreadableRecording(f"HL7 aECG: lead {code} is in {unit!r}, not a voltage unit")
    tokens = (digits.text or "").split()
    if len(tokens) > limits.MAX_SAMPLE_VALUES:
        raise UnreadableRecording(f"HL7 aECG: lead {code} holds more samples than accepted")
    try:
        x = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|nan|inf", t, re.IGNORECASE))
        raise UnreadableRecording(f"HL7 aECG: lead {code} holds a value that is not a number ({bad[:20]!r})") from None
    return code, (o + s * x) * factor


def _demographics(root: ET.Element, start: dt.datetime | None) -> Demographics:
    sex_el = next(root.iter("administrativeGenderCode"), None)
    sex = (sex_el.get("code") or "").strip().upper() if sex_el is not None else ""
    birth_el = next(root.iter("birthTime"), None)
    birth_dt = _ts(birth_el.get("value")) if birth_el is not None else None
    birth = birth_dt.date() if birth_dt else None
    pid = None
    subject = next(root.iter("trialSubject"), None)
    if subject is not None and (subject_id := subject.find("id")) is not None:
        pid = (subject_id.get("extension") or "").strip() or None

    age = None
    if birth is not None and start is not None and 0 <= (start.date() - birth).days <= 130 * 366:
        age = (start.date() - birth).days
    return Demographics(patient_id=pid, age_days=age, sex=sex_code(sex),
                        birth_date=birth)


def read_hl7_aecg(data: bytes, name: str | None = None) -> Recording:
    """Read an HL7 aECG XML document (bytes) into a Recording (mV)."""
    root = parse(data, "HL7 aECG")
    series = _choose_series(root)
    seq_sets = [ss for ss in series.iter("sequenceSet")]
    if not seq_sets:
        raise UnreadableRecording("HL7 aECG XML: the rhythm series holds no sequence set (no waveforms)")
    sequences = list(seq_sets[0].iter("sequence"))
    times = [s for s in sequences if _code(s).upper().startswith("TIME_")]
    if not times:
        raise UnreadableRecording("HL7 aECG XML: the rhythm series has no time sequence (sampling rate unknown)")
    fs = check_fs(1.0 / _interval_s(times[0]) if _interval_s(times[0]) > 0 else 0.0)
    head = times[0].find("value/head")
    start = _ts(head.get("value")) if head is not None else None
    lead_seqs = [s for s in sequences if not _code(s).upper().startswith("TIME_")]
    if not lead_seqs:
        raise UnreadableRecording("HL7 aECG XML: the rhythm series holds no lead sequences")
    check_declared_shape(1, len(lead_seqs), fs)
    pairs = [_lead(s, _code(s) or f"lead {k + 1}") for k, s in enumerate(lead_seqs)]
    n = min(len(x) for _, x in pairs)
    warnings = []
    if any(len(x) != n for _, x in pairs):
        warnings.append(f"HL7 aECG: the leads have different lengths; all were cut to the shortest ({n} samples)")
    check_declared_shape(n, len(pairs), fs)
    names = [re.sub(r"^MDC_ECG_LEAD_", "", c, flags=re.IGNORECASE) for c, _ in pairs]
    signals = np.stack([x[:n] for _, x in pairs], axis=1)
    leads = normalise_leads(names)
    signals, leads, derived = add_derived_limb_leads(signals, leads)
    signals, leads = standard_order(signals, leads)
    if start is None:
        start = _ts((next(series.iter("low"), None) or ET.Element("x")).get("value"))
    return make_recording(signals, fs, leads, "hl7_aecg", start_time=start,
                          demographics=_demographics(root, start), warnings=warnings + derived)
