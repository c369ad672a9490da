"""A 12-Lead ECG Waveform Storage object (PS3.3 A.34.3) built from a study uploaded in another format
(WFDB, EDF, CSV, ...), so the PACS shows the tracing next to the report's PDF.

The object holds the recording's first ``WAVEFORM_S`` s (the IOD allows at most 16 s per multiplex
group; the printed report shows the same first 10 s), in one RHYTHM group: the 12 standard leads,
16-bit signed samples, interleaved little-endian, coded by CID 3001 (MDC) with their sensitivity in
µV per LSB (UCUM ``uV``). The resolution is the finest of ``RESOLUTIONS_UV`` at which no sample clips.
Its UIDs are derived from the study id: a re-sent delivery or an amendment stores the same instance.

Only a recording with all 12 standard leads, sampled at 200-1000 Hz (the IOD's range), becomes an
object; anything else (fewer or other leads, Holter rates) would need General ECG Waveform Storage,
which is not built: ``None``, and only the PDF goes, as before.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, TwelveLeadECGWaveformStorage

from app.integration.dicom_uid import derived_uid
from app.integration.dicom_worklist import CHARSET
from app.integration.pacs_export import patient_module
from app.studies.recording import load_window
from ecg.types import Recording
from storage.blobs import BlobStore
from storage.models import Study

#: Seconds of the recording in the object, from its start (the IOD's maximum is 16 s).
WAVEFORM_S = 10.0
#: The IOD's sampling frequency range (Hz), PS3.3 A.34.3.4.5.
FS_RANGE_HZ = (200.0, 1000.0)
#: Candidate resolutions (µV per LSB), finest first.
RESOLUTIONS_UV = (1.0, 2.5, 5.0, 10.0)
_INT16_MAX = 32767

#: The 12 standard leads in the order sent, with their CID 3001 code (scheme MDC) and meaning, as in
#: PS3.16 (pydicom's ``codes.MDC``; checked by the tests).
LEAD_CODES: dict[str, tuple[str, str]] = {
    "I": ("2:1", "Lead I"), "II": ("2:2", "Lead II"), "III": ("2:61", "Lead III"),
    "aVR": ("2:62", "aVR, augmented voltage, right"), "aVL": ("2:63", "aVL, augmented voltage, left"),
    "aVF": ("2:64", "aVF, augmented voltage, foot"),
    "V1": ("2:3", "Lead V1"), "V2": ("2:4", "Lead V2"), "V3": ("2:5", "Lead V3"),
    "V4": ("2:6", "Lead V4"), "V5": ("2:7", "Lead V5"), "V6": ("2:8", "Lead V6"),
}


def recording_waveform(blobs: BlobStore, study: Study, uid: str) -> Dataset | None:
    """The study's 12-lead object in study ``uid`` (reads only the first ``WAVEFORM_S`` s), or None when it
    has no recording or the recording does not fit the 12-lead IOD."""
    if study.recording is None or not study.recording.files:
        return None
    rec, _ = load_window(blobs, study.recording, 0.0, WAVEFORM_S)
    return twelve_lead_object(rec, study, uid)


def resolution_uv(samples_uv: np.ndarray) -> float | None:
    """The finest resolution (µV/LSB) at which every sample fits int16; None if none does (> 327 mV)."""
    peak = float(np.max(np.abs(samples_uv))) if samples_uv.size else 0.0
    return next((r for r in RESOLUTIONS_UV if round(peak / r) <= _INT16_MAX), None)


def _channel(lead: str, res: float) -> Dataset:
    code, meaning = LEAD_CODES[lead]
    source, units, ch = Dataset(), Dataset(), Dataset()
    source.CodeValue, source.CodingSchemeDesignator, source.CodeMeaning = code, "MDC", meaning
    units.CodeValue, units.CodingSchemeDesignator, units.CodeMeaning = "uV", "UCUM", "microvolt"
    ch.ChannelLabel = lead
    ch.ChannelSourceSequence = [source]
    ch.ChannelSensitivity = f"{res:g}"
    ch.ChannelSensitivityUnitsSequence = [units]
    ch.ChannelSensitivityCorrectionFactor = 1
    ch.ChannelBaseline = 0
    ch.ChannelSampleSkew = 0
    ch.WaveformBitsStored = 16
    return ch


def _group(rec: Recording, res: float, samples_uv: np.ndarray) -> Dataset:
    g = Dataset()
    g.MultiplexGroupLabel = "RHYTHM"
    g.WaveformOriginality = "ORIGINAL"
    g.NumberOfWaveformChannels = len(LEAD_CODES)
    g.NumberOfWaveformSamples = samples_uv.shape[0]
    g.SamplingFrequency = f"{rec.fs:g}"
    g.ChannelDefinitionSequence = [_channel(lead, res) for lead in LEAD_CODES]
    g.WaveformBitsAllocated = 16
    g.WaveformSampleInterpretation = "SS"
    g.WaveformData = np.round(samples_uv / res).astype("<i2").tobytes()  # (samples, channels): interleaved
    return g


def twelve_lead_object(rec: Recording, study: Study, uid: str) -> Dataset | None:
    """``rec`` (mV; its first ``WAVEFORM_S`` s are used) as 12-Lead ECG Waveform Storage in study ``uid``,
    the study's patient; None when the recording lacks a standard lead, its rate is outside the IOD's
    range or its amplitude does not fit int16 at 10 µV/LSB. The Accession Number is left empty: the
    outbox sets the order's (``pacs_export.objects``)."""
    if not set(LEAD_CODES) <= set(rec.leads) or not FS_RANGE_HZ[0] <= rec.fs <= FS_RANGE_HZ[1]:
        return None
    n = min(rec.n_samples, int(WAVEFORM_S * rec.fs))
    samples_uv = rec.signals[:n, [rec.leads.index(lead) for lead in LEAD_CODES]] * 1000.0
    res = resolution_uv(samples_uv)
    if res is None or n == 0:
        return None
    ds = Dataset()
    ds.SpecificCharacterSet = CHARSET
    ds.SOPClassUID = TwelveLeadECGWaveformStorage
    ds.SOPInstanceUID = derived_uid("ecghub-waveform", str(study.id))
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = derived_uid("ecghub-waveform-series", str(study.id))
    patient_module(ds, study)
    acquired = study.acquired_at.astimezone(dt.UTC)
    ds.StudyDate = ds.ContentDate = acquired.strftime("%Y%m%d")
    ds.StudyTime = ds.ContentTime = acquired.strftime("%H%M%S")
    ds.AcquisitionDateTime = acquired.strftime("%Y%m%d%H%M%S")
    ds.TimezoneOffsetFromUTC = "+0000"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = str(study.id)[:16]
    ds.Modality = "ECG"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Manufacturer = "ecghub"
    ds.AcquisitionContextSequence = []
    ds.WaveformSequence = [_group(rec, res, samples_uv)]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds
