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

    ``analysis_failed`` is not in the design: a job that keeps failing must end
    in a visible state instead of staying ``received`` for ever.
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
