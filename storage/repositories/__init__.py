"""Repositories: every SQL statement of the service lives here, grouped by aggregate."""

from storage.repositories.audit import AuditRepository
from storage.repositories.delivery import DeliveryRepository
from storage.repositories.dicom import DicomRepository
from storage.repositories.integration import FhirRepository, Hl7Repository, OrderRepository
from storage.repositories.live_queue import LiveQueueRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.org import ApiKeyRepository, SiteRepository, UserRepository
from storage.repositories.reading import ReadingRepository
from storage.repositories.stats import StatsRepository
from storage.repositories.studies import PatientRepository, StudyPage, StudyRepository
from storage.repositories.throttle import ThrottleRepository

__all__ = [
    "DicomRepository",
    "FhirRepository",
    "Hl7Repository",
    "OrderRepository",
    "OutboxRepository",
    "ApiKeyRepository",
    "AuditRepository",
    "DeliveryRepository",
    "LiveQueueRepository",
    "PatientRepository",
    "ReadingRepository",
    "SiteRepository",
    "StatsRepository",
    "StudyPage",
    "StudyRepository",
    "ThrottleRepository",
    "UserRepository",
]
