"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from storage.models.audit import AuditEvent
from storage.models.base import Base, utcnow as utcnow_aware
from storage.models.delivery import Event, ShareLink, WebhookDelivery
from storage.models.clinical import Analysis, Patient, Recording, RecordingFile, Study
from storage.models.enums import (
    PRIORITY_RANK,
    ClaimOutcome,
    ReaderPool,
    Role,
    Sex,
    SiteLevel,
    StudyStatus,
    Urgency,
)
from storage.models.dicom import DicomDelivery, DicomPacs, DicomPeer
from storage.models.integration import Hl7Delivery, Hl7Endpoint, Hl7Facility, Order
from storage.models.reading import Claim, CriticalNotice, Escalation, ReaderCoverage, Report
from storage.models.org import ApiKey, Site, User
from storage.models.throttle import LoginThrottle

__all__ = [
    "DicomDelivery",
    "DicomPacs",
    "DicomPeer",
    "Hl7Delivery",
    "Hl7Endpoint",
    "Hl7Facility",
    "Order",
    "Event",
    "ShareLink",
    "WebhookDelivery",
    "PRIORITY_RANK",
    "Claim",
    "ClaimOutcome",
    "CriticalNotice",
    "Escalation",
    "LoginThrottle",
    "ReaderCoverage",
    "ReaderPool",
    "Report",
    "Analysis",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Patient",
    "Recording",
    "RecordingFile",
    "Role",
    "Sex",
    "Site",
    "SiteLevel",
    "Study",
    "StudyStatus",
    "Urgency",
    "User",
    "utcnow_aware",
]
