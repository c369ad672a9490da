"""Admin request bodies."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

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
    reader_pools: list[ReaderPool] = []


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
