"""HL7 v2 acknowledgments (original mode): MSA with AA/AE/AR and, on refusal, an ERR naming the problem."""

from __future__ import annotations

import uuid

from hl7apy.core import Message, Segment

from app.integration.hl7_codec import Hl7Refusal, escape
from app.integration.orders_in import Header

ACK_VERSION = "2.5.1"  # segment layout used to build; MSH-12 echoes the sender's version


def build_ack(head: Header, charset: str, refusal: Hl7Refusal | None, *, application: str, facility: str,
              note: str = "") -> str:
    """The ACK for ``head`` as ER7 text (CR separators). ERR (v2.5 layout): ERR-2 location, ERR-3 the
    HL7 table 0357 code, ERR-4 severity E, ERR-8 the reason in words."""
    ack = Message("ACK", version=ACK_VERSION)
    ack.msh.msh_3 = escape(application)
    ack.msh.msh_4 = escape(facility)
    ack.msh.msh_5 = escape(head.sending_application)
    ack.msh.msh_6 = escape(head.sending_facility)
    ack.msh.msh_9 = f"ACK^{escape(head.trigger)}^ACK" if head.trigger else "ACK"
    ack.msh.msh_10 = uuid.uuid4().hex[:20]
    ack.msh.msh_11 = escape(head.processing_id)
    ack.msh.msh_12 = escape(head.version)
    if charset:
        ack.msh.msh_18 = charset
    ack.msa.msa_1 = refusal.ack_code if refusal else "AA"
    ack.msa.msa_2 = escape(head.control_id)
    text = refusal.reason if refusal else note
    if text:
        ack.msa.msa_3 = escape(text[:80])
    if refusal is not None:
        err = Segment("ERR", version=ACK_VERSION)
        if refusal.location:
            seg, _, field = refusal.location.partition("-")
            err.err_2 = f"{seg}^1^{field.split('.')[0]}" if field else seg
        err.err_3 = f"{refusal.hl7_error}^{_ERROR_TEXT.get(refusal.hl7_error, 'Application error')}^HL70357"
        err.err_4 = "E"
        err.err_8 = escape(refusal.reason[:250])
        ack.add(err)
    return ack.to_er7()


#: HL7 table 0357 (message error condition codes) used here.
_ERROR_TEXT = {"0": "Message accepted", "100": "Segment sequence error", "101": "Required field missing",
               "102": "Data type error", "103": "Table value not found", "200": "Unsupported message type",
               "203": "Unsupported version id", "204": "Unknown key identifier", "207": "Application internal error"}
