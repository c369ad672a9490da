"""Validated form fields of an upload."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.params import FIRST_DAY, LAST_DAY
from app.text_rules import checked_text
from storage.models import Sex, Urgency

#: Naive acquisition times are taken as China Standard Time (the alliance's clock).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_to_utc(v: dt.datetime) -> dt.datetime:
    """A typed time in UTC (naive = China Standard Time). ValueError outside 1900-2200: the zone
    arithmetic of year 1 or 9999 overflows Python's calendar (a 500, not a 422)."""
    if not FIRST_DAY <= v.date() <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY.year} and {LAST_DAY.year}")
    return (v if v.tzinfo else v.replace(tzinfo=LOCAL_TZ)).astimezone(dt.UTC)


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
    confirm_acquired_at: bool = Field(False, description="true: the clinic has seen the acquisition-time warning "
                                      "(future, before birth, long ago) and goes on (app/uploads/clock.py)")

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
        # A future or pre-birth time is not refused here: app/uploads/clock.py names the check and lets the
        # clinic confirm or correct it (the file's header time needs the same checks).
        return local_to_utc(v)

    @field_validator("patient_birth_date")
    @classmethod
    def _born(cls, v: dt.date | None) -> dt.date | None:
        """A birth date after today (China Standard Time) is a typing error, whatever the clocks say."""
        if v is not None and v > dt.datetime.now(LOCAL_TZ).date():
            raise ValueError("patient_birth_date is in the future")
        return v

    @model_validator(mode="after")
    def _plausible_age(self) -> "UploadMetadata":
        bd = self.patient_birth_date
        if bd is None:
            return self
        at = (self.acquired_at or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TZ).date()
        if (at - bd).days > 130 * 366:
            raise ValueError("patient_birth_date is more than 130 years before the acquisition")
        return self
