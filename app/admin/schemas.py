"""Admin request bodies."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.text_rules import checked_text

from storage.models import ReaderPool, Role, SiteLevel


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=1, max_length=200)
    level: SiteLevel
    region: str = Field("", max_length=200)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    site_id: int
    username: str = Field(pattern=r"^[A-Za-z0-9._-]{3,100}$")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    display_name: str = Field("", max_length=200)
    title: str = Field("", max_length=100, description="professional title printed on signed reports, e.g. 主任医师")
    reader_pools: list[ReaderPool] = []

    @field_validator("display_name", "title")
    @classmethod
    def _printable(cls, v: str) -> str:
        return checked_text(v)


class UserUpdateIn(BaseModel):
    """What an admin may change on an account: how it is named on signed reports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    display_name: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=100)

    @field_validator("display_name", "title")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else checked_text(v)


class CoverageIn(BaseModel):
    site_ids: list[int] = Field(max_length=1000)


class ApiKeyIn(BaseModel):
    name: str = Field("", max_length=200)


class CreatedOut(BaseModel):
    id: int


class ApiKeyOut(BaseModel):
    id: int
    site_id: int
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    token: str | None = Field(None, description="shown once, at creation; only a hash is stored")


# -- listings for the admin pages -------------------------------------------------------------

class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    level: SiteLevel
    region: str
    active: bool
    created_at: dt.datetime
    webhook_url: str | None


class UserOut(BaseModel):
    id: int
    site_id: int
    site_name: str
    username: str
    display_name: str
    title: str = ""
    role: Role
    reader_pools: list[str]
    active: bool
    created_at: dt.datetime
    covered_site_ids: list[int] = Field([], description="readers only: the sites whose studies they may read")


class ApiKeyListOut(ApiKeyOut):
    site_name: str
    prefix: str = Field(description="the public part of the key (ecg_<prefix>_...), to recognise it")


# -- the alliance dashboard (GET /api/v1/admin/stats) -----------------------------------------

class SiteRef(BaseModel):
    id: int
    name: str


class DaySeries(BaseModel):
    site_id: int
    site_name: str
    counts: list[int] = Field(description="studies received per day, aligned with ``days``")


class VolumeOut(BaseModel):
    days: list[dt.date] = Field(description="every day of the range (China Standard Time)")
    per_day_total: list[int]
    series: list[DaySeries]
    total: int


class SiteQualityOut(BaseModel):
    site_id: int
    site_name: str
    studies: int
    analysed: int = Field(description="studies whose automated analysis finished")
    unreadable: int = Field(description="returned at once by the quality check")
    returned: int = Field(description="returned by a reader for re-recording")
    unreadable_rate: float | None = Field(description="unreadable / analysed")
    returned_rate: float | None = Field(None, description="returned / analysed")


class TurnaroundOut(BaseModel):
    priority: str
    sla_min: int
    reported: int = Field(description="studies received in the range with a signed report")
    pending: int = Field(description="studies received in the range still waiting for a report")
    overdue: int = Field(0, description="pending studies already past their due time")
    due: int = Field(0, description="reported + overdue: every study that was due")
    p50_min: float | None
    p90_min: float | None
    mean_min: float | None
    p50_s: float | None = Field(None, description="received -> first signature, median, seconds")
    p90_s: float | None = None
    within_sla: int = Field(description="first report signed by the study's due_at")
    within_sla_rate: float | None = Field(description="within_sla / due (unsigned overdue studies count as late)")


class ReaderLoadOut(BaseModel):
    reader_id: int
    name: str
    claims: int
    signed: int = Field(description="claims that ended with a signature")
    released: int
    expired: int
    returned: int
    reports: int = Field(description="report versions signed in the range (amendments included)")
    amendments: int
    read_p50_min: float | None = Field(description="claim -> signature, median")
    read_p50_s: float | None = Field(None, description="claim -> signature, median, seconds (reads under a minute)")


class NoticeSiteOut(BaseModel):
    site_id: int
    site_name: str
    raised: int
    acknowledged: int
    open: int
    ack_p50_min: float | None
    ack_p90_min: float | None


class NoticesOut(BaseModel):
    raised: int
    acknowledged: int
    open: int
    ack_p50_min: float | None
    ack_p90_min: float | None
    oldest_open_at: dt.datetime | None
    per_site: list[NoticeSiteOut]


class ClinicRowOut(SiteQualityOut):
    """One row of the per-clinic table (sortable, with a sparkline of daily volume)."""

    daily: list[int] = Field(description="studies received per day, aligned with volume.days")
    due: int = Field(description="studies due: signed, or unsigned past their due time")
    on_time: int = Field(description="first report signed by the due time")
    overdue: int = Field(description="still unsigned past the due time")
    on_time_rate: float | None = Field(description="on_time / due")
    tat_p50_s: float | None = Field(description="received -> first signature, median, seconds")
    open_notices: int = Field(description="critical notices raised in the range, not acknowledged")


class TotalsOut(BaseModel):
    """The dashboard's headline figures over the whole range (and clinic filter)."""

    studies: int
    analysed: int
    unreadable: int
    returned: int
    unreadable_rate: float | None = Field(description="unreadable / analysed")
    returned_rate: float | None = Field(description="returned by a reader / analysed")
    due: int = Field(description="studies that were due: signed, or unsigned past their due time")
    on_time: int
    overdue: int
    on_time_rate: float | None = Field(description="on_time / due")
    read_n: int = Field(description="signed claims (claimed in the range)")
    read_p50_s: float | None = Field(description="claim -> signature, median, seconds")


class StatsOut(BaseModel):
    date_from: dt.date = Field(serialization_alias="from")
    date_to: dt.date = Field(serialization_alias="to")
    site_id: int | None
    timezone: str = "Asia/Shanghai"
    sites: list[SiteRef] = Field(description="every site, for the filter")
    volume: VolumeOut
    quality: list[SiteQualityOut]
    turnaround: list[TurnaroundOut]
    readers: list[ReaderLoadOut]
    notices: NoticesOut
    totals: TotalsOut
    clinics: list[ClinicRowOut]


# -- the live queue (GET /api/v1/admin/queue) -------------------------------------------------

class QueueStudyOut(BaseModel):
    study_id: uuid.UUID
    site_id: int
    site_name: str
    priority: str
    status: str
    pool: str | None
    received_at: dt.datetime
    due_at: dt.datetime | None
    waiting_s: float = Field(description="now - received, seconds")
    overdue_s: float | None = Field(description="now - due time when past it, else null")
    claim_id: int | None
    reader_id: int | None
    reader_name: str | None
    claimed_at: dt.datetime | None
    claim_age_s: float | None = Field(description="now - claimed, seconds")
    lease_until: dt.datetime | None


class QueueDepthOut(BaseModel):
    priority: str
    sla_min: int
    waiting: int
    overdue: int


class QueueOut(BaseModel):
    now: dt.datetime
    depth: list[QueueDepthOut] = Field(description="per priority, all waiting studies (not only those listed)")
    studies: list[QueueStudyOut] = Field(description="most urgent first, at most ``limit``")
    truncated: bool
