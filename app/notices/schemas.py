"""API shapes of critical notices (危急值): the notice, its acknowledgement and its audit chain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.text_rules import checked_text
from app.uploads.schemas import local_to_utc


class AcknowledgeIn(BaseModel):
    """What the clinic records when it acknowledges a critical value (危急值报告制度).

    The staff member who received it is the signed-in user (their name and title from the
    account); API keys, which are devices, must name the person in ``received_by_name``.
    """

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    told_name: str = Field(min_length=1, max_length=200, description="who was told, e.g. the treating doctor 王医生")
    told_role: str = Field(min_length=1, max_length=100, description="their role or title, e.g. 主治医师")
    told_at: dt.datetime | None = Field(None, description="when they were told (ISO 8601; naive times are China "
                                        "Standard Time); default: the time of this request")
    read_back: str = Field(min_length=1, max_length=1000,
                           description="复述内容: the value as the person told repeated it back")
    action_taken: str = Field("", max_length=2000, description="what was done (optional)")
    received_by_name: str = Field("", max_length=200, description="API keys only: the staff member who received it")
    received_by_role: str = Field("", max_length=100, description="API keys only: their role")

    @field_validator("told_name", "told_role", "received_by_name", "received_by_role")
    @classmethod
    def _single_line(cls, v: str) -> str:
        return checked_text(v)

    @field_validator("read_back", "action_taken")
    @classmethod
    def _multi_line(cls, v: str) -> str:
        return checked_text(v, multiline=True)

    @field_validator("told_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        """Naive times are the clinic's wall clock (China Standard Time); stored in UTC."""
        if v is None:
            return None
        return local_to_utc(v)


class NoticeOut(BaseModel):
    """A critical notice naming the patient (a value is acted on for a person, never by study id)."""

    id: int
    study_id: uuid.UUID
    patient_name: str | None = None
    patient_id: str | None = Field(None, description="the clinic's own patient id")
    code: str
    text: str = Field(description="the finding, Chinese first (中文（English）)")
    source: str
    raised_at: dt.datetime
    acknowledged_by: str | None = Field(None, description="audit actor, e.g. user:12")
    acknowledged_at: dt.datetime | None = None
    received_by_name: str | None = None
    received_by_role: str | None = None
    told_name: str | None = None
    told_role: str | None = None
    told_at: dt.datetime | None = None
    read_back: str | None = None
    action_taken: str | None = None


class ChainStep(BaseModel):
    """One audited step of the loop: raised, first shown to the clinic, acknowledged."""

    step: Literal["raised", "shown", "acknowledged"]
    at: dt.datetime
    actor: str
    detail: dict[str, object] = Field(default_factory=dict)


class NoticeDetail(NoticeOut):
    chain: list[ChainStep] = Field(description="the audit trail of this notice, oldest first")


class OverdueNoticeOut(NoticeOut):
    site_id: int
    site_name: str
    waiting_min: float = Field(description="minutes since the notice was raised")
