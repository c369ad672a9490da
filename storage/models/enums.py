"""Closed vocabularies of the domain (stored as short strings)."""

from __future__ import annotations

import enum


class SiteLevel(str, enum.Enum):
    hub = "hub"
    county = "county"
    township = "township"
    village = "village"


class Role(str, enum.Enum):
    clinic = "clinic"
    reader = "reader"
    admin = "admin"


class Sex(str, enum.Enum):
    male = "M"
    female = "F"
    unknown = "U"


class Urgency(str, enum.Enum):
    """Clinic urgency on upload and the queue priority share one scale."""

    stat = "stat"
    urgent = "urgent"
    routine = "routine"


class StudyStatus(str, enum.Enum):
    """Study life cycle (DESIGN.md section 2).

    The analysis job moves a study from ``received`` straight to
    ``awaiting_read`` (analysed and queued in one transaction: routing is
    decided at claim time, so there is no separate routing step to wait for);
    ``analyzed`` is kept for rows written before the queue existed. Not in the
    design: ``analysis_failed`` (a job that keeps failing must end visibly) and
    ``returned`` (a reader sent it back to the clinic for re-recording).
    """

    received = "received"
    analyzed = "analyzed"
    awaiting_read = "awaiting_read"
    in_read = "in_read"
    reported = "reported"
    amended = "amended"
    unreadable = "unreadable"
    withdrawn = "withdrawn"
    analysis_failed = "analysis_failed"
    returned = "returned"


class ReaderPool(str, enum.Enum):
    """Reader pools; patients under 18 (or of unknown age) go to ``pediatric``."""

    pediatric = "pediatric"
    adult = "adult"


class ClaimOutcome(str, enum.Enum):
    signed = "signed"
    released = "released"
    expired = "expired"
    reassigned = "reassigned"
    returned = "returned"
    #: Ended by the service: the reader no longer covers the study's site or pool, or was disabled.
    revoked = "revoked"


PRIORITY_RANK = {Urgency.stat: 0, Urgency.urgent: 1, Urgency.routine: 2}
