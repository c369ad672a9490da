"""Which order a study fulfils: the order already linked to it, else the patient's open order at that site.

Until uploads (and, next, DICOM devices) name the order, a study is matched
to the same site's scheduled order for the same patient (PID-3 = the upload's
patient id) whose requested time is nearest the acquisition, within
``MATCH_WINDOW``; an order without a requested time matches too. The match is
recorded (order ``completed``, ``study_id`` set) so it is made once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage.models import Order, Study
from storage.repositories import OrderRepository

#: An ECG ordered more than a week before or after the recording is not taken to be this one.
MATCH_WINDOW = dt.timedelta(days=7)


def order_for_study(session: Session, study: Study, *, link: bool = True) -> Order | None:
    """The order ``study`` fulfils, linked on first match unless ``link`` is false (readers such as the
    FHIR API only look); None for a walk-in study."""
    repo = OrderRepository(session)
    linked = repo.for_study(study.id)
    if linked is not None:
        return linked

    def distance(o: Order) -> dt.timedelta:
        return abs(o.requested_at - study.acquired_at) if o.requested_at else MATCH_WINDOW

    candidates = [o for o in repo.scheduled_for_patient(study.site_id, study.patient_id) if distance(o) <= MATCH_WINDOW]
    if not candidates:
        return None
    order = min(candidates, key=distance)
    if not link:
        return order
    order.study_id, order.status = study.id, "completed"
    session.flush()
    return order
