"""Sites, user accounts and per-site API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from storage.models.enums import Role, SiteLevel


class Site(Base):
    """A member clinic or the hub itself."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[SiteLevel] = mapped_column(str_enum(SiteLevel, 16))
    region: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Where report events are POSTed (Standard Webhooks signature with ``webhook_secret``).
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)


class User(Base):
    """A person who logs in: clinic staff, hub reader (cardiologist) or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    #: Professional title printed after the name on signed reports, e.g. 主任医师 (chief physician).
    title: Mapped[str] = mapped_column(String(100), default="", server_default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    password_hash: Mapped[str] = mapped_column(String(200))
    reader_pools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Carried in every access token as ``ver``; a token whose version differs is refused.
    #: Logout, disabling the user and "revoke all sessions" bump it (server-side revocation).
    #: Tokens also carry role, site and pools: code that ever changes those in place must bump it too.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Set by an admin's password reset: login is refused until the user sets their own password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    site: Mapped[Site] = relationship(lazy="joined")


class ApiKey(Base):
    """A device/integration key of one site. Only a hash of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    site: Mapped[Site] = relationship(lazy="joined")
