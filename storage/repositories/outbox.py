"""The three result outboxes at a glance (webhooks, HL7 ORU, DICOM to PACS), for metrics."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import DicomDelivery, Hl7Delivery, WebhookDelivery

#: Channel name -> its delivery table.
CHANNELS: dict[str, type[WebhookDelivery] | type[Hl7Delivery] | type[DicomDelivery]] = {
    "webhook": WebhookDelivery, "hl7": Hl7Delivery, "dicom": DicomDelivery}


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def pending(self) -> dict[str, tuple[int, int]]:
        """Per channel: (deliveries still pending, of which already tried at least once and failed)."""
        out: dict[str, tuple[int, int]] = {}
        for name, table in CHANNELS.items():
            stmt = (select(func.count(), func.coalesce(func.sum(case((table.attempts > 0, 1), else_=0)), 0))
                    .where(table.status == "pending"))
            pending, retrying = self.session.execute(stmt).one()
            out[name] = (int(pending), int(retrying))
        return out
