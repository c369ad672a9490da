"""Read Philips resting-ECG XML: SierraECG 1.03 and PhilipsECG 1.04 (UTF-16 or UTF-8).

The rhythm data are in ``parsedwaveforms`` (base64). Uncompressed data are
little-endian int16, lead after lead. XLI-compressed data (the usual case)
are decoded as described by the sierra-ecg-tools project (MIT,
github.com/sixlettervariables/sierra-ecg-tools): per lead a chunk header
(int32 LE compressed size, 2 bytes, int16 LE first sample), a 10-bit LZW
stream (codes MSB first, no clear code) whose output bytes are the high
bytes of the int16 deltas followed by the low bytes, and a second-order
predictor ``x[i] = 2 x[i-1] - x[i-2] - (d[i-1] - 64)``. Limb leads III,
aVR, aVL, aVF are then stored as residuals and are reconstructed from I and II.
The amplitude resolution (µV per bit) is ``signalresolution``/``resolution``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import struct
import xml.etree.ElementTree as ET

import numpy as np

from ecg.io.leads import normalise_leads
from ecg.io.signals import check_declared_shape, check_fs, make_recording
from ecg.io.xmlutil import number, parse, text
from ecg.io.demographics import sex_code
from ecg.types import Demographics, Recording, UnreadableRecording


_STD12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_LZW_BITS = 10


def lzw_decode(chunk: bytes, max_out: int) -> bytes:
    """10-bit MSB-first LZW without clear/end codes; refuses output beyond ``max_out`` bytes."""
    n_codes = len(chunk) * 8 // _LZW_BITS  # every complete code; trailing pad bits are ignored
    if n_codes == 0:
        return b""
    bits = np.unpackbits(np.frombuffer(chunk, dtype=np.uint8))[: n_codes * _LZW_BITS].reshape(n_codes, _LZW_BITS)
    codes = (bits.astype(np.int32) << np.arange(_LZW_BITS - 1, -1, -1, dtype=np.int32)).sum(axis=1).tolist()
    max_code = (1 << _LZW_BITS) - 2
    table: list[bytes] = [bytes([i]) for i in range(256)]
    out = bytearray()
    prev = b""
    for code in codes:
        if code > max_code:
            break  # the reference decoder treats out-of-range codes as the end of the stream
        if code < len(table):
            entry = table[code]
        elif code == len(table) and prev:
            entry = prev + prev[:1]
        else:
            raise UnreadableRecording("Philips XLI: the compressed waveform is damaged (invalid LZW code)")
        if prev and len(table) <= max_code:
            table.append(prev + entry[:1])
        out += entry
        if len(out) > max_out:
            raise UnreadableRecording("Philips XLI: a lead decompresses to more data than the file declares")
        prev = entry
    return bytes(out)


def _undelta(buf: bytes, first: int) -> np.ndarray:
    if len(buf) % 2:
        buf += b"\x00"
    half = len(buf) // 2
    hi = np.frombuffer(buf[:half], dtype=np.uint8).astype(np.int32)
    lo = np.frombuffer(buf[half:], dtype=np.uint8).astype(np.int32)
    d = ((hi << 8) | lo).astype(np.uint16).view(np.int16).astype(np.int64)
    out = d.copy()
    if len(d) < 3:
        return out
    x, y, last = int(d[0]), int(d[1]), first
    dl = d.tolist()
    res = out.tolist()
    for i in range(2, len(dl)):
        z = 2 * y - x - last
        z = ((z + 32768) & 0xFFFF) - 32768  # the device arithmetic is int16
        last = dl[i] - 64
        res[i] = z
        x, y = y, z
    return np.asarray(res, dtype=np.int64)


def xli_decode(data: bytes, n_leads: int, n_samples: int) -> list[np.ndarray]:
    """Decode ``n_leads`` XLI chunks of ``n_samples`` samples each."""
    leads = []
    offset = 0
    for k in range(n_leads):
        if offset + 8 > len(data):
            raise UnreadableRecording(f"Philips XLI: the waveform data end after {k} of {n_leads} leads (truncated)")
        size, _, first = struct.unpack_from("<ihh", data, offset)
        offset += 8
        if size < 0 or offset + size > len(data):
            raise UnreadableRecording(f"Philips XLI: lead {k + 1} declares {size} compressed bytes; "
                                      f"only {len(data) - offset} remain (truncated or damaged)")
        if size > 4 * n_samples + 1024:  # 10-bit LZW codes never need more than 1.25 bytes per output byte
            raise UnreadableRecording(f"Philips XLI: lead {k + 1} holds {size} compressed bytes, far more than "
                                      f"{n_samples} samples need (damaged file)")
        raw = lzw_decode(data[offset: offset + size], max_out=2 * n_samples + 64)
        offset += size
        x = _undelta(raw, first)
        if len(x) < n_samples:
            raise UnreadableRecording(f"Philips XLI: lead {k + 1} holds {len(x)} samples; {n_samples} declared")
        leads.append(x[:n_samples])
    return leads


def _reconstruct_limb(leads: list[np.ndarray]) -> None:
    """XLI stores III, aVR, aVL, aVF as residuals from the values predicted by I and II."""
    i, ii, iii, avr, avl, avf = leads[:6]
    leads[2] = iii = ii - i - iii
    leads[3] = -avr - np.floor_divide(i + ii, 2)
    leads[4] = np.floor_divide(i - iii, 2) - avl
    leads[5] = np.floor_divide(ii + iii, 2) - avf


def _date_time(el: ET.Element | None) -> dt.datetime | None:
    if el is None:
        return None
    try:
        return dt.datetime.strptime(f"{el.get('date')} {el.get('time')}", "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return None


def _demographics(root: ET.Element, start: dt.datetime | None) -> Demographics:
    p = root.find("patient/generalpatientdata")
    sex = {"MALE": "M", "FEMALE": "F"}.get((text(p, "sex") or "").upper())
    birth = None
    try:
        birth = dt.datetime.strptime(text(p, "age/dateofbirth") or "", "%Y-%m-%d").date()
    except ValueError:
        pass
    age = None
    if birth is not None and start is not None and 0 <= (start.date() - birth).days <= 130 * 366:
        age = (start.date() - birth).days
    else:
        try:
            years = float(text(p, "age/years") or "")
            age = round(years * 365.25) if 0 <= years <= 130 else None
        except ValueError:
            age = None
    return Demographics(patient_id=text(p, "patientid"), age_days=age, sex=sex_code(sex), birth_date=birth)



def read_philips(data: bytes, name: str | None = None) -> Recording:
    """Read a Philips SierraECG / PhilipsECG XML document (bytes) into a Recording (mV)."""
    root = parse(data, "Philips")
    doc_type = text(root, "documentinfo/documenttype") or "?"
    version = text(root, "documentinfo/documentversion") or "?"
    sig = root.find("dataacquisition/signalcharacteristics")
    wave = root.find("waveforms/parsedwaveforms")
    if wave is None:
        wave = next(root.iter("parsedwaveforms"), None)
    if sig is None or wave is None:
        raise UnreadableRecording(f"Philips XML ({doc_type} {version}): no signal description or no waveforms")
    fs = check_fs(number(text(sig, "samplingrate") or wave.get("samplespersecond"), "Philips: the sampling rate"))
    resolution = number(text(sig, "signalresolution") or text(sig, "resolution") or wave.get("resolution"),
                        "Philips: the signal resolution")
    if not np.isfinite(resolution) or not 0 < resolution <= 1000:
        raise UnreadableRecording(f"Philips: signal resolution {resolution} µV per bit is not plausible")
    duration_ms = number(wave.get("durationperchannel"), "Philips: the duration per channel")
    n = round(duration_ms * fs / 1000.0) if np.isfinite(duration_ms) else 0
    labels_attr = (wave.get("leadlabels") or "").split()
    n_leads = number(wave.get("numberofleads") or text(sig, "numberchannelsvalid")
                     or text(sig, "numberchannelsallocated"), "Philips: the number of leads", int)
    labels = labels_attr[:n_leads] if labels_attr else list(_STD12[:n_leads])
    check_declared_shape(n, n_leads, fs)
    if len(labels) != n_leads:
        raise UnreadableRecording(f"Philips: {n_leads} leads declared but {len(labels)} lead labels given")
    try:
        raw = base64.b64decode("".join((wave.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableRecording("Philips: the waveform data are not valid base64") from None
    method = (wave.get("compressmethod") or wave.get("compression") or "Uncompressed").upper()
    warnings: list[str] = []
    if method == "XLI":
        leads = xli_decode(raw, n_leads, n)
        if tuple(labels[:6]) == _STD12[:6]:
            _reconstruct_limb(leads)
        else:
            warnings.append("Philips XLI: leads are not in standard order; limb leads were not reconstructed")
    elif method in ("UNCOMPRESSED", "NONE", "FALSE"):
        if len(raw) < 2 * n * n_leads:
            raise UnreadableRecording(f"Philips: the waveform data hold {len(raw)} bytes; {2 * n * n_leads} declared")
        flat = np.frombuffer(raw[: 2 * n * n_leads], dtype="<i2").astype(np.int64)
        leads = [flat[k * n:(k + 1) * n] for k in range(n_leads)]
    else:
        raise UnreadableRecording(f"Philips: waveform compression {method!r} is not supported (XLI or none)")
    signals = np.stack(leads, axis=1).astype(np.float64) * (resolution / 1000.0)
    start = _date_time(root.find("dataacquisition"))
    return make_recording(signals, fs, normalise_leads(labels), "philips", start_time=start,
                          demographics=_demographics(root, start), warnings=warnings)
