"""Validated form fields of an upload."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.text_rules import checked_text
from storage.models import Sex, Urgency

#: Naive acquisition times are taken as China Standard Time (the alliance's clock).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class UploadMetadata(BaseModel):
    """What the clinic types beside the file. Field names are the multipart form field names."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    patient_id: str = Field(min_length=1, max_length=64, description="the clinic's own patient id")
    patient_name: str = Field(min_length=1, max_length=200)
    patient_sex: Sex = Sex.unknown
    patient_birth_date: dt.date | None = None
    acquired_at: dt.datetime | None = Field(None, description="ISO 8601; naive times are China Standard Time")
    indication: str = Field("", max_length=2000)
    urgency: Urgency = Urgency.routine
    fs: float | None = Field(None, gt=0, le=20000, description="sampling rate (Hz), for CSV files only")

    @field_validator("patient_id", "patient_name")
    @classmethod
    def _single_line(cls, v: str) -> str:
        return checked_text(v)

    @field_validator("indication")
    @classmethod
    def _multi_line(cls, v: str) -> str:
        return checked_text(v, multiline=True)

    @field_validator("acquired_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is None:
            return None
        v = v if v.tzinfo else v.replace(tzinfo=LOCAL_TZ)
        if v > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10):
            raise ValueError("acquisition time is in the future")
        return v.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _birth_before_acquisition(self) -> "UploadMetadata":
        bd = self.patient_birth_date
        if bd is None:
            return self
        at = (self.acquired_at or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TZ).date()
        if bd > at:
            raise ValueError("patient_birth_date is after the acquisition date")
        if (at - bd).days > 130 * 366:
            raise ValueError("patient_birth_date is more than 130 years before the acquisition")
        return self
