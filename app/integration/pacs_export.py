"""What a signed report sends to a PACS: the cart's original waveform object and the report as Encapsulated PDF,
in one study (the waveform's Study Instance UID) carrying the order's accession number.

The waveform is the object as the cart sent it, with the Accession Number set to the order's (IHE
attribute coercion: a cart that matched by patient id sent none); its UIDs are kept. For a study uploaded
in another format the outbox builds a 12-lead object from the recording (``pacs_waveform``; a recording
without the 12 standard leads gets none: only the PDF goes), in a study whose UID is the order's
(``order_study_uid``) or derived from the study id.
The PDF's SOP Instance UID is derived from (study, report version): a retried delivery re-sends the same
instance, an amendment is a new instance in the same study.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian

from app.integration.dicom_uid import derived_uid
from app.integration.dicom_worklist import CHARSET, order_study_uid
from storage.blobs import BlobStore
from storage.models import Order, Report, Study


@dataclass(frozen=True)
class PacsObject:
    sop_class: str
    dataset: Dataset


def original_waveform(blobs: BlobStore, study: Study) -> Dataset | None:
    """The cart's DICOM object of a study that came as DICOM, else None."""
    if study.recording is None or study.recording.format != "dicom" or not study.recording.files:
        return None
    return pydicom.dcmread(io.BytesIO(blobs.get(study.recording.files[0].blob_key)))


def study_uid(waveform: Dataset | None, study: Study, order: Order | None) -> str:
    """The one Study Instance UID of everything sent for this study."""
    if waveform is not None and waveform.get("StudyInstanceUID"):
        return str(waveform.StudyInstanceUID)
    if order is not None:
        return order_study_uid(order)
    return derived_uid("ecghub-study", str(study.id))


def patient_module(ds: Dataset, study: Study) -> None:
    """The Patient module (PS3.3 C.7.1.1) from the study's patient; a sex other than M/F is sent as O."""
    p = study.patient
    ds.PatientName = p.name
    ds.PatientID = p.external_id
    ds.PatientBirthDate = p.birth_date.strftime("%Y%m%d") if p.birth_date else ""
    ds.PatientSex = p.sex.value if p.sex.value in ("M", "F") else "O"


def attach_pdf(ds: Dataset, pdf: bytes) -> None:
    """Put the rendered PDF in the object (OB value: padded to an even length, the true length kept)."""
    ds.EncapsulatedDocument = pdf if len(pdf) % 2 == 0 else pdf + b"\0"
    ds.EncapsulatedDocumentLength = len(pdf)


def report_pdf_object(study: Study, report: Report, order: Order | None, uid: str) -> Dataset:
    """The signed report as Encapsulated PDF Storage (PS3.3 A.45.1), UTF-8 text; the PDF is attached
    afterwards (``attach_pdf``), rendered outside the transaction."""
    ds = Dataset()
    ds.SpecificCharacterSet = CHARSET
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = derived_uid("ecghub-report", str(study.id), str(report.version))
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = derived_uid("ecghub-report-series", str(study.id))
    patient_module(ds, study)
    signed = report.signed_at.astimezone(dt.UTC)
    acquired = study.acquired_at.astimezone(dt.UTC)
    ds.StudyDate, ds.StudyTime = acquired.strftime("%Y%m%d"), acquired.strftime("%H%M%S")
    ds.ContentDate, ds.ContentTime = signed.strftime("%Y%m%d"), signed.strftime("%H%M%S")
    ds.AcquisitionDateTime = signed.strftime("%Y%m%d%H%M%S")
    ds.TimezoneOffsetFromUTC = "+0000"
    ds.AccessionNumber = order.accession_number[:16] if order else ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = str(study.id)[:16]
    ds.Modality = "DOC"
    ds.SeriesNumber, ds.InstanceNumber = 9000, report.version
    ds.ConversionType = "SD"
    ds.Manufacturer = "ecghub"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "ECG report" if report.version == 1 else f"ECG report (amendment {report.version - 1})"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def objects(waveform: Dataset | None, pdf_object: Dataset, order: Order | None) -> list[PacsObject]:
    """The objects to store, waveform first; the waveform carries the order's accession number."""
    out = []
    if waveform is not None:
        if order is not None and order.accession_number:
            waveform.AccessionNumber = order.accession_number[:16]
        out.append(PacsObject(str(waveform.SOPClassUID), waveform))
    out.append(PacsObject(EncapsulatedPDFStorage, pdf_object))
    return out
