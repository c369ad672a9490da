"""Request and response bodies of the reading-queue API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.text_rules import checked_text


class ConfirmedMeasurements(BaseModel):
    """What the reader confirms or corrects (ms, bpm, degrees). Omitted fields keep the machine value."""

    model_config = ConfigDict(extra="forbid")

    heart_rate_bpm: float | None = Field(None, ge=10, le=400)
    rr_ms: float | None = Field(None, ge=150, le=6000)
    p_ms: float | None = Field(None, ge=10, le=300)
    pr_ms: float | None = Field(None, ge=40, le=600)
    qrs_ms: float | None = Field(None, ge=20, le=300)
    qt_ms: float | None = Field(None, ge=100, le=800)
    qtc_bazett_ms: float | None = Field(None, ge=100, le=900)
    qtc_fridericia_ms: float | None = Field(None, ge=100, le=900)
    p_axis_deg: float | None = Field(None, ge=-180, le=360)
    qrs_axis_deg: float | None = Field(None, ge=-180, le=360)
    t_axis_deg: float | None = Field(None, ge=-180, le=360)


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    study_id: uuid.UUID | None = Field(None, description="the study the reader has on screen; signing is refused "
                                                         "when it is not the claimed study (wrong-patient guard)")
    statements: list[str] = Field(min_length=1, max_length=30, description="lexicon codes")
    free_text: str = Field("", max_length=4000)
    patient_explanation: str = Field("", max_length=300, description="optional plain-language words for the "
                                     "family, shown under the conclusion on the phone page and printed on the PDF")
    measurements: ConfirmedMeasurements = ConfirmedMeasurements()

    @field_validator("free_text", "patient_explanation")
    @classmethod
    def _printable(cls, v: str) -> str:
        return checked_text(v, multiline=True)  # signed text prints exactly as stored


class AmendIn(SignIn):
    reason: str = Field(min_length=3, max_length=2000)


class ReturnIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, description='e.g. "re-record: V1-V3 electrodes swapped"')


class ReassignIn(BaseModel):
    reader_id: int = Field(ge=1, le=2**31 - 1)


class ClaimOut(BaseModel):
    id: int
    study_id: uuid.UUID
    reader_id: int
    claimed_at: dt.datetime
    lease_until: dt.datetime
    ended_at: dt.datetime | None
    outcome: str | None


class StatementOut(BaseModel):
    code: str
    zh: str
    en: str
    severity: str


class ReportOut(BaseModel):
    version: int
    author_id: int
    signed_at: dt.datetime
    statements: list[StatementOut]
    free_text: str
    measurements: dict[str, Any]
    edited_measurements: list[str]
    supersedes_version: int | None
    amendment_reason: str
    patient_explanation: str = ""


class WorklistItem(BaseModel):
    """One queued study as the queue row shows it: who, from where, why, how long it has waited."""

    study_id: uuid.UUID
    site_id: int
    site_name: str = Field(description="the clinic (site) that sent the study")
    patient_name: str
    patient_sex: str = Field(description="M, F or U")
    priority: str
    due_at: dt.datetime | None
    overdue: bool
    received_at: dt.datetime
    waiting_s: int = Field(description="seconds since the study was received, at the time of the answer")
    pool: str | None
    age_days: int | None = Field(description="age at acquisition in days (the page shows days, months or years)")
    indication: str = Field(description="the clinic's reason for the ECG, as written")
    clinic_urgency: str


class Worklist(BaseModel):
    counts: dict[str, int]
    items: list[WorklistItem]
    my_claims: list[ClaimOut]


class EscalationOut(BaseModel):
    id: int
    kind: str
    study_id: uuid.UUID
    site_id: int
    raised_at: dt.datetime
    detail: str
